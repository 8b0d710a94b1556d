"""Core statements compiled once for the store's dialect and run on the DBAPI cursor (the service's hot paths)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from sqlalchemy.pool import StaticPool

from mocks.core.sqlfast import Prepared
from mocks.core.store import Store

__all__ = ["Prepared", "Readers", "read_one"]



class Readers:
    """Autocommit connections to a SQLite database file, kept for single-statement reads and reused.

    Checking a connection out of SQLAlchemy's pool and back in (with its reset) costs
    about as much as the SELECT of ``GET Attempts(n)`` itself. These connections are
    opened with the same settings as the store's (busy timeout, autocommit) plus
    ``query_only`` (they never write) and a memory map of the database file (random
    reads over a large store stay off the per-connection page cache). Idle ones wait
    in a list (``list.pop``/``append`` are atomic), so a request never blocks on
    another and no more are open than requests ran at once; :meth:`close` closes the
    idle ones (the service calls it on stop, when the server has no request in
    flight) and later reads open new ones. Anything else than a plain SQLite file URL
    (memory, URI options, PostgreSQL) is not handled here: :attr:`enabled` is false.
    """

    MAX_IDLE = 64
    MMAP_BYTES = 256 * 1024 * 1024

    def __init__(self, store: Store) -> None:
        url = store.engine.url
        plain_file = (url.get_backend_name() == "sqlite" and url.get_driver_name() == "pysqlite" and not url.query
                      and url.database not in (None, "", ":memory:")
                      and not isinstance(store.engine.pool, StaticPool))
        self.path: str | None = url.database if plain_file else None
        self._idle: list[sqlite3.Connection] = []

    @property
    def enabled(self) -> bool:
        """Whether reads go through these connections."""
        return self.path is not None

    def _open(self) -> sqlite3.Connection:
        assert self.path is not None
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        conn.execute(f"PRAGMA mmap_size={self.MMAP_BYTES}")
        return conn

    def first(self, prepared: Prepared, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row of ``prepared`` run on an idle connection (opened when none is idle)."""
        try:
            conn = self._idle.pop()
        except IndexError:
            conn = self._open()
        try:
            # sqlite3's own shortcut (a cursor made and executed in one call), one row fetched: a read is
            # query_only, so none of _rows' IntegrityError handling applies
            cursor = conn.execute(prepared.sql, prepared.args(params))
            try:
                row = prepared.row_of(cursor)
            finally:
                cursor.close()
        except BaseException:
            conn.close()
            raise
        if len(self._idle) < self.MAX_IDLE:
            self._idle.append(conn)
        else:
            conn.close()
        return row

    def close(self) -> None:
        """Close the idle connections (call it when no read is in flight)."""
        while self._idle:
            try:
                self._idle.pop().close()
            except IndexError:
                break

    @property
    def idle(self) -> int:
        """How many connections wait for the next read."""
        return len(self._idle)


def read_one(store: Store, prepared: Prepared, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """A single-statement read: on a pooled connection in autocommit when the store allows it.

    One SELECT is consistent on its own, so it needs no BEGIN/COMMIT round trip: on a
    file SQLite database (connections in autocommit) and on PostgreSQL (the pool
    rolls back the implicit transaction on return) it runs on a raw pooled
    connection. The in-memory database is one connection shared behind the store's
    lock, so there it goes through ``store.read()``.
    """
    if isinstance(store.engine.pool, StaticPool):
        with store.read() as conn:
            return prepared.first(conn, params)
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            rows = prepared._rows(cursor, params)
        finally:
            cursor.close()
    finally:
        raw.close()
    return rows[0] if rows else None
