"""Core statements compiled once for the store's dialect and run on the DBAPI cursor (the service's hot paths)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.expression import ClauseElement

from mocks.core.store import Store

Processor = Callable[[Any], Any]


class Prepared:
    """One SQLAlchemy Core statement, compiled once, executed without SQLAlchemy's per-call work.

    SQLAlchemy builds, caches and compiles: a statement costs it 30 to 100 µs a call
    in Python (cache key, execution context, result set-up). The service's hot paths
    (GET Attempts(n), POST Attempts) run a handful of fixed statements, so they are
    compiled here once with the store's dialect, and each call applies the same
    bind and result processors SQLAlchemy would (DateTime and Boolean on SQLite)
    and runs the SQL on the connection's DBAPI cursor. Parameters are plain
    (no ``IN`` expansion). A DBAPI ``IntegrityError`` is re-raised as SQLAlchemy's.
    """

    def __init__(self, engine: Engine, stmt: ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        dialect = engine.dialect
        keys = list(column_keys) if column_keys is not None else None
        compiled: Any = stmt.compile(dialect=dialect, column_keys=keys)
        self.sql = str(compiled)
        self.positional = bool(compiled.positional)
        self.order: list[str] = list(compiled.positiontup or []) if self.positional else []
        # values fixed in the statement itself (``value + 1``) and the caller's names
        self.defaults: dict[str, Any] = {name: p.value for name, p in compiled.binds.items()
                                         if p.value is not None and not p.required}
        self.bind: dict[str, Processor] = {}
        for name, param in compiled.binds.items():
            proc = param.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                self.bind[name] = proc
        columns = list(getattr(stmt, "selected_columns", None) or [])
        returning = getattr(stmt, "_returning", ())
        if returning:
            columns = list(returning)
        self.keys: list[str] = [str(c.key) for c in columns]
        self.result: list[Processor | None] = [c.type.dialect_impl(dialect).result_processor(dialect, None)
                                               for c in columns]
        self.processed: list[tuple[str, Processor]] = [(k, p) for k, p in zip(self.keys, self.result, strict=True)
                                                       if p is not None]
        self.dbapi_integrity: type[Exception] = dialect.dbapi.IntegrityError  # type: ignore[union-attr]

    def _args(self, params: Mapping[str, Any]) -> Any:
        if self.defaults:
            params = {**self.defaults, **params}
        if self.bind:
            params = {k: (self.bind[k](v) if k in self.bind else v) for k, v in params.items()}
        if self.positional:
            return tuple(params[name] for name in self.order)
        return params

    def _rows(self, cursor: Any, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        try:
            cursor.execute(self.sql, self._args(params))
        except self.dbapi_integrity as exc:
            raise IntegrityError(self.sql, dict(params), exc) from exc
        if not self.keys:
            return []
        rows = [dict(zip(self.keys, row, strict=True)) for row in cursor.fetchall()]
        # only the columns that have a processor (booleans and datetimes on SQLite) are touched again
        for key, proc in self.processed:
            for row in rows:
                value = row[key]
                if value is not None:
                    row[key] = proc(value)
        return rows

    def run(self, conn: Connection, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Execute inside the caller's transaction (``store.begin()`` / ``store.read()``); rows as dicts."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            return self._rows(cursor, params)
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row, or ``None``."""
        rows = self.run(conn, params)
        return rows[0] if rows else None


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
            cursor = conn.cursor()
            try:
                rows = prepared._rows(cursor, params)
            finally:
                cursor.close()
        except BaseException:
            conn.close()
            raise
        if len(self._idle) < self.MAX_IDLE:
            self._idle.append(conn)
        else:
            conn.close()
        return rows[0] if rows else None

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
