"""Metrics and config of several processes of one mock: two runtimes on one database (a SQLite file, or
PostgreSQL when ``EXAMRIG_TEST_DB`` names one) behave as two processes, on one host (shared memory) and on two
(the database polled)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from mocks.core.app import Runtime
from mocks.core.control import STALE_PROCESS, HostSignal
from mocks.core.metrics import BUCKETS_MS, SharedMetrics
from mocks.core.settings import Settings
from tests.core.conftest import NotesService
from tests.core.test_metrics import parse, requests_by
from tests.dbs import fresh_schema, require_postgres

T = "X-Examrig-Tenant"
Seen = list[tuple[str, int, float]]


def _pair(url: str, tmp_path: Path, host: HostSignal | None) -> tuple[list[NotesService], list[Seen]]:
    """Two processes of ``notes`` on ``url``, each recording what it observed (the test's own account)."""
    apps, seen = [], []
    for slot in range(2):
        settings = Settings(seed=3, shared_control=True, data_dir=str(tmp_path), services={"notes": {"workers": 4}})
        runtime = Runtime.create(settings, db=url)
        if host is not None:
            runtime.control.host = host
            runtime.control.poll = None
        # as `examrig serve --processes 2` does for TIS: each process runs its own share of the workers
        runtime.process_options["notes"] = {"workers": 2, "worker": slot == 0}
        app = NotesService(runtime)
        log: Seen = []
        observe = app.metrics.observe

        def record(route: str, status: int, ms: float, observe: Any = observe, log: Seen = log) -> None:
            log.append((route, status, ms))
            observe(route, status, ms)

        app.metrics.observe = record  # type: ignore[method-assign]
        apps.append(app)
        seen.append(log)
    return apps, seen


@pytest.fixture(params=["one host", "two hosts"])
def where(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'one.db'}" if request.param == "sqlite" else fresh_schema(require_postgres())


@pytest.fixture
def two(url: str, where: str, tmp_path: Path) -> Iterator[tuple[list[NotesService], list[Seen]]]:
    apps, seen = _pair(url, tmp_path, HostSignal() if where == "one host" else None)
    yield apps, seen
    for app in apps:
        app.runtime.control.close()
        app.runtime.store.dispose()


def _expected(seen: list[Seen]) -> tuple[dict[tuple[str, str], float], dict[Any, float], dict[str, float]]:
    """Requests by (route, status), cumulative buckets by (route, le) and sums by route, over every process."""
    requests: Counter[tuple[str, str]] = Counter()
    buckets: Counter[tuple[str, str]] = Counter()
    sums: Counter[str] = Counter()
    for route, status, ms in (item for log in seen for item in log):
        if route.startswith("admin:"):
            continue
        requests[(route, str(status))] += 1
        for bound in BUCKETS_MS:  # every bound of a route is shown, the empty ones too
            buckets[(route, f"{float(bound)}")] += 1 if ms <= bound else 0
        buckets[(route, "+Inf")] += 1
        sums[route] += ms
    return dict(requests), dict(buckets), dict(sums)


def _histogram(samples: dict[Any, float]) -> tuple[dict[Any, float], dict[str, float], dict[str, float]]:
    buckets, sums, counts = {}, {}, {}
    for (name, labels), value in samples.items():
        lab = dict(labels)
        if lab["route"].startswith("admin:"):
            continue
        if name == "examrig_request_duration_ms_bucket":
            buckets[(lab["route"], lab["le"])] = value
        elif name == "examrig_request_duration_ms_sum":
            sums[lab["route"]] = value
        elif name == "examrig_request_duration_ms_count":
            counts[lab["route"]] = value
    return buckets, sums, counts


def test_a_scrape_of_either_process_shows_the_traffic_of_both(two: tuple[list[NotesService], list[Seen]]) -> None:
    apps, seen = two
    assert all(isinstance(app.metrics, SharedMetrics) for app in apps)
    a, b = (Client(app) for app in apps)
    for i in range(12):
        (a if i % 3 else b).put(f"/notes/k{i}", data="v", headers={T: "m"})
    for i in range(5):
        (b if i % 2 else a).get(f"/notes/k{i}", headers={T: "m"})
    b.get("/notes/none", headers={T: "m"})
    assert all(any(not r.startswith("admin:") for r, _, _ in log) for log in seen)  # both served some
    want_requests, want_buckets, want_sums = _expected(seen)
    assert want_requests == {("put", "201"): 12, ("get", "200"): 5, ("get", "404"): 1}
    for client in (a, b, a):
        samples = parse(client.get("/_examrig/metrics").text)
        assert requests_by(samples, "notes") == want_requests
        buckets, sums, counts = _histogram(samples)
        assert buckets == want_buckets
        assert counts == {"put": 12, "get": 6}
        assert sums == pytest.approx(want_sums)
    # the scrapes themselves are counted too, once each, wherever they were answered
    last = parse(b.get("/_examrig/metrics").text)
    assert last[("examrig_requests_total", (("route", "admin:metrics"), ("service", "notes"), ("status", "200")))] == 3


def test_a_reset_through_one_forgets_the_counts_of_both(two: tuple[list[NotesService], list[Seen]]) -> None:
    apps, _ = two
    a, b = (Client(app) for app in apps)
    a.put("/notes/x", data="v", headers={T: "m"})
    b.put("/notes/y", data="v", headers={T: "m"})  # b's count not yet written when a resets
    assert a.post("/_examrig/reset", json={"all": True}).status_code == 200
    assert requests_by(parse(b.get("/_examrig/metrics").text), "notes") == {}
    b.get("/notes/x", headers={T: "m"})
    assert requests_by(parse(a.get("/_examrig/metrics").text), "notes") == {("get", "404"): 1}


def test_a_process_that_stops_leaves_its_counts(two: tuple[list[NotesService], list[Seen]]) -> None:
    apps, _ = two
    a, b = (Client(app) for app in apps)
    for _ in range(3):
        a.put("/notes/x", data="v", headers={T: "m"})
    b.put("/notes/y", data="v", headers={T: "m"})
    apps[0].runtime.control.close()  # a clean stop: writes what it counted, leaves the barrier's roll
    assert requests_by(parse(b.get("/_examrig/metrics").text), "notes") == {("put", "201"): 4}


def test_a_dead_process_keeps_what_it_wrote_and_loses_what_it_had_not(
        two: tuple[list[NotesService], list[Seen]]) -> None:
    apps, _ = two
    a, b = (Client(app) for app in apps)
    a.put("/notes/x", data="v", headers={T: "m"})
    assert requests_by(parse(b.get("/_examrig/metrics").text), "notes") == {("put", "201"): 1}  # a wrote it
    # a dies (kill -9): its flusher stops without writing, its heartbeat goes stale
    journal = apps[0].journal
    journal._stop.set()
    assert journal._thread is not None
    journal._thread.join(timeout=30)
    a.put("/notes/z", data="v", headers={T: "m"})  # counted in a's memory only, never written
    control = apps[0].runtime.control
    p = control.processes
    with control.store.begin() as conn:
        conn.execute(p.update().where(p.c.token == control.token).values(beat=time.time() - STALE_PROCESS - 1))
    b.put("/notes/y", data="v", headers={T: "m"})
    # counters are kept (as Prometheus's multiprocess mode keeps a dead process's counter files): the total
    # never goes backwards when a process dies, only its unwritten last second is lost
    assert requests_by(parse(b.get("/_examrig/metrics").text), "notes") == {("put", "201"): 2}


def test_config_agrees_and_shows_the_configured_options(two: tuple[list[NotesService], list[Seen]]) -> None:
    apps, _ = two
    assert [app.options["worker"] for app in apps] == [True, False]  # each runs its own share ...
    a, b = (Client(app) for app in apps)
    first, second = a.get("/_examrig/config").json, b.get("/_examrig/config").json
    assert first == second  # ... and both show what was configured
    assert first["options"] == {"workers": 4} and first["settings"]["services"]["notes"] == {"workers": 4}


def test_a_scrape_leaves_the_journal_entries_unwritten(two: tuple[list[NotesService], list[Seen]]) -> None:
    # the journal writes its entries only when a journal reader asks (docs/scale-out.md): a Prometheus scraper
    # every few seconds must not make every process write every exchange
    apps, _ = two
    a, b = (Client(app) for app in apps)
    for i in range(4):
        (a if i % 2 else b).put(f"/notes/j{i}", data="v", headers={T: "j"})
    assert requests_by(parse(b.get("/_examrig/metrics").text), "notes") == {("put", "201"): 4}
    j = apps[0].runtime.control.journal_t
    with apps[0].store.read() as conn:
        assert conn.execute(j.select()).all() == []
    assert len(a.get("/_examrig/journal", headers={T: "j"}).json["entries"]) == 4  # written when read
