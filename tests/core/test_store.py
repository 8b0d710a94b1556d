"""Store: tenant-scoped tables, commit before acknowledgement, counters, unreachable databases."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, create_engine, select, text

from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.core.store import IntegrityError, Store, StoreUnavailable
from tests.core.conftest import NotesService


def test_every_table_gets_a_tenant_column_in_its_key(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    table = store.table("thing", Column("key", String(10), primary_key=True))
    assert [c.name for c in table.primary_key.columns] == ["tenant", "key"]
    assert store.table("thing") is table
    auto = store.table("log", Column("id", Integer, primary_key=True, autoincrement=True), tenant_in_pk=False)
    assert [c.name for c in auto.primary_key.columns] == ["id"] and auto.c.tenant.index


def test_write_is_committed_before_the_response_leaves(tmp_path: Path) -> None:
    """A second, independent connection sees the row the moment the 2xx is returned."""
    db = tmp_path / "ack.db"
    runtime = Runtime.create(Settings(), db=f"sqlite:///{db}")
    app = NotesService(runtime)
    from werkzeug.test import Client
    response = Client(app).put("/notes/k", data="durable", headers={"X-Examrig-Tenant": "d"})
    assert response.status_code == 201
    other = create_engine(f"sqlite:///{db}")
    with other.connect() as conn:
        rows = conn.execute(text("SELECT tenant, key, value FROM core_test_note")).all()
    assert [tuple(r) for r in rows] == [("d", "k", "durable")]
    mode = other.connect().execute(text("PRAGMA journal_mode")).scalar()
    assert mode == "wal"
    other.dispose()
    runtime.store.dispose()


def test_failed_block_rolls_back(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    t = store.table("r", Column("key", String(10), primary_key=True))
    store.create_all()
    with pytest.raises(RuntimeError), store.begin() as conn:
        conn.execute(t.insert().values(tenant="x", key="k"))
        raise RuntimeError("abort")
    with store.read() as conn:
        assert conn.execute(select(t)).all() == []


def test_unique_constraint_holds_under_concurrent_writers(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'u.db'}")
    t = store.table("u", Column("key", String(10), primary_key=True))
    store.create_all()
    results: list[str] = []
    barrier = threading.Barrier(8)

    def insert() -> None:
        barrier.wait()
        try:
            with store.begin() as conn:
                conn.execute(t.insert().values(tenant="x", key="same"))
            results.append("ok")
        except IntegrityError:
            results.append("dup")

    threads = [threading.Thread(target=insert) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == ["dup"] * 7 + ["ok"]


def test_counters_are_per_tenant() -> None:
    store = Store("sqlite://")
    store.create_all()
    with store.begin() as conn:
        values = [store.next_value(conn, "a", "opp", 5_000_001) for _ in range(3)]
        other = store.next_value(conn, "b", "opp", 5_000_001)
    assert values == [5_000_001, 5_000_002, 5_000_003] and other == 5_000_001


def test_reset_by_tenant_and_all() -> None:
    store = Store("sqlite://")
    t = store.table("z", Column("key", String(10), primary_key=True))
    store.create_all()
    with store.begin() as conn:
        conn.execute(t.insert(), [{"tenant": "a", "key": "1"}, {"tenant": "b", "key": "1"}])
    store.reset([t], "a")
    with store.read() as conn:
        assert [r.tenant for r in conn.execute(select(t))] == ["b"]
    store.reset([t])
    with store.read() as conn:
        assert conn.execute(select(t)).all() == []


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    with pytest.raises(StoreUnavailable, match="unable to open database"):
        store.check()


def test_a_database_locked_by_another_process_is_sqlalchemys_operational_error(tmp_path: Path) -> None:
    import sqlite3

    from sqlalchemy import event

    from mocks.core.store import OperationalError

    store = Store(f"sqlite:///{tmp_path}/locked.db")
    notes = store.table("locked_note", Column("k", String(10), primary_key=True))
    store.create_all()
    store.dispose()  # new connections from here on get the short busy timeout below
    event.listen(store.engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA busy_timeout=50"))
    other = sqlite3.connect(f"{tmp_path}/locked.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        with pytest.raises(OperationalError, match="locked"), store.begin() as conn:
            conn.execute(notes.insert().values(tenant="t", k="a"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    with store.begin() as conn:  # and once it is free again, writes go through
        conn.execute(notes.insert().values(tenant="t", k="a"))
    store.dispose()


def test_writers_share_one_connection_and_a_broken_one_is_replaced(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/writer.db")
    notes = store.table("writer_note", Column("k", String(10), primary_key=True))
    store.create_all()
    with store.begin() as first:
        first.execute(notes.insert().values(tenant="t", k="a"))
    with store.begin() as second:
        second.execute(notes.insert().values(tenant="t", k="b"))
    assert second is first  # no pool check-out per write
    with pytest.raises(RuntimeError), store.begin() as conn:
        conn.execute(notes.insert().values(tenant="t", k="c"))
        conn.invalidate()  # as SQLAlchemy does when the DBAPI connection breaks
        raise RuntimeError("broken")
    with store.begin() as third:
        third.execute(notes.insert().values(tenant="t", k="d"))
    assert third is not first
    with store.read() as conn:
        assert sorted(r[0] for r in conn.execute(select(notes.c.k))) == ["a", "b", "d"]  # c was never committed
    store.dispose()
