"""PostgreSQL: a pooled connection that sat idle is pinged at check-out and replaced when the server dropped it;
one used a moment ago is handed out without a ping (mocks/core/store.py ``_ping_when_idle``)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from mocks.core import store as store_mod
from mocks.core.store import Store
from tests.dbs import fresh_schema, require_postgres


def _terminate(url: str, pid: int) -> None:
    import psycopg  # the postgresql extra: tox's py environment collects this module without it

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo.split("?")[0], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.mark.postgresql
def test_an_idle_connection_the_server_dropped_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    url = fresh_schema(require_postgres())
    store = Store(url)
    try:
        with store.read() as conn:
            pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        _terminate(url, pid)
        monkeypatch.setattr(store_mod, "IDLE_PING_SECONDS", 0.0)  # every pooled connection counts as idle
        with store.read() as conn:
            assert int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one()) != pid
    finally:
        store.dispose()


@pytest.mark.postgresql
def test_a_connection_used_a_moment_ago_is_not_pinged() -> None:
    url = fresh_schema(require_postgres())
    store = Store(url)
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: statements.append(statement))
    try:
        for _ in range(3):
            with store.read() as conn:
                conn.execute(text("SELECT 2"))
        assert statements == ["SELECT 2"] * 3  # no SELECT 1 before each check-out (pool_pre_ping did one)
    finally:
        store.dispose()
