"""The store's concurrency primitives raced on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, select

from mocks.core.store import Store
from tests.races.conftest import N, errors, race


def _store(url: str) -> tuple[Store, Table]:
    store = Store(url)
    table = store.table("race_kv", Column("k", String(20), primary_key=True), Column("v", Integer, nullable=False))
    store.create_all()
    return store, table


def test_reads_then_writes_under_a_named_lock_lose_nothing(db_url: str) -> None:
    store, t = _store(db_url)
    with store.begin() as conn:
        conn.execute(t.insert().values(tenant="t", k="n", v=0))

    def bump(_: int) -> None:
        with store.begin() as conn:
            store.lock(conn, "t", "counter")
            value = conn.execute(select(t.c.v).where(t.c.tenant == "t", t.c.k == "n")).scalar_one()
            conn.execute(t.update().where(t.c.tenant == "t", t.c.k == "n").values(v=value + 1))

    assert errors(race(N, bump)) == []
    with store.read() as conn:
        assert conn.execute(select(t.c.v)).scalar_one() == N
    store.dispose()


def test_concurrent_upserts_of_one_key_never_fail(db_url: str) -> None:
    store, t = _store(db_url)

    def put(i: int) -> None:
        with store.begin() as conn:
            store.upsert(conn, t, {"tenant": "t", "k": "one", "v": i}, ("tenant", "k"))

    assert errors(race(N, put)) == []
    with store.read() as conn:
        rows = conn.execute(select(t.c.v)).all()
    assert len(rows) == 1 and 0 <= rows[0][0] < N
    store.dispose()


def test_concurrent_counters_hand_out_each_value_once(db_url: str) -> None:
    store, _ = _store(db_url)

    def take(_: int) -> int:
        with store.begin() as conn:
            return store.next_value(conn, "t", "race")

    values = race(N, take)
    assert errors(values) == [] and sorted(values) == list(range(1, N + 1))
    store.dispose()
