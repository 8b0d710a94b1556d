"""Prepared statements run on the DBAPI cursor give what SQLAlchemy's execution gives."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, DateTime, Integer, String, bindparam, func, select, update

from mocks.core.sqlfast import Prepared
from mocks.core.store import IntegrityError, Store


def test_execute_scalar_first_and_a_literal_null(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/p.db")
    t = store.table("prep_row", Column("k", String(10), primary_key=True), Column("n", Integer),
                    Column("note", String(20)), Column("at", DateTime(timezone=True)))
    store.create_all()
    insert = Prepared(store.engine, t.insert(), ["tenant", "k", "n", "note", "at"])
    bump = Prepared(store.engine, update(t).where(t.c.tenant == bindparam("b_tenant"), t.c.k == bindparam("b_k"))
                    .values(n=t.c.n + 1, note=None))
    count = Prepared(store.engine, select(func.count()).select_from(t).where(t.c.tenant == bindparam("b_tenant")))
    one = Prepared(store.engine, select(t).where(t.c.tenant == bindparam("b_tenant"), t.c.k == bindparam("b_k")))
    at = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
    with store.begin() as conn:
        assert insert.execute(conn, {"tenant": "t", "k": "a", "n": 1, "note": "x", "at": at}) == 1
        assert insert.execute(conn, {"tenant": "t", "k": "b", "n": 5, "note": "y", "at": at}) == 1
        assert bump.execute(conn, {"b_tenant": "t", "b_k": "a"}) == 1
        assert bump.execute(conn, {"b_tenant": "t", "b_k": "zz"}) == 0
        with pytest.raises(IntegrityError):
            insert.execute(conn, {"tenant": "t", "k": "a", "n": 1, "note": "x", "at": at})
    with store.read() as conn:
        assert count.scalar(conn, {"b_tenant": "t"}) == 2
        assert count.scalar(conn, {"b_tenant": "other"}) == 0
        expected = dict(conn.execute(select(t).where(t.c.k == "a")).mappings().one())
        got = one.first(conn, {"b_tenant": "t", "b_k": "a"})
        assert got == expected and got["n"] == 2 and got["note"] is None  # note=None written as NULL
        assert got["at"].replace(tzinfo=UTC) == at
        assert one.first(conn, {"b_tenant": "t", "b_k": "zz"}) is None
    store.dispose()
