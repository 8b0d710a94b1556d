"""``examrig load PROFILE``: run a packaged locust profile headless, decide the exit code from thresholds.

The load itself is locust's (``loadtests/locustfile.py`` run as a subprocess, so this process never
imports gevent's monkey-patching): its CSV (full history) and HTML reports are written as locust
writes them, and the thresholds are evaluated on locust's own statistics objects (``StatsEntry``,
rebuilt from what the locustfile saved at the end of the run). Without ``--target`` for a service the
profile needs, examrig serves its own mocks first (``examrig serve`` in a subprocess, every port 0,
on a fresh SQLite file) so that ``examrig load smoke`` works on a fresh machine; the summary then adds
each mock's own view of the run (``/_examrig/metrics`` and the journal's drops from ``health``) and
the CPU that the generator and the mocks used, so a tester sees which of them was the limit.

Exit status: 0 every threshold met, 1 one missed (or the run was interrupted: reports are written,
marked incomplete), 2 usage (unknown profile or shape, malformed threshold), 3 infrastructure (a
target unreachable before any user starts, the mocks or locust failing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import operator
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INFRA = 0, 1, 2, 3
ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
PROFILES_FILE = ROOT / "loadtests" / "profiles.json"
SCHEMA_FILE = ROOT / "contracts" / "schemas" / "load-summary.schema.json"
SUMMARY_SCHEMA = "examrig-load-summary/1"
SHAPES = ("ramp", "step", "spike", "soak", "exam-window", "none")
SERVICES = ("deliveryodata", "proctoru", "tis", "thss", "tds", "dw", "openam")
#: what each actor talks to, and (second) the peers its services need when examrig serves them
ACTOR_SERVICES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "CandidatePortal": (("deliveryodata",), ()),
    "Proctor": (("deliveryodata",), ()),
    "AttemptListSupervisor": (("deliveryodata",), ()),
    "LmsScheduler": (("proctoru",), ()),
    "TdsSender": (("tis", "tds", "thss"), ("dw", "openam")),
    "HandScorer": (("thss",), ("tis",)),
    "WarehouseImporter": (("dw", "openam"), ()),
}


class UsageError(Exception):
    """Bad input from the user: one line, exit 2."""


class InfraError(Exception):
    """Something the run needs is not there: one line, exit 3."""


# -- thresholds -----------------------------------------------------------------------------------------

_OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge, "<": operator.lt,
                                                   ">": operator.gt}
_THRESHOLD = re.compile(
    r"^\s*(?P<metric>p\d{1,2}(?:\.\d+)?|avg|min|max|median|fail_ratio|failures|requests|rps)"
    r"(?::(?P<selector>[^<>=]+?))?\s*(?P<op><=|>=|<|>)\s*(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>ms|s|%)?\s*$")
_TIME_METRICS = ("avg", "min", "max", "median")


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold: ``metric[:selector] op value``; times are held in milliseconds."""

    expression: str
    metric: str
    selector: str | None
    op: str
    limit: float

    def met(self, actual: float) -> bool:
        """Whether ``actual`` satisfies the threshold."""
        return _OPS[self.op](actual, self.limit)


def parse_threshold(text: str) -> Threshold:
    """``p95<250ms``, ``p99:POST Attempts<400ms``, ``fail_ratio<0.01`` (or ``<1%``), ``rps>200``; UsageError if not."""
    m = _THRESHOLD.match(text)
    if m is None:
        raise UsageError(f"malformed threshold '{text}' (e.g. p95<250ms, p99:POST Attempts<400ms, fail_ratio<0.01, "
                         "rps>200)")
    metric, unit, value = m["metric"], m["unit"], float(m["value"])
    timed = metric.startswith("p") or metric in _TIME_METRICS
    if metric.startswith("p") and not 0 < float(metric[1:]) < 100:
        raise UsageError(f"malformed threshold '{text}': a percentile is between p0 and p100")
    if timed:
        if unit == "%":
            raise UsageError(f"malformed threshold '{text}': {metric} is a time (ms or s)")
        value = value * 1000 if unit == "s" else value
    elif metric == "fail_ratio":
        if unit in ("ms", "s"):
            raise UsageError(f"malformed threshold '{text}': fail_ratio is a ratio (0.01 or 1%)")
        value = value / 100 if unit == "%" else value
    elif unit is not None:
        raise UsageError(f"malformed threshold '{text}': {metric} takes a plain number")
    selector = m["selector"].strip() if m["selector"] else None
    return Threshold(text.strip(), metric, selector, m["op"], value)


def _locust_stats() -> Any:
    """``locust.stats`` without gevent's monkey-patching of this process (locust reads this variable on import)."""
    before = os.environ.get("LOCUST_SKIP_MONKEY_PATCH")
    os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"
    try:
        import locust.stats as stats
    finally:
        if before is None:
            os.environ.pop("LOCUST_SKIP_MONKEY_PATCH", None)
    return stats


class RunStats:
    """locust's ``RequestStats`` rebuilt from the entries the locustfile saved (``StatsEntry.serialize``)."""

    def __init__(self, saved: dict[str, Any]) -> None:
        stats = _locust_stats()
        self.stats = stats.RequestStats()
        for raw in saved.get("entries", []):
            data = dict(raw)
            # JSON made the histogram's integer keys strings
            data["response_times"] = {int(k): v for k, v in data.get("response_times", {}).items()}
            data["num_reqs_per_sec"] = {int(k): v for k, v in data.get("num_reqs_per_sec", {}).items()}
            data["num_fail_per_sec"] = {int(k): v for k, v in data.get("num_fail_per_sec", {}).items()}
            entry = stats.StatsEntry.unserialize(data, self.stats)
            self.stats.entries[(entry.name, entry.method)] = entry
            self.stats.total.extend(entry)
        self.errors = list(saved.get("errors", {}).values())

    def entry(self, selector: str | None) -> Any:
        """The entry a selector names (``METHOD name`` or ``name``), the aggregate for none; UsageError if none."""
        if selector is None or selector == "Aggregated":
            return self.stats.total
        for (name, method), entry in self.stats.entries.items():
            if selector in (f"{method} {name}", name):
                return entry
        known = sorted(f"{method} {name}" for name, method in self.stats.entries)
        raise UsageError(f"threshold names '{selector}', which the run did not request (requests: {', '.join(known)})")

    @staticmethod
    def value(entry: Any, metric: str) -> float:
        """One metric of a locust ``StatsEntry``."""
        if metric.startswith("p"):
            return float(entry.get_response_time_percentile(float(metric[1:]) / 100))
        simple: dict[str, Callable[[], float]] = {
            "avg": lambda: float(entry.avg_response_time), "min": lambda: float(entry.min_response_time or 0),
            "max": lambda: float(entry.max_response_time), "median": lambda: float(entry.median_response_time),
            "fail_ratio": lambda: float(entry.fail_ratio), "failures": lambda: float(entry.num_failures),
            "requests": lambda: float(entry.num_requests), "rps": lambda: float(entry.total_rps)}
        return simple[metric]()

    def rows(self) -> list[dict[str, Any]]:
        """Every request entry and the aggregate, as the summary's ``requests`` rows."""
        out = []
        entries = sorted(self.stats.entries.values(), key=lambda e: (e.name, e.method))
        for entry in [*entries, self.stats.total]:
            out.append({"method": entry.method or "", "name": entry.name, "requests": entry.num_requests,
                        "failures": entry.num_failures, "fail_ratio": round(entry.fail_ratio, 6),
                        "rps": round(entry.total_rps, 3), "avg_ms": round(entry.avg_response_time, 3),
                        "min_ms": float(entry.min_response_time or 0), "max_ms": float(entry.max_response_time),
                        **{f"p{p}_ms": float(entry.get_response_time_percentile(p / 100)) for p in (50, 95, 99)}})
        return out


def evaluate(thresholds: list[Threshold], run: RunStats) -> list[dict[str, Any]]:
    """Each threshold with the run's value and whether it was met."""
    results = []
    for t in thresholds:
        actual = run.value(run.entry(t.selector), t.metric)
        results.append({"expression": t.expression, "metric": t.metric, "selector": t.selector or "Aggregated",
                        "op": t.op, "limit": t.limit, "actual": round(actual, 6), "met": t.met(actual)})
    return results


def threshold_table(results: list[dict[str, Any]]) -> str:
    """The thresholds as a plain-text table."""
    def shown(row: dict[str, Any], key: str) -> str:
        value = row[key]
        if row["metric"].startswith("p") or row["metric"] in _TIME_METRICS:
            return f"{value:.0f} ms"
        return f"{value:.4g}"
    lines = [("threshold", "selector", "actual", "limit", "verdict")]
    lines += [(r["expression"], r["selector"], shown(r, "actual"), f"{r['op']} {shown(r, 'limit')}",
               "met" if r["met"] else "MISSED") for r in results]
    widths = [max(len(row[i]) for row in lines) for i in range(5)]
    rendered = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in lines]
    rendered.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(rendered)


# -- profiles, targets, serving ---------------------------------------------------------------------------

def load_profiles() -> dict[str, Any]:
    """The profiles (``loadtests/profiles.json``, shared with the locustfile)."""
    profiles: dict[str, Any] = json.loads(PROFILES_FILE.read_text())
    return profiles


def profile_services(profile: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The services the profile's actors call, and the peers those need when examrig serves them."""
    used: set[str] = set()
    peers: set[str] = set()
    for actor in profile["users"]:
        direct, indirect = ACTOR_SERVICES[actor]
        used.update(direct)
        peers.update(indirect)
    return [s for s in SERVICES if s in used], [s for s in SERVICES if s in peers - used]


def parse_targets(values: list[str]) -> dict[str, list[str]]:
    """``SERVICE=URL`` (repeatable; a URL list comma-separated) into base URLs by service; UsageError if malformed."""
    out: dict[str, list[str]] = {}
    for value in values:
        name, sep, urls = value.partition("=")
        name = name.strip()
        if not sep or name not in SERVICES:
            raise UsageError(f"--target '{value}' is not SERVICE=URL with SERVICE one of {', '.join(SERVICES)}")
        for url in (u.strip().rstrip("/") for u in urls.split(",") if u.strip()):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UsageError(f"--target {name}: '{url}' is not an http(s) URL")
            out.setdefault(name, []).append(url)
    return out


def parse_duration(text: str) -> float:
    """``60s``, ``2m``, ``1h30m`` or plain seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    if not text or m is None:
        raise UsageError(f"--duration '{text}' is not a duration (e.g. 60s, 2m, 1h30m)")
    h, mi, s = (int(g) if g else 0 for g in m.groups())
    return float(h * 3600 + mi * 60 + s)


def check_reachable(targets: dict[str, list[str]], timeout: float = 5.0) -> None:
    """Every target answers a TCP connection (InfraError naming the first that does not)."""
    for name, urls in targets.items():
        for url in urls:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            try:
                with socket.create_connection((parts.hostname or "", port), timeout=timeout):
                    pass
            except OSError as exc:
                raise InfraError(f"target {name} {url} is unreachable: {exc.strerror or exc}") from None


@dataclass
class ServedMocks:
    """examrig's mocks served by a child ``examrig serve`` for the run."""

    process: subprocess.Popen[str]
    urls: dict[str, str]
    data_dir: Path
    lines: list[str] = field(default_factory=list)

    def stop(self) -> None:
        """SIGINT (a clean stop), then kill after a grace period."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.data_dir, ignore_errors=True)


def serve_mocks(services: list[str], *, seed: int, topology: dict[str, str], timeout: float = 120.0,
                processes: int = 1) -> ServedMocks:
    """``examrig serve SERVICES`` on port 0 each, on a fresh SQLite file (``--processes N`` when ``processes`` is
    above 1: N server processes per mock); InfraError when it does not come up."""
    data_dir = Path(tempfile.mkdtemp(prefix="examrig-load-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    for name in services:
        env[f"EXAMRIG_{name.upper()}_PORT"] = "0"
    for name, url in topology.items():  # served mocks call the user's system where the user named one
        env[f"EXAMRIG_TOPOLOGY_{name.upper()}"] = url
    command = [sys.executable, "-m", "conformance.cli", "serve", *services, "--data-dir", str(data_dir),
               "--seed", str(seed)]
    if processes > 1:
        command += ["--processes", str(processes)]
    # its own session: a Ctrl-C at the terminal stops locust first (which writes its reports), the mocks after
    process = subprocess.Popen(command, cwd=data_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    served = ServedMocks(process, {}, data_dir)
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline and len(served.urls) < len(services):
        line = process.stdout.readline()
        if not line:
            break
        served.lines.append(line.rstrip())
        m = re.match(r"examrig: (\w+) listening on (\S+)", line)
        if m:
            served.urls[m.group(1)] = m.group(2)
    if len(served.urls) < len(services):
        served.stop()
        raise InfraError("examrig's mocks did not start: " + " | ".join(served.lines[-3:]))
    # keep draining the child's output so it never blocks on a full pipe
    import threading

    def drain() -> None:
        for line in process.stdout or []:
            served.lines.append(line.rstrip())
    threading.Thread(target=drain, daemon=True).start()
    return served


# -- the mock's own view ------------------------------------------------------------------------------------

def scrape_mock(url: str) -> dict[str, Any] | None:
    """A mock's request counters, latency histogram (``/_examrig/metrics``) and journal (``health``).

    None when the URL is not one of examrig's mocks.
    """
    from prometheus_client.parser import text_string_to_metric_families
    try:
        health = requests.get(f"{url}/_examrig/health", timeout=10)
        metrics = requests.get(f"{url}/_examrig/metrics", timeout=10)
    except requests.RequestException:
        return None
    if health.status_code != 200 or metrics.status_code != 200:
        return None
    requests_by_route: dict[str, dict[str, float]] = {}
    latency: dict[str, dict[str, Any]] = {}
    for family in text_string_to_metric_families(metrics.text):
        for sample in family.samples:
            route = sample.labels.get("route", "")
            if sample.name == "examrig_requests_total":
                requests_by_route.setdefault(route, {})[sample.labels["status"]] = sample.value
            elif sample.name == "examrig_request_duration_ms_bucket":
                latency.setdefault(route, {"count": 0.0, "sum_ms": 0.0, "buckets": {}})["buckets"][
                    sample.labels["le"]] = sample.value
            elif sample.name == "examrig_request_duration_ms_count":
                latency.setdefault(route, {"count": 0.0, "sum_ms": 0.0, "buckets": {}})["count"] = sample.value
            elif sample.name == "examrig_request_duration_ms_sum":
                latency.setdefault(route, {"count": 0.0, "sum_ms": 0.0, "buckets": {}})["sum_ms"] = sample.value
    body = health.json() if "json" in health.headers.get("Content-Type", "") else {}
    journal = body.get("journal", {}) if isinstance(body, dict) else {}
    return {"requests": requests_by_route, "latency": latency, "journal": journal}


def mock_view(before: dict[str, Any] | None, after: dict[str, Any] | None, url: str) -> dict[str, Any] | None:
    """What the mock saw during the run: the counters after minus before (the prepare step's calls included)."""
    if after is None:
        return None
    before = before or {"requests": {}, "latency": {}, "journal": {}}
    requests_seen: dict[str, dict[str, int]] = {}
    for route, statuses in after["requests"].items():
        for status, n in statuses.items():
            delta = int(n - before["requests"].get(route, {}).get(status, 0))
            if delta:
                requests_seen.setdefault(route, {})[status] = delta
    latency: dict[str, Any] = {}
    for route, hist in after["latency"].items():
        old = before["latency"].get(route, {"count": 0, "sum_ms": 0.0, "buckets": {}})
        count = int(hist["count"] - old["count"])
        if count <= 0:
            continue
        buckets = {le: int(n - old["buckets"].get(le, 0)) for le, n in hist["buckets"].items()}
        latency[route] = {"count": count, "mean_ms": round((hist["sum_ms"] - old["sum_ms"]) / count, 3),
                          "p95_le_ms": _bucket_quantile(buckets, count, 0.95), "buckets": buckets}
    journal = after.get("journal") or {}
    dropped_before = (before.get("journal") or {}).get("dropped", 0)
    return {"url": url, "requests": requests_seen, "latency": latency,
            "journal": {"size": journal.get("size"), "dropped": journal.get("dropped", 0),
                        "dropped_during_run": int((journal.get("dropped") or 0) - (dropped_before or 0))}}


def _bucket_quantile(buckets: dict[str, int], count: int, q: float) -> str:
    """The upper bound of the cumulative bucket that holds quantile ``q`` (a Prometheus histogram's resolution)."""
    def bound(le: str) -> float:
        return float("inf") if le == "+Inf" else float(le)
    for le in sorted(buckets, key=bound):
        if buckets[le] >= q * count:
            return le
    return "+Inf"


def _machine_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine so far (``/proc/stat``), None where there is none."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a live process, its waited-for children (``/proc/<pid>/stat``) and its live descendants
    (``/proc/<pid>/task/<tid>/children``: the server processes of ``examrig serve --processes N``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = sum(int(x) for x in fields[11:15]) / ticks
    for child in _live_children(pid):
        total += _cpu_seconds(child) or 0.0  # a child that ended meanwhile is in its parent's figures once waited for
    return total


def _tree_size(pid: int) -> int:
    """How many processes a live process and its descendants are (``examrig serve --processes N``: 1 + N per mock)."""
    return 1 + sum(_tree_size(child) for child in _live_children(pid))


def _live_children(pid: int) -> list[int]:
    children: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                children += [int(c) for c in (task / "children").read_text().split()]
    return children


# -- the command ---------------------------------------------------------------------------------------------

def add_load_parser(subparsers: Any) -> None:
    """Register ``examrig load``."""
    p = subparsers.add_parser("load", help="run a locust load profile headless; thresholds decide the exit code")
    p.add_argument("profile", metavar="PROFILE", help="exam-window, proctoring, scheduling, scoring-pipeline, smoke")
    p.add_argument("--target", action="append", default=[], metavar="SERVICE=URL",
                   help="the service under load (repeatable; URL,URL for several base URLs of one service); "
                        "services without one are served by examrig")
    p.add_argument("--users", type=int, metavar="N", help="peak users (default: the profile's)")
    p.add_argument("--spawn-rate", type=float, metavar="R", help="users started per second (default: the profile's)")
    p.add_argument("--duration", metavar="T", help="run time, e.g. 60s, 2m (default: the profile's)")
    p.add_argument("--shape", metavar="NAME", help=f"load shape: {', '.join(SHAPES)} (default: the profile's)")
    p.add_argument("--threshold", action="append", default=None, metavar="EXPR",
                   help="e.g. p95<250ms, 'p99:POST Attempts<400ms', fail_ratio<0.01, rps>200 (default: the profile's)")
    p.add_argument("--report-dir", default="reports", metavar="DIR", help="where the reports go (default: reports)")
    p.add_argument("--processes", type=int, metavar="N", help="locust worker processes on this machine")
    p.add_argument("--serve-processes", type=int, metavar="N",
                   help="server processes per mock examrig serves for the run (examrig serve --processes N; "
                        "default 1)")
    role = p.add_mutually_exclusive_group()
    role.add_argument("--master", action="store_true", help="be the locust master of a distributed run")
    role.add_argument("--worker", action="store_true", help="be a locust worker of a distributed run")
    p.add_argument("--master-host", default="127.0.0.1", metavar="H", help="the master to join (with --worker)")
    p.add_argument("--master-port", type=int, default=5557, metavar="P", help="master port (default 5557)")
    p.add_argument("--expect-workers", type=int, metavar="N", help="with --master: wait for N workers (default 1)")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="seed of the generated data and the mocks")
    p.add_argument("--tenant", default="load", metavar="T", help="examrig tenant of the run (default load)")
    p.set_defaults(func=run_load)


@dataclass
class Plan:
    """Everything decided before anything starts."""

    profile_name: str
    profile: dict[str, Any]
    shape: str
    users: int
    spawn_rate: float
    duration: float
    thresholds: list[Threshold]
    targets: dict[str, list[str]]
    to_serve: list[str]
    report_dir: Path


def make_plan(args: argparse.Namespace) -> Plan:
    """Validate the command line; UsageError for anything wrong with it."""
    profiles = load_profiles()
    if args.profile not in profiles:
        raise UsageError(f"unknown profile '{args.profile}' (profiles: {', '.join(profiles)})")
    profile = profiles[args.profile]
    shape = args.shape or profile["shape"] or "none"
    if shape not in SHAPES:
        raise UsageError(f"unknown shape '{shape}' (shapes: {', '.join(SHAPES)})")
    thresholds = [parse_threshold(t) for t in (args.threshold if args.threshold is not None
                                               else profile["thresholds"])]
    users = args.users if args.users is not None else int(profile["users_count"])
    rate = args.spawn_rate if args.spawn_rate is not None else float(profile["spawn_rate"])
    if users < 1 or rate <= 0:
        raise UsageError("--users must be at least 1 and --spawn-rate above 0")
    if args.processes is not None and args.processes < 1:
        raise UsageError("--processes must be at least 1")
    if args.processes and (args.master or args.worker):
        raise UsageError("--processes runs master and workers on this machine; not with --master or --worker")
    if args.expect_workers is not None and not args.master:
        raise UsageError("--expect-workers goes with --master")
    if args.serve_processes is not None and args.serve_processes < 1:
        raise UsageError("--serve-processes must be at least 1")
    if args.serve_processes is not None and args.worker:
        raise UsageError("--serve-processes goes with the master (a worker serves no mocks)")
    duration = parse_duration(args.duration or profile["duration"])
    targets = parse_targets(args.target)
    used, peers = profile_services(profile)
    to_serve = [s for s in SERVICES if s in (set(used) | set(peers)) - set(targets)]
    if args.serve_processes is not None and not to_serve:
        raise UsageError("--serve-processes: examrig serves no mock in this run (every service has a --target)")
    return Plan(args.profile, profile, shape, users, rate, duration, thresholds, targets, to_serve,
                Path(args.report_dir))


def locust_command(plan: Plan, args: argparse.Namespace, prefix: Path, stats_file: Path) -> tuple[list[str],
                                                                                                   dict[str, str]]:
    """The locust command line and environment of the run."""
    joined = ";".join(f"{name}={','.join(urls)}" for name, urls in plan.targets.items())
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
               "--examrig-targets", joined, "--examrig-tenant", args.tenant, "--examrig-seed", str(args.seed),
               "--examrig-run", f"s{args.seed}-{int(time.time()) % 10**6}"]
    env = {**os.environ, "EXAMRIG_LOAD_PROFILE": plan.profile_name, "EXAMRIG_LOAD_SHAPE": plan.shape,
           "EXAMRIG_LOAD_USERS": str(plan.users), "EXAMRIG_LOAD_SPAWN_RATE": str(plan.spawn_rate),
           "EXAMRIG_LOAD_DURATION": str(plan.duration), "EXAMRIG_LOAD_STATS": str(stats_file),
           # also in the environment: the locustfile generates the actors' data on import, before arguments
           "EXAMRIG_LOAD_SEED": str(args.seed),
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    env.pop("LOCUST_SKIP_MONKEY_PATCH", None)
    if args.worker:
        return [*command, "--worker", "--master-host", args.master_host, "--master-port", str(args.master_port)], env
    command += ["--csv", str(prefix), "--csv-full-history", "--html", f"{prefix}.html"]
    if plan.shape == "none":
        command += ["-u", str(plan.users), "-r", str(plan.spawn_rate), "-t", f"{int(plan.duration)}s"]
    if args.processes:
        command += ["--processes", str(args.processes)]
    if args.master:
        command += ["--master", "--master-bind-port", str(args.master_port),
                    "--expect-workers", str(args.expect_workers or 1)]
    return command, env


@contextlib.contextmanager
def _forward_sigint(child: Callable[[], subprocess.Popen[bytes] | None], flag: dict[str, Any]) -> Iterator[None]:
    """Ctrl-C (and SIGTERM) reach locust as one SIGINT, so it stops and writes its reports; the run is incomplete."""
    def handler(signum: int, _frame: Any) -> None:
        flag["interrupted"] = True
        process = child()
        if process is not None and process.poll() is None and not flag.get("sent"):
            flag["sent"] = True
            flag["sent_at"] = time.monotonic()  # read by _wait: a lost SIGINT is resent
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_load(args: argparse.Namespace) -> int:
    """``examrig load``: plan, serve or check the targets, run locust, evaluate, report."""
    try:
        plan = make_plan(args)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    served: ServedMocks | None = None
    try:
        if args.worker:
            return _run_worker(plan, args)
        check_reachable(plan.targets)
        if plan.to_serve:
            topology = {name: urls[0] for name, urls in plan.targets.items()}
            served = serve_mocks(plan.to_serve, seed=args.seed, topology=topology,
                                 processes=args.serve_processes or 1)
            for name, url in served.urls.items():
                plan.targets.setdefault(name, [url])
        return _run_master(plan, args, served)
    except InfraError as exc:
        return _fail(str(exc), EXIT_INFRA)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    finally:
        if served is not None:
            served.stop()


def _run_worker(plan: Plan, args: argparse.Namespace) -> int:
    command, env = locust_command(plan, args, Path("unused"), Path(os.devnull))
    env.pop("EXAMRIG_LOAD_STATS", None)
    process = subprocess.Popen(command, env=env, start_new_session=True)
    flag: dict[str, Any] = {}
    with _forward_sigint(lambda: process, flag):
        code = process.wait()
    return EXIT_OK if code in (0, 1) else EXIT_INFRA


def _run_master(plan: Plan, args: argparse.Namespace, served: ServedMocks | None) -> int:
    plan.report_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    prefix = plan.report_dir / f"load-{plan.profile_name}-{stamp}"
    n = 1
    while Path(f"{prefix}-summary.json").exists() or Path(f"{prefix}_stats.csv").exists():
        n += 1  # two runs in the same second keep their own reports
        prefix = plan.report_dir / f"load-{plan.profile_name}-{stamp}-{n}"
    stats_file = Path(f"{prefix}-locust-stats.json")
    command, env = locust_command(plan, args, prefix, stats_file)
    examrig_urls = {name: urls for name, urls in plan.targets.items()}
    before = {(name, url): scrape_mock(url) for name, urls in examrig_urls.items() for url in urls}
    mock_cpu_before = _cpu_seconds(served.process.pid) if served else None
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_before = _machine_ticks()
    started = datetime.now(UTC)
    began = time.monotonic()
    flag: dict[str, Any] = {}
    holder: dict[str, subprocess.Popen[bytes]] = {}
    with _forward_sigint(lambda: holder.get("p"), flag):
        process = subprocess.Popen(command, env=env, start_new_session=True)
        holder["p"] = process
        code = _wait(process, plan.duration + 600, flag)
    elapsed = time.monotonic() - began
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_after = _machine_ticks()
    machine_busy = None
    if machine_before and machine_after and machine_after[1] > machine_before[1]:
        machine_busy = (machine_after[0] - machine_before[0]) / (machine_after[1] - machine_before[1])
    mock_cpu_after = _cpu_seconds(served.process.pid) if served else None
    mock_tree = _tree_size(served.process.pid) if served else None
    if not stats_file.is_file():
        detail = "interrupted before it started" if flag.get("interrupted") else f"exit status {code}"
        return _fail(f"locust ended without statistics ({detail}); see its output above", EXIT_INFRA)
    saved = json.loads(stats_file.read_text())
    run = RunStats(saved)
    results = evaluate(plan.thresholds, run)
    mocks = {}
    for (name, url), old in before.items():
        view = mock_view(old, scrape_mock(url), url)
        if view is not None:
            mocks[f"{name} {url}"] = view
    generator_cpu = ((children_after.ru_utime + children_after.ru_stime)
                     - (children_before.ru_utime + children_before.ru_stime))
    mock_cpu = (mock_cpu_after - mock_cpu_before) if mock_cpu_before is not None and mock_cpu_after is not None \
        else None
    complete = not flag.get("interrupted") and code in (0, 1)
    all_met = all(r["met"] for r in results)
    idle = run.stats.total.num_requests == 0 and not flag.get("interrupted")
    if code == 3 or idle:
        # a run without a single request measured nothing (e.g. every worker went missing): never a pass
        exit_code, verdict = EXIT_INFRA, "error"
    elif not complete:
        exit_code, verdict = EXIT_FAIL, "incomplete"
    else:
        exit_code, verdict = (EXIT_OK, "met") if all_met else (EXIT_FAIL, "missed")
    summary = {
        "schema": SUMMARY_SCHEMA, "profile": plan.profile_name, "shape": plan.shape, "complete": complete,
        "verdict": verdict, "exit_code": exit_code, "locust_exit_code": code,
        "started": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "elapsed_s": round(elapsed, 3),
        "options": {"users": plan.users, "spawn_rate": plan.spawn_rate, "duration_s": plan.duration,
                    "processes": args.processes, "serve_processes": (args.serve_processes or 1) if served else None,
                    "master": bool(args.master), "expect_workers": args.expect_workers,
                    "seed": args.seed, "tenant": args.tenant, "peak_users": saved.get("peak_users"),
                    "workers": saved.get("workers")},
        "targets": examrig_urls, "served_by_examrig": sorted(served.urls) if served else [],
        "thresholds": results, "requests": run.rows(),
        "errors": [{"method": e.get("method") or "", "name": e.get("name") or "", "error": str(e.get("error")),
                    "occurrences": int(e.get("occurrences", 0))} for e in run.errors],
        "mocks": mocks,
        "cpu": _cpu_view(generator_cpu, mock_cpu, elapsed, args.processes, machine_busy,
                         mock_processes=_mock_processes(args.serve_processes, served), mock_tree=mock_tree),
        "reports": {"csv_stats": f"{prefix}_stats.csv", "csv_history": f"{prefix}_stats_history.csv",
                    "csv_failures": f"{prefix}_failures.csv", "html": f"{prefix}.html",
                    "locust_stats": str(stats_file), "summary": f"{prefix}-summary.json"},
    }
    Path(f"{prefix}-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(threshold_table(results) if results else "no thresholds", flush=True)
    if idle:
        print("examrig: error: the run made no requests (see locust's output above)", file=sys.stderr, flush=True)
    print(f"examrig load: {plan.profile_name}: {verdict} ({'complete' if complete else 'INCOMPLETE'}); "
          f"reports: {prefix}_stats.csv, {prefix}.html, {prefix}-summary.json", flush=True)
    return exit_code


def _mock_processes(serve_processes: int | None, served: ServedMocks | None) -> int:
    """How many server processes examrig's mocks had: one for them all, or N per mock with --serve-processes N."""
    if served is None or not serve_processes or serve_processes < 2:
        return 1
    return serve_processes * len(served.urls)


def _cpu_view(generator: float, mock: float | None, elapsed: float, processes: int | None,
              machine_busy: float | None = None, mock_processes: int = 1,
              mock_tree: int | None = None) -> dict[str, Any]:
    """CPU the generator and examrig's mocks used, in cores, and which one was at its ceiling (if any).

    Both are Python processes bound by one GIL each: a process near one busy core is at its limit
    (the generator's ceiling is its process count, the mocks' their server processes, at most the
    machine's cores). When neither is, but the machine's cores were
    busy (``machine_busy``, the whole machine's share from ``/proc/stat``, other processes included),
    the machine was the limit: the figures then say more about the neighbours than about the system.
    """
    seconds = max(elapsed, 1e-9)
    generator_cores = generator / seconds
    mock_cores = mock / seconds if mock is not None else None
    generator_ceiling = float(processes or 1)
    cores = os.cpu_count() or 1
    mock_ceiling = float(min(max(mock_processes, 1), cores))
    limit = "neither"
    if generator_cores >= 0.9 * generator_ceiling:
        limit = "generator"
    if mock_cores is not None and mock_cores >= 0.9 * mock_ceiling and (limit == "neither"
                                                                         or mock_cores > generator_cores):
        limit = "mocks"
    if limit == "neither" and (generator_cores + (mock_cores or 0) >= 0.9 * cores
                               or (machine_busy is not None and machine_busy >= 0.9)):
        limit = "machine"
    return {"generator_cpu_s": round(generator, 3), "generator_cores": round(generator_cores, 3),
            "mock_cpu_s": round(mock, 3) if mock is not None else None,
            "mock_cores": round(mock_cores, 3) if mock_cores is not None else None,
            "mock_processes": mock_tree,
            "machine_cores": cores,
            "machine_busy": round(machine_busy, 3) if machine_busy is not None else None, "limit": limit}


#: Seconds locust gets to stop after a forwarded Ctrl-C before it is sent another one, as a user would press Ctrl-C
#: again (seen once in CI: a run went on for 120 s after its SIGINT; locust turns SIGINT into a KeyboardInterrupt in
#: whichever greenlet runs at that moment, and why that one was lost was not found). Killed after three times that.
INTERRUPT_GRACE = 15.0


def _wait(process: subprocess.Popen[bytes], timeout: float, flag: dict[str, Any] | None = None) -> int:
    """Wait for locust; one that outlives its run by far is stopped as Ctrl-C would, then killed; one that ignored a
    forwarded Ctrl-C gets it again after ``INTERRUPT_GRACE`` seconds, and is killed after three times that."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            sent_at = (flag or {}).get("sent_at")
            if flag is not None and isinstance(sent_at, float):
                waited = time.monotonic() - sent_at
                if waited > 3 * INTERRUPT_GRACE:
                    process.kill()
                    return process.wait()
                if waited > INTERRUPT_GRACE and not flag.get("resent"):
                    flag["resent"] = True
                    with contextlib.suppress(ProcessLookupError):
                        process.send_signal(signal.SIGINT)
            if time.monotonic() > deadline:
                process.send_signal(signal.SIGINT)
                try:
                    return process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    return process.wait()


def _fail(message: str, code: int) -> int:
    print(f"examrig: error: {message}", file=sys.stderr, flush=True)
    return code
