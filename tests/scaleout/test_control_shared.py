"""Control state shared through the database: two runtimes on one SQLite file behave as two processes of one mock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug.test import Client

from mocks.core.app import Runtime
from mocks.core.control import HostSignal
from mocks.core.settings import Settings
from tests.core.conftest import NotesService

T = "X-Examrig-Tenant"


def _pair(tmp_path: Path, seed: int | None, host: HostSignal | None) -> list[NotesService]:
    apps = []
    for _ in range(2):
        settings = Settings(seed=seed, max_body=1024, shared_control=True, data_dir=str(tmp_path))
        runtime = Runtime.create(settings, db=f"sqlite:///{tmp_path / 'one.db'}")
        if host is not None:
            runtime.control.host = host
            runtime.control.poll = None
        apps.append(NotesService(runtime))
    return apps


@pytest.fixture
def two(tmp_path: Path) -> Iterator[list[NotesService]]:
    apps = _pair(tmp_path, 7, HostSignal())
    yield apps
    for app in apps:
        app.runtime.control.close()
        app.runtime.store.dispose()


def test_clock_frozen_through_one_is_read_through_the_other(two: list[NotesService]) -> None:
    a, b = (Client(app) for app in two)
    a.post("/_examrig/clock", json={"set": "2026-05-01T10:00:00Z"}, headers={T: "c"})
    seen = b.get("/_examrig/clock", headers={T: "c"}).json
    assert seen == {"tenant": "c", "now": "2026-05-01T10:00:00.000Z", "frozen": True}
    b.post("/_examrig/clock", json={"advance": 90}, headers={T: "c"})
    assert a.get("/_examrig/clock", headers={T: "c"}).json["now"] == "2026-05-01T10:01:30.000Z"
    assert two[1].clock.now("c") == datetime(2026, 5, 1, 10, 1, 30, tzinfo=UTC)
    assert a.get("/_examrig/clock", headers={T: "other"}).json["frozen"] is False
    bad = b.post("/_examrig/clock", json={"set": "9999-01-01T00:00:00Z"}, headers={T: "c"})
    assert bad.status_code == 400 and bad.json["error"]["field"] == "set"
    a.post("/_examrig/reset", json={"all": True})
    assert b.get("/_examrig/clock", headers={T: "c"}).json["frozen"] is False


def test_fault_added_through_one_applies_in_the_other_and_times_counts_across(two: list[NotesService]) -> None:
    a, b = (Client(app) for app in two)
    created = a.post("/_examrig/faults", json={"kind": "status", "status": 503, "route": "put", "times": 3},
                     headers={T: "f"})
    assert created.status_code == 201
    rule = created.json["faults"][0]["id"]
    statuses = [(a if i % 2 else b).put("/notes/k", data="v", headers={T: "f"}).status_code for i in range(5)]
    assert statuses == [503, 503, 503, 201, 201]
    listed = b.get("/_examrig/faults", headers={T: "f"}).json["faults"]
    assert [(r["id"], r["applied"]) for r in listed] == [(rule, 3)]
    assert b.get(f"/_examrig/faults/{rule}", headers={T: "f"}).status_code == 200
    assert b.delete(f"/_examrig/faults/{rule}", headers={T: "f"}).json == {"removed": 1}
    assert a.get("/_examrig/faults", headers={T: "f"}).json["faults"] == []


def test_probability_draws_one_stream_across_processes(tmp_path: Path) -> None:
    def run(where: Path) -> list[int]:
        where.mkdir()
        apps = _pair(where, 11, HostSignal())
        a, b = (Client(app) for app in apps)
        a.post("/_examrig/faults", json={"kind": "status", "status": 500, "probability": 0.5}, headers={T: "p"})
        out = [(a if i % 3 else b).put("/notes/k", data="v", headers={T: "p"}).status_code for i in range(40)]
        for app in apps:
            app.runtime.control.close()
            app.runtime.store.dispose()
        return out

    first, second = run(tmp_path / "1"), run(tmp_path / "2")
    assert first == second  # reproducible from the seed, whichever process drew
    assert 5 < first.count(500) < 35


def test_journal_shows_both_processes_in_one_order_and_reset_clears_all(two: list[NotesService]) -> None:
    a, b = (Client(app) for app in two)
    since = a.get("/_examrig/health", headers={T: "j"}).json["journal"]["next_seq"]
    for i in range(6):
        (a if i % 2 else b).put(f"/notes/n{i}", data="v", headers={T: "j"})
    window = b.get(f"/_examrig/journal?since={since}", headers={T: "j"}).json
    assert [e["path"] for e in window["entries"]] == [f"/notes/n{i}" for i in range(6)]
    seqs = [e["seq"] for e in window["entries"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 6 and window["overflow"] is False
    assert a.get("/_examrig/journal", headers={T: "j"}).json["count"] == 6
    verdict = a.post("/_examrig/journal/verify", json={"count": 6, "method": "PUT", "since": since},
                     headers={T: "j"}).json
    assert verdict["verdict"] == "pass"
    b.post("/_examrig/reset", headers={T: "j"})
    assert a.get("/_examrig/journal", headers={T: "j"}).json["count"] == 0


def test_journal_bound_counts_drops_across_processes(tmp_path: Path) -> None:
    host = HostSignal()
    apps = []
    for _ in range(2):
        settings = Settings(seed=1, max_body=1024, shared_control=True, journal_capacity=4)
        runtime = Runtime.create(settings, db=f"sqlite:///{tmp_path / 'j.db'}")
        runtime.control.host, runtime.control.poll = host, None
        apps.append(NotesService(runtime))
    try:
        a, b = (Client(app) for app in apps)
        for i in range(10):
            (a if i % 2 else b).put(f"/notes/n{i}", data="v")
            apps[i % 2].journal.barrier()  # each flush trims: the bound holds after every batch
        window = a.get("/_examrig/journal?since=1").json
        assert window["count"] == 4 and window["dropped"] == 6 and window["overflow"] is True
        assert [e["path"] for e in window["entries"]] == [f"/notes/n{i}" for i in range(6, 10)]
        check = b.post("/_examrig/journal/verify", json={"since": 1, "at_least": 1}).json
        assert check["verdict"] == "error" and check["code"] == "journal_overflow"
    finally:
        for app in apps:
            app.runtime.control.close()
            app.runtime.store.dispose()


def test_same_seed_gives_each_process_its_own_ids_and_one_secret(tmp_path: Path) -> None:
    apps = _pair(tmp_path, 5, HostSignal())
    try:
        first, second = (app.runtime for app in apps)
        assert first.ids.instance != second.ids.instance
        assert {first.ids.token(16) for _ in range(50)}.isdisjoint({second.ids.token(16) for _ in range(50)})
        assert first.ids.rng("policy").random() == second.ids.rng("policy").random()  # named streams agree
        local = first.control.secret("x", 5, lambda: "unused")
        assert local == second.control.secret("x", 5, lambda: "unused") != "unused"
    finally:
        for app in apps:
            app.runtime.control.close()
            app.runtime.store.dispose()


def test_without_seed_the_secret_is_drawn_once_and_stored(tmp_path: Path) -> None:
    apps = _pair(tmp_path, None, None)
    try:
        first, second = (app.runtime.control for app in apps)
        drawn = first.secret("signing", None, lambda: "unused")
        assert len(drawn) == 64 and second.secret("signing", None, lambda: "unused") == drawn
    finally:
        for app in apps:
            app.runtime.control.close()
            app.runtime.store.dispose()


def test_across_hosts_a_change_is_seen_after_the_poll_window(tmp_path: Path) -> None:
    # no shared memory between "hosts": the version row is polled (control_poll_ms)
    apps = _pair(tmp_path, 3, None)
    try:
        for app in apps:
            app.runtime.control.poll = 0.0  # poll on every look, for a deterministic test
        a, b = (Client(app) for app in apps)
        a.post("/_examrig/clock", json={"set": "2026-02-02T00:00:00Z"}, headers={T: "h"})
        assert b.get("/_examrig/clock", headers={T: "h"}).json["now"] == "2026-02-02T00:00:00.000Z"
        b.put("/notes/x", data="v", headers={T: "h"})
        assert a.get("/_examrig/journal", headers={T: "h"}).json["count"] == 1
    finally:
        for app in apps:
            app.runtime.control.close()
            app.runtime.store.dispose()


def test_tis_receiver_setting_changed_through_one_process_applies_in_the_other(tmp_path: Path) -> None:
    from mocks.tis.service import Service as TisService
    services = []
    for _ in range(2):
        settings = Settings(seed=2, shared_control=True)
        runtime = Runtime.create(settings, db=f"sqlite:///{tmp_path / 'tis.db'}")
        services.append(TisService(runtime, {"worker": False}))
    try:
        first, second = services
        assert second.model.config("t", cached=True).oauth is False  # cached in the second process
        assert Client(first).post("/_examrig/seed", json={"config": [{"oauth": True}]},
                                  headers={T: "t"}).status_code == 201
        assert second.model.config("t", cached=True).oauth is True
    finally:
        for service in services:
            service.runtime.control.close()
            service.runtime.store.dispose()
