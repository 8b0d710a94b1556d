"""Idempotency keys on TIS's deliveries: the header, its parsing, and the receivers' ledger (no HTTP here).

TIS sends every outbox delivery (DW post, TDS acknowledgement, THSS upload) with ``Idempotency-Key``, the same
key on every resend of that delivery (after a crash too). examrig's own receivers (the dw and tds mocks) keep a
:class:`Ledger` of the keys they answered, written in the transaction of the effect, and answer a repeat with the
stored answer and no second effect. Real RDW and TDS have no such header: against a receiver that ignores it, the
one send in flight at a crash is delivered at least once. The ledger is generic and lives in ``mocks.core`` because
two mocks (tds, dw) keep one and TIS sends the header: no mock imports another's package (DESIGN.md). It is a
table of the store, so every process of a mock served with ``--processes N`` (or on several hosts over one
PostgreSQL) sees the same keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, Connection, DateTime, Integer, LargeBinary, String, Table, bindparam, select

from mocks.core.errors import Conflict, InputError
from mocks.core.store import IntegrityError, Store

R = TypeVar("R")

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
MAX_KEY = 255


@dataclass(frozen=True)
class Keyed:
    """A request that carries a key: the key and a fingerprint of what it asked (method, path, query, body)."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class Answer:
    """What a receiver answered (and answers again to a repeat of the key)."""

    status: int
    body: bytes = b""
    content_type: str | None = None


EMPTY_200 = Answer(200)


@dataclass(frozen=True)
class Applied(Generic[R]):
    """The outcome of :meth:`Ledger.apply`: the effect's result (``None`` on a replay), the answer to send."""

    result: R | None
    answer: Answer
    replayed: bool


class KeyReused(Exception):
    """The key was first used for a different request (another body, path or query)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class KeyConflict(Conflict):
    """The answer to :class:`KeyReused` (409, each receiver's error format; the field is the header)."""

    code = "idempotency_key_reused"
    template = ("Idempotency-Key '{key}' was already used for a different request (another body, path or query); "
                "a key names one request")


def parse_key(value: str | None) -> str | None:
    """The key of an ``Idempotency-Key`` header value (RFC 8941 sf-string, quoted, or a bare token); ``None`` when
    absent. Raises :class:`InputError` naming the header when it is empty, too long or not printable ASCII.
    """
    if value is None:
        return None
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key:
        raise InputError(HEADER, "must not be empty")
    if len(key) > MAX_KEY:
        raise InputError(HEADER, f"must be at most {MAX_KEY} characters")
    if any(not 0x20 <= ord(ch) <= 0x7E or ch in '"\\' for ch in key):
        raise InputError(HEADER, "must be printable ASCII without quotes or backslashes")
    return key


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests with one key the same request."""
    digest = hashlib.sha256(f"{method.upper()} {path}?{query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def wire_value(key: str) -> str:
    """The header value TIS sends: the key as an RFC 8941 sf-string."""
    return f'"{key}"'


class Ledger:
    """The keys a receiver answered, per tenant, with the answer; used inside the effect's transaction."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.table: Table = store.table(
            name,
            Column("key", String(MAX_KEY), primary_key=True),
            Column("fingerprint", String(64), nullable=False),
            Column("status", Integer, nullable=False),
            Column("content_type", String(200)),
            Column("body", LargeBinary, nullable=False),
            Column("recorded", DateTime(timezone=True), nullable=False),
        )
        t = self.table
        self._q_find = select(t.c.fingerprint, t.c.status, t.c.content_type, t.c.body).where(
            t.c.tenant == bindparam("b_tenant"), t.c.key == bindparam("b_key"))
        self._q_insert = t.insert()

    def replay(self, conn: Connection, tenant: str, keyed: Keyed) -> Answer | None:
        """The stored answer for a repeat of ``keyed`` (``None`` for a first use); raises :class:`KeyReused`."""
        row = conn.execute(self._q_find, {"b_tenant": tenant, "b_key": keyed.key}).first()
        if row is None:
            return None
        if row[0] != keyed.fingerprint:
            raise KeyReused(keyed.key)
        return Answer(int(row[1]), bytes(row[3]), row[2])

    def find(self, tenant: str, keyed: Keyed) -> Answer | None:
        """:meth:`replay` in a read transaction of its own (after a concurrent first use won the insert)."""
        with self.store.read() as conn:
            return self.replay(conn, tenant, keyed)

    def remember(self, conn: Connection, tenant: str, keyed: Keyed, answer: Answer, now: datetime) -> None:
        """Record the answer of a first use, in the caller's transaction (the one holding the effect)."""
        values: dict[str, Any] = {"tenant": tenant, "key": keyed.key, "fingerprint": keyed.fingerprint,
                                  "status": answer.status, "content_type": answer.content_type,
                                  "body": answer.body, "recorded": now}
        conn.execute(self._q_insert, values)

    def apply(self, tenant: str, keyed: Keyed | None, now: datetime,
              effect: Callable[[Connection], tuple[R, Answer]]) -> Applied[R]:
        """Run ``effect`` (its result and the answer it gives) in one write transaction with the key's record.

        A repeat of the key returns the stored answer without running ``effect``; a key first used for another
        request raises :class:`KeyReused`. An ``IntegrityError`` of the effect itself propagates (rolled back),
        unless a concurrent first use of the same key won: then that one's answer is replayed.
        """
        try:
            with self.store.begin() as conn:
                if keyed is not None:
                    stored = self.replay(conn, tenant, keyed)
                    if stored is not None:
                        return Applied(None, stored, True)
                result, answer = effect(conn)
                if keyed is not None:
                    self.remember(conn, tenant, keyed, answer, now)
                return Applied(result, answer, False)
        except IntegrityError:
            stored = self.find(tenant, keyed) if keyed is not None else None
            if stored is None:
                raise
            return Applied(None, stored, True)


__all__ = [
    "EMPTY_200",
    "HEADER",
    "MAX_KEY",
    "REPLAY_HEADER",
    "Answer",
    "Applied",
    "KeyConflict",
    "KeyReused",
    "Keyed",
    "Ledger",
    "fingerprint",
    "parse_key",
    "wire_value",
]
