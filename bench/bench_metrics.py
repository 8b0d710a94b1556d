"""What ``/_examrig/metrics`` costs per request, against the hand-written counters it replaced, in one run.

A GET ``Attempts(n)`` through deliveryodata's in-process app (the WSGI call, no server), timed in CPU time
(``time.process_time``, every thread of this process: a shared machine changes it far less than wall time),
with the app's ``metrics`` swapped between rounds (alternating, medians of ``--rounds``):

- ``today``: the hand-written counters and exposition this change replaced (kept below as the baseline);
- ``none``: no counting at all (what metrics cost at all);
- ``now``: :class:`mocks.core.metrics.Metrics` (one process: in memory, prometheus_client's exposition);
- ``prometheus_client``: counting with prometheus_client's own labelled ``Counter`` and ``Histogram`` (the
  alternative not taken: ``observe`` below says why);
- ``shared`` and ``shared-local``: a runtime with ``shared_control`` on a SQLite file (as each process of
  ``--processes N``), with :class:`~mocks.core.metrics.SharedMetrics` (its flusher adding the counts to the
  table every second) and with the in-memory counters: the difference is what sharing the metrics costs.

Then ``observe`` alone (ns per call) and one scrape (ms) of each. Ratios are against ``today`` (and
``shared-local``), measured in the same run.

    python bench/bench_metrics.py                 # --requests 1000 --rounds 15
"""

from __future__ import annotations

import argparse
import base64
import gc
import io
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mocks.core.app import Runtime
from mocks.core.metrics import BUCKETS_MS, Metrics, SharedMetrics
from mocks.core.settings import Settings
from mocks.deliveryodata.service import Service

AUTH = "Basic " + base64.b64encode(b"examrig:examrig").decode()
TENANT = "bench"
STORED = 1000


class TodayMetrics:
    """The hand-written counters and exposition of mocks/core/metrics.py before prometheus_client (baseline)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = defaultdict(float)

    def observe(self, route: str, status: int, duration_ms: float) -> None:
        with self._lock:
            self.requests[(route, status)] += 1
            counts = self.buckets.setdefault(route, [0] * (len(BUCKETS_MS) + 1))
            for i, bound in enumerate(BUCKETS_MS):
                if duration_ms <= bound:
                    counts[i] += 1
                    break
            else:
                counts[-1] += 1
            self.sums[route] += duration_ms

    def render(self, service: str) -> str:
        lines = ["# TYPE examrig_requests_total counter"]
        with self._lock:
            for (route, status), n in sorted(self.requests.items()):
                lines.append(f'examrig_requests_total{{service="{service}",route="{route}",status="{status}"}} {n}')
            lines.append("# TYPE examrig_request_duration_ms histogram")
            for route, counts in sorted(self.buckets.items()):
                running = 0
                for bound, n in zip(BUCKETS_MS, counts, strict=False):
                    running += n
                    lines.append(f'examrig_request_duration_ms_bucket{{service="{service}",route="{route}",'
                                 f'le="{bound}"}} {running}')
                running += counts[-1]
                lines.append(f'examrig_request_duration_ms_bucket{{service="{service}",route="{route}",'
                             f'le="+Inf"}} {running}')
                lines.append(f'examrig_request_duration_ms_sum{{service="{service}",route="{route}"}} '
                             f'{self.sums[route]:.3f}')
                lines.append(f'examrig_request_duration_ms_count{{service="{service}",route="{route}"}} {running}')
        return "\n".join(lines) + "\n"


class NoMetrics:
    """Counts nothing (the floor)."""

    def observe(self, route: str, status: int, duration_ms: float) -> None:
        pass

    def render(self, service: str) -> str:
        return ""


class ClientMetrics:
    """Counting with prometheus_client's labelled metric objects (a registry per app, as each mock would need)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram
        self.registry = CollectorRegistry()
        self.requests = Counter("examrig_requests", "requests", ["service", "route", "status"], registry=self.registry)
        self.latency = Histogram("examrig_request_duration_ms", "latency", ["service", "route"],
                                 buckets=BUCKETS_MS, registry=self.registry)

    def observe(self, route: str, status: int, duration_ms: float) -> None:
        self.requests.labels("deliveryodata", route, str(status)).inc()
        self.latency.labels("deliveryodata", route).observe(duration_ms)

    def render(self, service: str) -> str:
        from prometheus_client import generate_latest
        return generate_latest(self.registry).decode()


def _service(data: Path, shared: bool) -> Service:
    settings = Settings(seed=1, data_dir=str(data), journal_capacity=1000, shared_control=shared)
    runtime = Runtime.create(settings, db=f"sqlite:///{data}/{'shared' if shared else 'one'}.db")
    service = Service(runtime)
    service.model.seed(TENANT, "400449", "participants", [{"ID": 1}])
    service.model.seed(TENANT, "400449", "assessments", [{"ID": "100000001"}])
    service.model.bulk_attempts(TENANT, "400449", STORED, 1, 100000001)
    runtime.control.start()
    return service


def _environ(n: int) -> dict[str, Any]:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": f"/deliveryodata/400449/Attempts({n % STORED + 1})",
            "SCRIPT_NAME": "", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": AUTH,
            "HTTP_X_EXAMRIG_TENANT": TENANT, "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr, "wsgi.version": (1, 0), "wsgi.multithread": True,
            "wsgi.multiprocess": False, "wsgi.run_once": False}


def _gets(service: Service, n: int) -> float:
    """CPU µs per GET over ``n`` GETs (every answer checked: a 200)."""
    bad: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        if not status.startswith("200"):
            bad.append(status)
        return lambda data: None

    t0 = time.process_time()
    for i in range(n):
        for _ in service(_environ(i), start_response):
            pass
    spent = time.process_time() - t0
    if bad:
        raise SystemExit(f"a GET answered {bad[0]}")
    return spent / n * 1e6


def _observe_ns(make: Callable[[], Any], n: int = 200_000) -> float:
    metrics = make()
    routes = [("Attempts", 200), ("Attempts", 404), ("AttemptLists", 200), ("admin:health", 200)]
    t0 = time.process_time()
    for i in range(n):
        route, status = routes[i & 3]
        metrics.observe(route, status, (i % 97) * 0.7)
    return (time.process_time() - t0) / n * 1e9


def _scrape_ms(metrics: Any, service: str = "deliveryodata", n: int = 50) -> float:
    render: Callable[[str], Any] = metrics.exposition if hasattr(metrics, "exposition") else metrics.render
    t0 = time.process_time()
    for _ in range(n):
        render(service)
    return (time.process_time() - t0) / n * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="GETs per round and variant")
    parser.add_argument("--rounds", type=int, default=15, help="alternating rounds (medians)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as tmp:
        one, shared = _service(Path(tmp), False), _service(Path(tmp), True)
        assert isinstance(shared.metrics, SharedMetrics)
        shared_metrics = shared.metrics
        variants: dict[str, tuple[Service, Callable[[], Any]]] = {
            "today": (one, TodayMetrics), "none": (one, NoMetrics), "now": (one, Metrics),
            "prometheus_client": (one, ClientMetrics),
            "shared-local": (shared, Metrics), "shared": (shared, lambda: shared_metrics),
        }
        made = {name: make() for name, (_, make) in variants.items()}
        figures: dict[str, list[float]] = {name: [] for name in variants}
        for name, (service, _) in variants.items():  # warm every path once
            service.metrics = made[name]
            _gets(service, 300)
        gc.collect()
        gc.freeze()
        names = list(variants)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]  # each variant takes each place in turn
            for name in order:
                service = variants[name][0]
                service.metrics = made[name]
                figures[name].append(_gets(service, args.requests))
        med = {name: statistics.median(v) for name, v in figures.items()}
        print(f"GET Attempts(n) through the in-process app, CPU per request ({args.rounds} alternating rounds of "
              f"{args.requests}; median, [min-max]; the ratio is the median of each round's ratio to its baseline "
              "in that round):")
        for name in variants:
            against = "shared-local" if name == "shared" else "today"
            ratios = [v / b for v, b in zip(figures[name], figures[against], strict=True)]
            print(f"  {name:18} {med[name]:8.1f} us  [{min(figures[name]):.1f}-{max(figures[name]):.1f}]  "
                  f"{statistics.median(ratios):5.3f}x {against}")
        print("observe() alone, CPU ns per call (the best of 5 alternating runs of 200,000):")
        makers: dict[str, Callable[[], Any]] = {"today": TodayMetrics, "now": Metrics,
                                                "prometheus_client": ClientMetrics}
        runs: dict[str, list[float]] = {name: [] for name in makers}
        for _ in range(5):
            for name, make in makers.items():
                runs[name].append(_observe_ns(make))
        obs = {name: min(v) for name, v in runs.items()}
        for name, ns in obs.items():
            print(f"  {name:18} {ns:8.0f} ns  {ns / obs['today']:5.2f}x today")
        print("the shared counts' write (the flusher's, once a second under load, of 1,000 requests), CPU ms:")
        journal = shared.journal
        for label, routes, statuses, spread in (("10 routes, 2 statuses, 4 buckets", 10, (200, 404), 4),
                                                ("20 routes, 3 statuses, 9 buckets", 20, (200, 404, 500), 9)):
            writes = []
            for _ in range(20):
                for i in range(1000):
                    shared_metrics.observe(f"route{i % routes}", statuses[i % len(statuses)],
                                           BUCKETS_MS[i % spread] * 0.9)
                t0 = time.process_time()
                journal._heartbeat()
                writes.append((time.process_time() - t0) * 1e3)
            ms = statistics.median(writes)
            print(f"  {label:34} {ms:7.3f} ms  (at 300 req/s: {ms * 1e3 / 300:.1f} us a request)")
        print("the background threads' CPU, per second of 300 req/s of counting (main thread asleep between "
              "bursts; 3 alternating runs of 3 s, medians):")
        back: dict[str, list[float]] = {"shared-local": [], "shared": []}
        for _ in range(3):
            for name in back:
                metrics = made[name]
                t0, end = time.process_time(), time.monotonic() + 3.0
                while time.monotonic() < end:
                    for i in range(30):
                        metrics.observe("Attempts", 200, BUCKETS_MS[i % 3] * 0.9)
                    time.sleep(0.1)
                back[name].append((time.process_time() - t0) / 3.0 * 1e3)
        for name, ms in back.items():
            print(f"  {name:18} {statistics.median(ms):7.3f} ms/s")
        extra = statistics.median(back["shared"]) - statistics.median(back["shared-local"])
        print(f"  shared - shared-local: {extra:.3f} ms/s, {extra * 1e3 / 300:.2f} us a request at 300 req/s")
        print("one scrape after the rounds, CPU ms:")
        scrape = {"today": _scrape_ms(made["today"]), "now": _scrape_ms(made["now"]),
                  "shared (barrier and sum)": _scrape_ms(shared_metrics, n=10)}
        for name, ms in scrape.items():
            print(f"  {name:24} {ms:8.3f} ms")
        for service in (one, shared):
            service.runtime.control.close()
            service.runtime.store.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
