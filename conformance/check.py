"""``examrig check``: run the Gherkin corpus as a conformance check and write per-requirement verdicts and reports.

pytest runs in a child process (``python -m pytest features/<service> -p conformance.plugin``), not
through ``pytest.main`` in this one: the corpus imports the mocks, the catalogue and its step modules
at collection and keeps session state (the rig) in module globals, which a second ``pytest.main`` in
one process does not reset; a child also lets Ctrl-C stop the scenarios while this process stays
alive to write the partial reports, and lets ``--jobs`` hand the run to pytest-xdist unchanged. The
child writes one JSON line per finished scenario (``conformance/plugin.py``); this process turns the
lines into a :class:`~conformance.verdicts.Run`, aggregates, picks the exit code and writes the reports.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from conformance.verdicts import (
    EXIT_FAIL,
    EXIT_INFRA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    ORDER,
    Exchange,
    ReqInfo,
    Run,
    ScenarioResult,
    Step,
    aggregate,
    exit_code,
)

ROOT = Path(__file__).resolve().parent.parent
FEATURES = ROOT / "features"
FORMATS = ("json", "md", "html", "junit", "cucumber")
DEFAULT_TIMEOUT = 10.0


class UsageProblem(Exception):
    """A bad command line or input file: one line, exit 2."""


def add_check_parser(sub: Any) -> None:
    """Register ``examrig check`` on the CLI's sub-parsers."""
    p = sub.add_parser("check", help="run the conformance corpus and write per-requirement verdicts and reports")
    p.add_argument("services", nargs="*", metavar="SERVICE",
                   help="services whose scenarios to run (default: the targets' services, else all)")
    p.add_argument("--target", action="append", default=[], metavar="SERVICE=URL",
                   help="the integrator's base URL for a service (repeatable)")
    p.add_argument("--state-hook", action="append", default=[], metavar="SERVICE=URL",
                   help="the state hook of a target (default: the target's /_examrig)")
    p.add_argument("--capabilities", metavar="FILE", help="TOML or YAML: service.capability = true|false")
    p.add_argument("--ledger", metavar="FILE", help="YAML list of known failures (id, reason, expires)")
    p.add_argument("--requirement", action="append", default=[], metavar="ID",
                   help="only the scenarios that claim this requirement (repeatable)")
    p.add_argument("--tags", metavar="EXPR", help="pytest -m expression over the scenario tags")
    p.add_argument("--mode", choices=("inprocess", "http"), default="inprocess",
                   help="examrig's mocks in process or over loopback HTTP (default inprocess)")
    p.add_argument("--report-dir", metavar="DIR", default="reports",
                   help="where the run's report directory <UTC timestamp>-<target> is made (default ./reports)")
    p.add_argument("--formats", default=",".join(FORMATS), metavar="LIST",
                   help=f"report formats, comma-separated (default {','.join(FORMATS)})")
    p.add_argument("--seed", type=int, metavar="S", help="seed of the mocks' ids and fault decisions")
    p.add_argument("--strict-assumed", action="store_true",
                   help="a missed assumed requirement is a fail, not non-strict")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="pytest-xdist workers (default 1: none)")
    p.add_argument("--features", metavar="DIR",
                   help="the scenario corpus (default: examrig's features/; for a corpus of your own)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"upper bound of every request to a target or mock (default {DEFAULT_TIMEOUT:g})")
    from conformance.client_check import add_client_options
    add_client_options(p)  # examrig check --client SERVICE -- COMMAND (issue 15, conformance/client_check.py)
    p.set_defaults(func=cmd_check)


def feature_services(features: Path = FEATURES) -> list[str]:
    """The directories of ``features/`` that hold scenarios (services, plus core and end_to_end)."""
    return sorted(p.name for p in features.iterdir() if p.is_dir() and any(p.glob("*.feature")))


def _corpus_option(name: str, features: Path = FEATURES) -> bool:
    """Whether the corpus defines a pytest option (the corpus branch adds some as this one is built)."""
    return any(name in path.read_text(encoding="utf-8") for path in features.rglob("conftest.py"))


def _label(targets: dict[str, str]) -> str:
    if not targets:
        return "examrig"
    service, url = next(iter(sorted(targets.items())))
    host = re.sub(r"^https?://", "", url)
    return re.sub(r"[^A-Za-z0-9.-]+", "_", f"{service}-{host}").strip("_")[:80]


def make_run_dir(base: Path, label: str, now: dt.datetime) -> Path:
    """``base/<UTC timestamp>-<label>``, made atomically: two runs started in the same second never share it."""
    base.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for n in range(1, 1000):
        path = base / (f"{stamp}-{label}" if n == 1 else f"{stamp}-{label}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise OSError(f"cannot make a report directory under {base}")


def _reachable(url: str, timeout: float) -> str:
    """'' when a TCP connection to ``url``'s host and port opens; else why not.

    Only the connection is tried: a target that then answers garbage, resets or hangs is reachable,
    and the scenarios judge it (``error``/``fail`` with evidence); one that cannot be connected to at
    all is an infrastructure problem before any scenario ran (exit 3).
    """
    import socket
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=min(timeout, 10.0)):
            return ""
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"


def _validate(args: argparse.Namespace) -> dict[str, Any]:
    from conformance import capabilities, ledger
    from conformance.catalogue import CatalogueError, load
    from conformance.targets import TargetError, parse_targets
    from mocks import registry

    features = Path(args.features).resolve() if args.features else FEATURES
    if not features.is_dir():
        raise UsageProblem(f"--features {args.features}: not a directory")
    known = feature_services(features)
    services = list(dict.fromkeys(args.services))
    for name in services:
        if name not in known:
            raise UsageProblem(f"unknown service '{name}' (available: {', '.join(known)})")
    # the services whose mocks exist, without importing every mock (that costs seconds on a loaded machine)
    mockable = {name for name in registry.ORDER if (ROOT / "mocks" / name / "service.py").is_file()}
    try:
        targets = parse_targets(args.target)
        hooks = parse_targets(args.state_hook)
    except TargetError as exc:
        raise UsageProblem(str(exc)) from None
    for name in [*targets, *hooks]:
        if name not in mockable:
            raise UsageProblem(f"unknown service '{name}' in --target/--state-hook "
                               f"(available: {', '.join(sorted(mockable))})")
    for name in hooks:
        if name not in targets:
            raise UsageProblem(f"--state-hook {name}=… needs --target {name}=…")
    if not services:
        services = list(targets) if targets else known
    try:
        catalogue = load()
    except CatalogueError as exc:
        raise UsageProblem(f"requirement catalogue: {exc}") from None
    for rid in args.requirement:
        if rid not in catalogue:
            raise UsageProblem(f"--requirement {rid}: not in the requirement catalogue")
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise UsageProblem(f"--formats: unknown format '{bad[0] if bad else ''}' (choose from {', '.join(FORMATS)})")
    if args.jobs < 1:
        raise UsageProblem("--jobs must be at least 1")
    if not args.timeout > 0:
        raise UsageProblem("--timeout must be a positive number of seconds")
    today = dt.datetime.now(dt.UTC).date()
    try:
        ledger_entries, warnings = (ledger.load(Path(args.ledger), catalogue, today)
                                    if args.ledger else ({}, []))
        caps = capabilities.load(Path(args.capabilities), mockable) if args.capabilities else {}
    except (ledger.LedgerError, capabilities.CapabilitiesError) as exc:
        raise UsageProblem(str(exc)) from None
    return {"features": features, "services": services, "targets": targets, "hooks": hooks, "catalogue": catalogue,
            "formats": formats, "ledger": ledger_entries, "warnings": warnings, "capabilities": caps}


def pytest_command(args: argparse.Namespace, cfg: dict[str, Any], out: Path) -> list[str]:
    """The child pytest command line for this check."""
    features: Path = cfg["features"]
    cmd = [sys.executable, "-m", "pytest", *[str(features / s) for s in cfg["services"]],
           "-p", "conformance.plugin", "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
           "--examrig-check-out", str(out), "--examrig-request-timeout", str(args.timeout)]
    if _corpus_option("--examrig-mode", features):
        cmd += ["--examrig-mode", args.mode]
    if _corpus_option("--examrig-target", features):
        for name, url in cfg["targets"].items():
            cmd += ["--examrig-target", f"{name}={url}"]
    if cfg["hooks"] and _corpus_option("--examrig-state-hook", features):
        for name, url in cfg["hooks"].items():
            cmd += ["--examrig-state-hook", f"{name}={url}"]
    if _corpus_option("--examrig-capability", features):
        for name, present in sorted(cfg["capabilities"].items()):
            if present:
                cmd += ["--examrig-capability", name]
    for rid in args.requirement:
        cmd += ["--examrig-requirement", rid]
    if args.tags:
        cmd += ["-m", args.tags]
    if args.seed is not None:
        cmd += ["--examrig-seed", str(args.seed)]
    if args.jobs > 1:
        cmd += ["-n", str(args.jobs)]
    if features == FEATURES:
        # examrig's own corpus needs exactly these plugins; the child loads only them (child_env sets
        # PYTEST_DISABLE_PLUGIN_AUTOLOAD): importing every installed pytest plugin (schemathesis, hypothesis,
        # locust, anyio, faker ...) cost about 2 s of CPU per run. A corpus of one's own keeps autoloading.
        cmd += ["-p", "pytest_bdd.plugin", *(["-p", "xdist.plugin"] if args.jobs > 1 else [])]
    return cmd


def child_env(cmd: list[str]) -> dict[str, str]:
    """The child pytest's environment: examrig importable; plugin autoload off when the command names its plugins."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    if "pytest_bdd.plugin" in cmd:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def cmd_check(args: argparse.Namespace) -> int:
    """Run the check; the exit code of :func:`conformance.verdicts.exit_code` (or 2 for usage)."""
    if getattr(args, "client", None):
        from conformance.client_check import cmd_client_check
        # in client mode the positional words are the COMMAND after `--` (argparse hands them to SERVICE)
        return cmd_client_check(args, list(args.services))
    try:
        cfg = _validate(args)
    except UsageProblem as exc:
        print(f"examrig: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    started = dt.datetime.now(dt.UTC)
    try:
        # absolute: the pytest child runs in the checkout, not in the caller's directory
        run_dir = make_run_dir(Path(args.report_dir).resolve(), _label(cfg["targets"]), started)
    except OSError as exc:
        print(f"examrig: error: report directory {args.report_dir} is not writable: {exc.strerror or exc}",
              file=sys.stderr, flush=True)
        return EXIT_INFRA
    for name, url in cfg["targets"].items():
        why = _reachable(url, args.timeout)
        if why:
            print(f"examrig: error: target {name}={url} is unreachable: {why}", file=sys.stderr, flush=True)
            run_dir.rmdir()  # nothing ran: leave no empty report directory behind
            return EXIT_INFRA
    for warning in cfg["warnings"]:
        print(f"examrig: warning: {warning}", file=sys.stderr, flush=True)
    if cfg["hooks"] and not _corpus_option("--examrig-state-hook", cfg["features"]):
        print("examrig: warning: this corpus has no --examrig-state-hook option; --state-hook ignored",
              file=sys.stderr, flush=True)
    if cfg["capabilities"] and not _corpus_option("--examrig-capability", cfg["features"]):
        print("examrig: warning: this corpus has no --examrig-capability option; --capabilities ignored",
              file=sys.stderr, flush=True)

    out = run_dir / "scenarios.jsonl"
    cmd = pytest_command(args, cfg, out)
    interrupted = _run_child(cmd, run_dir / "pytest.log")
    run = Run(started=started.isoformat(timespec="seconds"), label=_label(cfg["targets"]), mode=args.mode,
              targets=cfg["targets"], services=cfg["services"], seed=args.seed,
              strict_assumed=args.strict_assumed, capabilities=cfg["capabilities"],
              command=["examrig", "check", *sys.argv[2:]] if sys.argv[1:2] == ["check"] else list(cmd),
              incomplete=interrupted, warnings=list(cfg["warnings"]))
    records = _read_records(out)
    collected_problems = _child_problems(records, run_dir / "pytest.log", interrupted)
    run.scenarios = [_scenario(r, cfg["targets"], cfg["features"]) for r in records if r.get("type") == "scenario"]
    if run.seed is None:
        run.seed = next((s.seed for s in run.scenarios if s.seed is not None), None)
    catalogue = {rid: ReqInfo.of(req) for rid, req in cfg["catalogue"].items()}
    aggregate(run, catalogue, cfg["ledger"], services=cfg["services"])
    code, reasons = exit_code(run)
    if collected_problems:
        code, reasons = (code if interrupted else EXIT_INFRA), [*collected_problems, *reasons]
    run.problems = list(dict.fromkeys([*run.problems, *reasons]))
    run.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    run.exit_code = code
    write_reports(run, run_dir, cfg["formats"])
    print_summary(run, run_dir)
    return run.exit_code


def _run_child(cmd: list[str], log: Path) -> bool:
    """Run pytest; forward one SIGINT to it and return whether the run was interrupted."""
    env = child_env(cmd)
    with log.open("w", encoding="utf-8") as fh:
        # a session of its own: a terminal's Ctrl-C reaches only this process, which forwards it once
        # (pytest aborts without finishing the session on a second SIGINT)
        child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        interrupted = False

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            nonlocal interrupted
            if not interrupted:
                interrupted = True
                child.send_signal(signal.SIGINT)

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            deadline = None
            while child.poll() is None:
                time.sleep(0.1)
                if interrupted and deadline is None:
                    deadline = time.monotonic() + 30
                if deadline is not None and time.monotonic() > deadline:
                    child.kill()  # pytest did not stop within 30 s of the SIGINT
                    child.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
    return interrupted


def _read_records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a killed child may be cut
            continue
    return records


def _child_problems(records: list[dict[str, Any]], log: Path, interrupted: bool) -> list[str]:
    """Why the pytest run itself went wrong (collection errors, a usage error, a crash), one line each."""
    problems = [f"collection error in {r['nodeid'] or 'features'}: {r['message']}"
                for r in records if r.get("type") == "collect-error"]
    finished = next((r for r in records if r.get("type") == "finished"), None)
    if interrupted:
        return problems
    if finished is None or finished.get("exitstatus") in (3, 4):
        tail = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
        last = next((line for line in reversed(tail) if "rror" in line), tail[-1] if tail else "no output")
        problems.append(f"pytest did not finish the run (see {log}): {last.strip()[:300]}")
    return problems


def _scenario(record: dict[str, Any], targets: dict[str, str], features: Path) -> ScenarioResult:
    path = Path(record.get("path", ""))
    try:
        service = path.relative_to(features).parts[0]
    except (ValueError, IndexError):
        service = ""
    bdd = record.get("bdd") or {}
    feature = bdd.get("feature") or {}
    failed_at = record.get("failed_step", "")
    outcome = {"passed": "passed", "failed": "failed", "unsupported": "unsupported",
               "skipped": "skipped"}.get(record.get("outcome", ""), "error")
    ran = list(bdd.get("steps", []))
    steps: list[Step] = []
    for n, (keyword, name, line) in enumerate(record.get("all_steps") or
                                              [(s["keyword"], s["name"], s["line_number"]) for s in ran]):
        status, duration = "skipped", 0.0
        if n < len(ran):
            duration = float(ran[n].get("duration", 0.0))
            status = "failed" if ran[n].get("failed") else "passed"
            if status == "failed" and any(st.status == "failed" for st in steps):
                status = "skipped"  # pytest-bdd marks every step after the failing one failed too
        elif record.get("undefined") and f"{keyword} {name}".strip() == failed_at:
            status = "undefined"
        steps.append(Step(keyword=str(keyword), name=str(name), line=int(line), status=status, duration=duration))
    if outcome in ("unsupported", "skipped") and ran:
        steps[len(ran) - 1].status = "skipped"  # the step that called unsupported()/pytest.skip
    if outcome in ("error", "failed") and steps and not any(st.status in ("failed", "undefined") for st in steps):
        # the scenario broke outside a step (a fixture, a teardown): show it on the last step that ran
        last = max((i for i, st in enumerate(steps) if st.status == "passed"), default=0)
        steps[last].status = "failed"
    nodeid = str(record.get("nodeid", ""))
    return ScenarioResult(
        id=nodeid, name=str(bdd.get("name") or nodeid.rpartition("::")[2]), service=service,
        requirements=list(record.get("requirements", [])), outcome=outcome,
        feature=str(feature.get("name", "")), feature_file=str(feature.get("rel_filename", "")),
        line=int(bdd.get("line_number", 0) or 0), tags=list(bdd.get("tags", [])),
        message=str(record.get("message", "")), failed_step=failed_at, duration=float(record.get("duration", 0.0)),
        steps=steps, exchanges=[Exchange(**{k: v for k, v in e.items() if k in Exchange.__dataclass_fields__})
                                for e in record.get("exchanges", [])],
        seed=record.get("seed"), foreign=service in targets, undefined_step=bool(record.get("undefined")))


def write_reports(run: Run, run_dir: Path, formats: Sequence[str]) -> list[str]:
    """Write every requested report; one problem line per writer that failed (the others still write)."""
    from conformance.reports import WRITERS
    problems = []
    for fmt in formats:
        try:
            WRITERS[fmt](run, run_dir)
        except Exception as exc:  # a broken writer must fail the run, not hide the other reports
            problems.append(f"the {fmt} report writer failed: {type(exc).__name__}: {exc}")
    if problems:
        # the JSON report is the record of the run: rewrite it so it names the failed writers and the exit code
        run.problems.extend(problems)
        run.exit_code = EXIT_INTERRUPTED if run.incomplete else EXIT_INFRA
        if "json" in formats:
            with contextlib.suppress(Exception):  # its failure is already counted above
                WRITERS["json"](run, run_dir)
    return problems


def print_summary(run: Run, run_dir: Path) -> None:
    """Counts per verdict, the reasons for the exit code, where the reports are."""
    sc, rq = run.counts("scenarios"), run.counts("requirements")
    shown = [v for v in ORDER if sc.get(v) or rq.get(v)]
    width = max([len(v) for v in shown] + [7])
    print(f"examrig check: {len(run.scenarios)} scenarios, {sum(rq.values())} requirements"
          f"{' (INCOMPLETE: interrupted)' if run.incomplete else ''}")
    print(f"  {'verdict':<{width}}  scenarios  requirements")
    for v in shown:
        print(f"  {v:<{width}}  {sc.get(v, 0):>9}  {rq.get(v, 0):>12}")
    for line in run.problems:
        print(f"  ! {line}")
    for line in run.warnings:
        print(f"  warning: {line}")
    verdict = {EXIT_OK: "conformant", EXIT_FAIL: "NOT conformant", EXIT_INFRA: "could not judge (infrastructure)",
               EXIT_INTERRUPTED: "interrupted"}.get(run.exit_code, str(run.exit_code))
    print(f"examrig check: {verdict} (exit {run.exit_code}); reports in {run_dir}", flush=True)


__all__ = ["FORMATS", "add_check_parser", "cmd_check", "feature_services", "make_run_dir", "write_reports"]
