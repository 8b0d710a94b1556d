"""SQLAlchemy Core statements compiled once for the store's dialect and run on the DBAPI cursor (hot paths)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.expression import ClauseElement

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
        # the positional arguments in one C call (itemgetter of one name gives the value, not a tuple)
        self._positional_args: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None = None
        if len(self.order) > 1:
            self._positional_args = itemgetter(*self.order)
        # values fixed in the statement itself (``value + 1``) and the caller's names
        # (``plan=None`` in ``values()`` is such a value too: a literal NULL, not a missing parameter)
        self.defaults: dict[str, Any] = {name: p.value for name, p in compiled.binds.items()
                                         if not p.required and p.callable is None}
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

    def args(self, params: Mapping[str, Any]) -> Any:
        """The DBAPI parameters of a call (defaults and bind processors applied, in order when positional)."""
        if self.defaults:
            params = {**self.defaults, **params}
        if self.bind:
            params = {k: (self.bind[k](v) if k in self.bind else v) for k, v in params.items()}
        if self.positional:
            if self._positional_args is not None:
                return self._positional_args(params)
            return tuple(params[name] for name in self.order)
        return params

    def _rows(self, cursor: Any, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        try:
            cursor.execute(self.sql, self.args(params))
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

    def row_of(self, cursor: Any) -> dict[str, Any] | None:
        """The next row of a cursor this statement was executed on, as :meth:`_rows` gives it (None: no row)."""
        row = cursor.fetchone()
        if row is None:
            return None
        out = dict(zip(self.keys, row, strict=True))
        for key, proc in self.processed:
            value = out[key]
            if value is not None:
                out[key] = proc(value)
        return out

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

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute a statement that returns no rows inside the caller's transaction; the row count."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            try:
                cursor.execute(self.sql, self.args(params))
            except self.dbapi_integrity as exc:
                raise IntegrityError(self.sql, dict(params), exc) from exc
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def scalar(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or ``None``."""
        row = self.first(conn, params)
        return None if row is None else row[self.keys[0]]
