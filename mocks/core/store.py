"""Tenant-scoped state in a database through SQLAlchemy Core (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.pool import StaticPool

TENANT_LEN = 64
MEMORY_URL = "sqlite://"

__all__ = ["MEMORY_URL", "IntegrityError", "OperationalError", "Store", "StoreUnavailable", "normalise_url"]


class StoreUnavailable(RuntimeError):
    """The database cannot be reached or opened."""


class Store:
    """One database shared by the mocks of a process.

    Every table made with :meth:`table` carries a ``tenant`` column first, and every
    reset is by tenant or whole. Writes go through :meth:`begin`, which commits when
    the block ends, so a view that returns after it has made its write durable before
    the response leaves. On SQLite the database runs in WAL mode, write transactions
    start with ``BEGIN IMMEDIATE`` (no lock upgrades, no deadlocks between writers)
    and readers never block; an in-memory database is shared by all threads behind
    one lock. Nothing here is SQLite-specific beyond those connection settings, so
    the same code runs on PostgreSQL given a URL.
    """

    def __init__(self, url: str | None = None, *, data_dir: str | Path = ".examrig",
                 synchronous: str = "NORMAL") -> None:
        if url is None:
            directory = Path(data_dir)
            directory.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{directory / 'examrig.db'}"
        url = normalise_url(url)
        self.url = url
        self.metadata = MetaData()
        self._memory = url in (MEMORY_URL, "sqlite:///:memory:", "memory")
        self._lock = threading.RLock() if self._memory else None
        self.is_sqlite = url.startswith("sqlite") or self._memory
        # SQLite has one writer at a time; queueing writers of this process on a lock avoids the
        # busy handler's sleeps (tens of ms at p99); other processes still wait on busy_timeout
        self._write_lock = threading.Lock() if self.is_sqlite and not self._memory else None
        self._writer: Connection | None = None  # the writers' connection (SQLite file only)
        self.is_postgres = url.startswith("postgresql")
        if self._memory:
            self.engine: Engine = create_engine(
                MEMORY_URL, poolclass=StaticPool, connect_args={"check_same_thread": False})
        elif self.is_sqlite:
            self.engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                        pool_size=20, max_overflow=40)
        else:
            try:
                # READ COMMITTED (PostgreSQL's default, named so a server default cannot change it): every rule
                # that reads then writes locks what it reads (FOR UPDATE, docs/postgresql.md), and each statement
                # after a lock wait sees what the other transaction committed
                self.engine = create_engine(url, pool_size=20, max_overflow=40,
                                            isolation_level="READ COMMITTED" if self.is_postgres else None)
            except ModuleNotFoundError as exc:  # the URL's driver is not installed (psycopg for postgresql+psycopg)
                raise StoreUnavailable(_missing_driver(url, exc)) from None
            except Exception as exc:  # a malformed URL, an unknown dialect
                raise StoreUnavailable(f"cannot use database URL {url!r}: {_one_line(exc)}") from None
        if self.is_sqlite:
            self._configure_sqlite(synchronous)
        else:
            _ping_when_idle(self.engine)
        self.counters = self.table(
            "examrig_counter",
            Column("name", String(100), primary_key=True),
            Column("value", Integer, nullable=False),
        )

    def _configure_sqlite(self, synchronous: str) -> None:
        memory = self._memory

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # let SQLAlchemy's begin event emit BEGIN itself (the pysqlite recipe)
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Connection) -> None:
            readonly = conn.get_execution_options().get("examrig_readonly", False)
            statement = "BEGIN" if readonly or memory else "BEGIN IMMEDIATE"
            # straight on the DBAPI connection: SQLAlchemy's execution path costs more than the BEGIN
            try:
                conn.connection.driver_connection.execute(statement)  # type: ignore[union-attr]
            except sqlite3.OperationalError as exc:  # e.g. the database stayed locked past busy_timeout
                raise OperationalError(statement, None, exc) from exc

    # -- schema ----------------------------------------------------------------------

    def table(self, name: str, *columns: Any, tenant_in_pk: bool = True, **kwargs: Any) -> Table:
        """Define (or return the already defined) tenant-scoped table ``name``.

        The ``tenant`` column comes first and is part of the primary key whenever
        the given columns declare one, unless ``tenant_in_pk`` is false (a table
        keyed by an autoincrement id).
        """
        existing = self.metadata.tables.get(name)
        if existing is not None:
            return existing
        has_pk = tenant_in_pk and any(getattr(c, "primary_key", False) for c in columns)
        tenant = Column("tenant", String(TENANT_LEN), nullable=False, primary_key=has_pk, index=not has_pk)
        return Table(name, self.metadata, tenant, *columns, **kwargs)

    def create_all(self) -> None:
        """Create every defined table that does not exist yet (the one migration step: docs/postgresql.md).

        Safe when several processes start together on an empty database: on PostgreSQL they queue on a
        transaction-level advisory lock (each then finds what the one before created); on SQLite, where DDL is
        transactional but two creators can both see a table missing, a loser's "already exists" is retried.
        """
        for attempt in range(5):
            try:
                with self._guard():
                    if self.is_postgres:
                        with self.engine.begin() as conn:
                            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _DDL_LOCK})
                            self.metadata.create_all(conn)
                    else:
                        self.metadata.create_all(self.engine)
                return
            except (OperationalError, ProgrammingError, IntegrityError) as exc:
                if attempt < 4 and "already exists" in str(exc.orig):
                    continue  # another process created it meanwhile: look again
                raise StoreUnavailable(_one_line(exc)) from exc

    def check(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers."""
        try:
            with self.read() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise StoreUnavailable(_one_line(exc)) from exc

    # -- transactions ----------------------------------------------------------------

    @contextmanager
    def _guard(self) -> Iterator[None]:
        if self._lock is None:
            yield
            return
        with self._lock:
            yield

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends (rolled back on error)."""
        if self._write_lock is not None:
            # SQLite has one writer at a time and this process queues its writers on the lock, so one
            # connection serves them all: no pool check-out, and no reset (a ROLLBACK) on every return
            with self._write_lock:
                conn = self._writer
                if conn is None or conn.closed or conn.invalidated:
                    conn = self._writer = self.engine.connect()
                try:
                    with conn.begin():
                        yield conn
                finally:
                    if conn.invalidated:  # the DBAPI connection broke: the next writer opens a new one
                        conn.close()
                        self._writer = None
            return
        with self._guard(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (never takes the SQLite write lock)."""
        with self._guard(), self.engine.connect() as raw:
            conn = raw.execution_options(examrig_readonly=True)
            with conn.begin():
                yield conn

    def next_value(self, conn: Connection, tenant: str, name: str, start: int = 1) -> int:
        """The next value of a per-tenant counter, inside the caller's transaction.

        One atomic ``UPDATE … RETURNING`` in the common case, so concurrent transactions on
        PostgreSQL never hand out the same value; the first use inserts ``start`` (in a
        savepoint, so a concurrent first use only retries the update).
        """
        c = self.counters
        bump = (update(c).where(c.c.tenant == tenant, c.c.name == name)
                .values(value=c.c.value + 1).returning(c.c.value))
        row = conn.execute(bump).first()
        if row is not None:
            return int(row[0])
        try:
            with conn.begin_nested():
                conn.execute(c.insert().values(tenant=tenant, name=name, value=start))
            return start
        except IntegrityError:
            row = conn.execute(bump).first()
            assert row is not None
            return int(row[0])

    def lock(self, conn: Connection, *name: str) -> None:
        """Hold a named lock until the caller's write transaction ends (a rule's critical section).

        For a rule that reads several rows and then writes, where no one row stands for what it reads (an
        opportunity's unsent work, an institution's bookings): PostgreSQL's ``pg_advisory_xact_lock`` on a
        64-bit hash of the name, released by the commit or rollback. On SQLite the write transaction itself
        holds the database's one write lock from ``BEGIN IMMEDIATE`` on (across processes too), which is the
        same critical section with a coarser grain: nothing to add.
        """
        if self.is_postgres:
            digest = hashlib.blake2b("\x1f".join(name).encode("utf-8"), digest_size=8).digest()
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int.from_bytes(digest, "big", signed=True)})

    def upsert(self, conn: Connection, table: Table, values: dict[str, Any], keys: Iterable[str]) -> None:
        """Insert ``values``, or update the row with the same ``keys`` (one atomic ``INSERT … ON CONFLICT DO
        UPDATE`` on both databases: concurrent writers of one key never fail, the last one wins)."""
        from sqlalchemy.dialects import postgresql, sqlite

        key_list = list(keys)
        insert = (postgresql.insert(table) if self.is_postgres else sqlite.insert(table)).values(**values)
        changed = {k: v for k, v in values.items() if k not in key_list}
        stmt = (insert.on_conflict_do_update(index_elements=key_list, set_=changed) if changed
                else insert.on_conflict_do_nothing(index_elements=key_list))
        conn.execute(stmt)

    def reset(self, tables: Iterable[Table], tenant: str | None = None) -> None:
        """Delete the rows of ``tables``: one tenant's, or all."""
        with self.begin() as conn:
            for table in reversed(list(tables)):
                stmt = table.delete()
                if tenant is not None:
                    stmt = stmt.where(table.c.tenant == tenant)
                conn.execute(stmt)

    def dispose(self) -> None:
        """Close every pooled connection and the writers' (after the servers have stopped)."""
        if self._write_lock is not None:
            with self._write_lock:
                if self._writer is not None:
                    self._writer.close()
                    self._writer = None
        self.engine.dispose()

    def describe(self) -> str:
        """The URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)


# a pooled server connection unused for this long is pinged before it is handed out (see _ping_when_idle)
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection at check-out only when it sat idle in the pool for ``IDLE_PING_SECONDS``.

    ``pool_pre_ping`` pings on every check-out: one more round trip per transaction (on PostgreSQL a third of a
    TIS worker's round trips). The connections at risk are the idle ones (a server restart, an idle timeout, a
    proxy dropping them); one in use a moment ago is as good as its last statement, and a connection that breaks
    mid-use invalidates the pool anyway (SQLAlchemy's disconnect handling). SQLAlchemy's pessimistic recipe:
    a ``checkout`` listener raising ``DisconnectionError`` makes the pool replace the connection and retry.
    """
    from sqlalchemy.exc import DisconnectionError

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["examrig_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("examrig_idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new, or used a moment ago
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()  # psycopg opened a transaction for the SELECT: the pool hands out none
        except Exception as exc:
            raise DisconnectionError(str(exc)) from exc


# the advisory lock key that serialises schema creation on PostgreSQL (any fixed 64-bit value: "examrig")
_DDL_LOCK = int.from_bytes(b"examrig", "big")


def normalise_url(url: str) -> str:
    """A PostgreSQL URL without a driver (``postgresql://``, ``postgres://``) names psycopg 3, the driver examrig
    declares (the ``postgresql`` extra), not SQLAlchemy's default psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _missing_driver(url: str, exc: ModuleNotFoundError) -> str:
    if url.startswith("postgresql"):
        return (f"PostgreSQL needs the psycopg driver (module {exc.name!r} not found): "
                "pip install 'examrig[postgresql]', and use a postgresql+psycopg:// URL")
    return f"the database driver for {url.split(':', 1)[0]!r} is not installed (module {exc.name!r} not found)"


def _one_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc)
    return text_.strip().splitlines()[0] if text_.strip() else type(exc).__name__
