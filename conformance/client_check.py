"""``examrig check --client SERVICE [...] [-- COMMAND ARGS...]``: judge an integrator's client from the journal.

The named mocks (and their peers) are served on the embedded default (ports 0, a temporary SQLite file);
their URLs are printed and handed to COMMAND as ``EXAMRIG_URL_<SERVICE>``. Without COMMAND the mocks
serve until Ctrl-C or ``--duration``, so a client driven by hand or from another machine is judged too.
Then the journal of that window is evaluated per tenant by the client rules (``conformance/client/``) and
the same five reports as ``examrig check`` are written, through its verdicts and writers unchanged.
``--from URL --since N`` judges an earlier window of a running mock's journal instead (GET
``/_examrig/journal?since=N&tenant=*``), serving nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

from conformance.verdicts import EXIT_INFRA, EXIT_USAGE, ReqInfo, Run, aggregate, exit_code
from mocks.core.journal import Entry

# the mocks a client's service calls while it serves the client (served alongside so the flow completes)
PEERS: dict[str, tuple[str, ...]] = {"tis": ("openam", "thss", "dw", "tds"), "dw": ("openam",)}


def _fail(message: str, code: int) -> int:
    print(f"examrig: error: {message}", file=sys.stderr, flush=True)
    return code


def fetch_window(url: str, since: int, timeout: float) -> tuple[list[Entry], bool, str]:
    """The entries of a running mock's journal from ``since`` (every tenant), whether it overflowed, its service."""
    with urllib.request.urlopen(f"{url.rstrip('/')}/_examrig/journal?since={since}&tenant=*",
                                timeout=timeout) as resp:
        data = json.loads(resp.read())
    entries = [Entry(**{k: v for k, v in e.items() if k in Entry.__dataclass_fields__}) for e in data["entries"]]
    services = {e.service for e in entries}
    return entries, bool(data.get("overflow")), (services.pop() if len(services) == 1 else "")


def cmd_client_check(args: argparse.Namespace, command: list[str]) -> int:
    """Run the client check; the exit code of :func:`conformance.verdicts.exit_code` (2 for usage)."""
    from conformance.check import make_run_dir, print_summary, write_reports
    from conformance.client import RULES

    services = list(dict.fromkeys(args.client))
    unknown = [s for s in services if s not in RULES]
    if unknown:
        return _fail(f"--client {unknown[0]}: no client rules (available: {', '.join(RULES)})", EXIT_USAGE)
    if args.from_url and command:
        return _fail("--from judges a running mock's journal; it does not run a COMMAND", EXIT_USAGE)
    if args.from_url and len(services) != 1:
        return _fail("--from URL judges one service's journal: name one --client", EXIT_USAGE)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    from conformance.check import FORMATS
    if not formats or any(f not in FORMATS for f in formats):
        return _fail(f"--formats: choose from {', '.join(FORMATS)}", EXIT_USAGE)
    started = dt.datetime.now(dt.UTC)
    label = "client-" + "-".join(services)
    try:
        run_dir = make_run_dir(Path(args.report_dir), label, started)
    except OSError as exc:
        return _fail(f"report directory {args.report_dir} is not writable: {exc.strerror or exc}", EXIT_INFRA)
    run = Run(started=started.isoformat(timespec="seconds"), label=label, mode="client", services=services,
              seed=args.seed, command=list(command))
    if args.from_url:
        try:
            entries, overflow_one, _ = fetch_window(args.from_url, args.since or 1, args.timeout)
        except (OSError, ValueError, KeyError) as exc:
            run_dir.rmdir()
            return _fail(f"cannot read the journal of {args.from_url}: {exc}", EXIT_INFRA)
        run.targets = {services[0]: args.from_url}
        overflow = {services[0]: overflow_one}
        client_failed = False
    else:
        got = serve_and_run(services, command, args, run)
        if isinstance(got, int):
            run_dir.rmdir()
            return got
        entries, overflow, client_failed = got
    from conformance.client import evaluate
    run.scenarios = evaluate(entries, services, overflow=overflow)
    aggregate(run, _client_catalogue(), {}, services=services)
    code, reasons = exit_code(run)
    if client_failed:
        code = EXIT_INFRA  # a client that crashed or never ran cannot be called conformant
    if not any(e.direction == "in" and e.service in services for e in entries):
        # as check's "zero scenarios": a window without one exchange of the client judges nothing
        run.problems.append(f"the client made no request to {', '.join(services)} in the window: nothing to judge")
        code = EXIT_INFRA
    run.problems = list(dict.fromkeys([*run.problems, *reasons]))
    run.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    run.exit_code = code
    write_reports(run, run_dir, formats)
    print_summary(run, run_dir)
    return run.exit_code


def serve_and_run(services: list[str], command: list[str], args: argparse.Namespace,
                  run: Run) -> tuple[list[Entry], dict[str, bool], bool] | int:
    """Serve the mocks, run COMMAND (or wait); every served mock's journal window, its overflow, and whether the
    client command failed (exited non-zero or could not start)."""
    from mocks import registry
    from mocks.core.app import Runtime
    from mocks.core.server import ServeError, bind, start, stop
    from mocks.core.settings import Settings
    from mocks.core.tls import TlsError

    install_live()
    known = registry.available()
    names = list(dict.fromkeys([*services, *(p for s in services for p in PEERS.get(s, ()))]))
    names = [n for n in names if n in known]
    tmp = tempfile.TemporaryDirectory(prefix="examrig-client-")
    settings = Settings(seed=args.seed, data_dir=tmp.name)
    runtime = Runtime.create(settings, db=f"sqlite:///{Path(tmp.name) / 'examrig.db'}")
    apps = {name: known[name].cls(runtime) for name in names}
    served = []
    tls: tuple[str, str] | None = None
    try:
        if getattr(args, "tls", False):
            # a client that speaks only https (the xBlock's API client builds https:// URLs) trusts this file
            from mocks.core.tls import self_signed
            cert, key = self_signed(Path(tmp.name) / "tls")
            tls = (str(cert), str(key))
        for name in names:
            served.append(bind(name, apps[name], "127.0.0.1", 0, tls=tls))
    except (ServeError, TlsError) as exc:
        for s in served:
            s.stopper()
        for app in apps.values():
            app.stop()
        runtime.store.dispose()
        tmp.cleanup()
        return _fail(str(exc), EXIT_INFRA)
    for s in served:
        runtime.topology.setdefault(s.name, s.url)
    starts = {s.name: s.app.journal.next_seq for s in served}
    runtime.control.start()
    for s in served:
        s.app.start()  # the mocks' workers (TIS's processing, THSS's policy), as examrig serve starts them
        start(s)
    env = dict(os.environ)
    for s in served:
        print(f"examrig: {s.name} listening on {s.url}", flush=True)
        env[f"EXAMRIG_URL_{s.name.upper()}"] = s.url
    if tls is not None:
        print(f"examrig: certificate {tls[0]} (EXAMRIG_CA_BUNDLE, REQUESTS_CA_BUNDLE)", flush=True)
        env["EXAMRIG_CA_BUNDLE"] = env["REQUESTS_CA_BUNDLE"] = tls[0]
    run.targets = {s.name: s.url for s in served}
    client_failed = False
    try:
        if command:
            print(f"examrig: running {' '.join(command)}", flush=True)
            try:
                done = subprocess.run(command, env=env, check=False,
                                      timeout=args.duration if args.duration else None)
                if done.returncode != 0:
                    # the window then shows only part of what the client meant to do: not a verdict to trust
                    run.problems.append(f"the client command exited {done.returncode}: the window is incomplete")
                    client_failed = True
            except subprocess.TimeoutExpired:
                run.warnings.append(f"the client command was stopped after --duration {args.duration} s")
            except OSError as exc:
                run.problems.append(f"the client command could not start: {exc}")
                client_failed = True
        else:
            wait(args.duration)
    finally:
        windows = {s.name: s.app.journal.query(since=starts[s.name]) for s in served}
        for s in served:
            stop(s)
        runtime.control.close()
        runtime.store.dispose()
        tmp.cleanup()
    entries = [e for w in windows.values() for e in w.entries]
    return entries, {name: w.overflow for name, w in windows.items()}, client_failed


def wait(duration: float | None) -> None:
    """Until Ctrl-C, SIGTERM or ``duration`` seconds."""
    done = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    print("examrig: drive your client now; Ctrl-C ends the window"
          + (f" (or after {duration} s)" if duration else ""), flush=True)
    try:
        done.wait(duration)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@functools.lru_cache(maxsize=1)
def _client_catalogue() -> dict[str, ReqInfo]:
    from conformance.catalogue import load
    return {rid: ReqInfo.of(req) for rid, req in load().items() if req.role == "client"}


def live_verdicts(entries: list[Entry], service: str, overflow: bool) -> dict[str, Any]:
    """The evaluator behind ``GET /_examrig/client-check``: one tenant's window, as a report's JSON data."""
    from conformance.client import RULES, evaluate
    if service not in RULES:
        return {"requirements": [], "scenarios": [], "counts": {}, "note": f"no client rules for {service}"}
    run = Run(started="", label=f"client-{service}", mode="client-live", services=[service])
    run.scenarios = evaluate(entries, [service], overflow={service: overflow})
    aggregate(run, _client_catalogue(), {}, services=[service])
    data = run.to_dict()
    return {"requirements": data["requirements"], "scenarios": data["scenarios"],
            "counts": data["counts"]["requirements"]}


def install_live() -> None:
    """Give the mocks of this process the client rules for ``GET /_examrig/client-check``."""
    from mocks.core import client_check_route
    client_check_route.install(live_verdicts)


def add_client_options(p: Any) -> None:
    """The ``--client`` options of ``examrig check``."""
    p.add_argument("--client", action="append", default=[], metavar="SERVICE",
                   help="judge a client of SERVICE from the journal (client conformance); COMMAND after --")
    p.add_argument("--duration", type=float, metavar="S", help="with --client: end the window after S seconds")
    p.add_argument("--from", dest="from_url", metavar="URL",
                   help="with --client: judge a running mock's journal at URL instead of serving")
    p.add_argument("--since", type=int, metavar="N", help="with --from: the first journal seq of the window")
    p.add_argument("--tls", action="store_true",
                   help="with --client: serve over HTTPS (a self-signed certificate for 127.0.0.1, handed to COMMAND "
                        "as EXAMRIG_CA_BUNDLE and REQUESTS_CA_BUNDLE)")


__all__ = ["PEERS", "add_client_options", "cmd_client_check", "fetch_window", "install_live", "live_verdicts"]
