"""TDS test opportunities and the rules by which a TIS reply changes them (no HTTP here)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, Connection, DateTime, Integer, String, Table, Text, bindparam, select, update

from mocks.core import sabotage
from mocks.core.clock import Clock, iso
from mocks.core.errors import InputError
from mocks.core.idempotency import EMPTY_200, HEADER, Answer, Keyed, Ledger
from mocks.core.store import IntegrityError, Store

STATUSES = frozenset({
    "pending", "suspended", "approved", "denied", "started", "paused", "review", "completed",
    "submitted", "reported", "scored", "expired", "expiredReported", "invalidated", "rescored", "closed",
})


class SeedError(InputError):
    """Seed data that cannot be loaded; ``field`` names the offending property."""


@dataclass(frozen=True)
class TisReply:
    """The acknowledgement TIS sends to TDS's status callback."""

    opp_key: str
    success: bool
    error: str | None = None
    trt: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a reply did: ``action`` names the branch taken (``replay``: a repeated idempotency key, no effect),
    ``status`` the resulting status; ``answer`` is what to answer (the stored one on a replay).
    """

    action: str
    status: str | None
    message: str | None = None
    answer: Answer = field(default=EMPTY_200, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the journal."""
        return {"action": self.action, "status": self.status, "message": self.message}


def normalise_key(value: str) -> str | None:
    """The opportunity key as a lower-case UUID, or ``None`` when it is not a UUID."""
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        return None


class Tds:
    """Test opportunities, their audit trail and the two callback semantics.

    Legacy Java TDS (``handleTISReply`` and ``QC_AcceptOpportunity_SP``) and the
    newer ExamResultsTransmitter (``/tis``) differ, and both are modelled. Every
    change and its audit row are written in one transaction.
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.hostname = socket.gethostname()
        self.opportunities: Table = store.table(
            "testopportunity",
            Column("oppkey", String(36), primary_key=True),
            Column("status", String(32), nullable=False),
            Column("date_expired_reported", DateTime(timezone=True)),
            Column("created", DateTime(timezone=True), nullable=False),
            Column("updated", DateTime(timezone=True), nullable=False),
        )
        self.audit: Table = store.table(
            "opportunityaudit",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("oppkey", String(36), nullable=False, index=True),
            Column("access_type", String(50), nullable=False),
            Column("comment", Text),
            Column("date_accessed", DateTime(timezone=True), nullable=False),
            Column("hostname", String(255)),
            Column("source", String(20), nullable=False),
            tenant_in_pk=False,
        )
        self.errorlog: Table = store.table(
            "tds_errorlog",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("procname", String(100), nullable=False),
            Column("oppkey", String(64)),
            Column("message", Text, nullable=False),
            Column("logged", DateTime(timezone=True), nullable=False),
            tenant_in_pk=False,
        )
        self.rescores: Table = store.table(
            "tds_rescore",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("oppkey", String(36), nullable=False),
            Column("jobid", String(100), nullable=False),
            Column("trt", Text, nullable=False),
            Column("received", DateTime(timezone=True), nullable=False),
            Column("success", Boolean, nullable=False),
            tenant_in_pk=False,
        )
        # idempotency keys of the replies applied (examrig's extension; TIS sends them): cleared by reset
        self.keys = Ledger(store, "tds_idempotency")
        # the callbacks' statements, built once
        t = self.opportunities
        # both callbacks read the status and then move it: the row is locked until their transaction ends
        # (FOR UPDATE on PostgreSQL; SQLite's write transactions run one at a time), so of 20 concurrent
        # replies for one submitted opportunity exactly one sees 'submitted' and records 'reported'
        self._q_status = select(t.c.status).where(t.c.tenant == bindparam("b_tenant"),
                                                  t.c.oppkey == bindparam("b_key")).with_for_update()
        self._q_set_status = update(t).where(t.c.tenant == bindparam("b_tenant"), t.c.oppkey == bindparam("b_key")
                                             ).values(status=bindparam("b_status"), updated=bindparam("b_now"))
        self._q_audit = self.audit.insert()
        self._q_log = self.errorlog.insert()

    @property
    def tables(self) -> list[Table]:
        """Every table of the service (parents first)."""
        return [self.opportunities, self.audit, self.errorlog, self.rescores, self.keys.table]

    # -- seeding and reading -------------------------------------------------------------

    def seed(self, tenant: str, items: list[Any]) -> int:
        """Insert or replace opportunities ``{"oppKey", "status"}``; all or nothing."""
        now = self.clock.now(tenant)
        rows: list[dict[str, Any]] = []
        for i, item in enumerate(items):
            where = f"opportunities[{i}]"
            if not isinstance(item, dict):
                raise SeedError(where, "must be an object")
            unknown = set(item) - {"oppKey", "status"}
            if unknown:
                raise SeedError(f"{where}.{sorted(unknown)[0]}", "unknown property")
            key = item.get("oppKey")
            norm = normalise_key(key) if isinstance(key, str) else None
            if norm is None:
                raise SeedError(f"{where}.oppKey", "must be a UUID string")
            status = item.get("status", "submitted")
            if status not in STATUSES:
                raise SeedError(f"{where}.status", f"must be one of {', '.join(sorted(STATUSES))}")
            rows.append({"tenant": tenant, "oppkey": norm, "status": status, "created": now, "updated": now,
                         "date_expired_reported": None})
        t = self.opportunities
        with self.store.begin() as conn:
            for row in rows:
                conn.execute(t.delete().where(t.c.tenant == tenant, t.c.oppkey == row["oppkey"]))
                conn.execute(self.audit.delete().where(self.audit.c.tenant == tenant,
                                                       self.audit.c.oppkey == row["oppkey"]))
                conn.execute(t.insert().values(**row))
        return len(rows)

    def opportunity(self, tenant: str, opp_key: str) -> dict[str, Any] | None:
        """One opportunity with its audit rows, as plain data."""
        key = normalise_key(opp_key) or opp_key
        t, a = self.opportunities, self.audit
        with self.store.read() as conn:
            row = conn.execute(select(t).where(t.c.tenant == tenant, t.c.oppkey == key)).mappings().first()
            if row is None:
                return None
            audits = conn.execute(select(a).where(a.c.tenant == tenant, a.c.oppkey == key)
                                  .order_by(a.c.id)).mappings().all()
        return {
            "oppKey": row["oppkey"], "status": row["status"],
            "dateExpiredReported": iso(row["date_expired_reported"]) if row["date_expired_reported"] else None,
            "audit": [{"accessType": r["access_type"], "comment": r["comment"], "source": r["source"],
                       "dateAccessed": iso(r["date_accessed"]), "hostname": r["hostname"]} for r in audits],
        }

    def errors(self, tenant: str) -> list[dict[str, Any]]:
        """The DB error log of ``tenant`` (unknown opportunities, refused transitions)."""
        e = self.errorlog
        with self.store.read() as conn:
            rows = conn.execute(select(e).where(e.c.tenant == tenant).order_by(e.c.id)).mappings().all()
        return [{"procname": r["procname"], "oppKey": r["oppkey"], "message": r["message"],
                 "logged": iso(r["logged"])} for r in rows]

    # -- the two callback semantics ------------------------------------------------------

    def _keyed(self, tenant: str, keyed: Keyed | None, answer: Answer,
               effect: Callable[[Connection, datetime], Outcome]) -> Outcome:
        """``effect`` in one transaction with the idempotency key's record; a repeat of the key changes nothing."""
        now = self.clock.now(tenant)
        applied = self.keys.apply(tenant, keyed, now, lambda conn: (effect(conn, now), answer))
        if applied.result is None and sabotage.on("tds.key-repeat-applied"): applied = self.keys.apply(tenant, None, now, lambda conn: (effect(conn, now), answer))  # noqa: E501, E701
        if applied.result is None:
            assert keyed is not None
            return Outcome("replay", None, f"{HEADER} {keyed.key} seen before: stored answer, no effect",
                           applied.answer)
        return replace(applied.result, answer=applied.answer)

    def legacy_reply(self, tenant: str, reply: TisReply, keyed: Keyed | None = None,
                     answer: Answer = EMPTY_200) -> Outcome:
        """``/student/TIS/API/tisReply``: ``handleTISReply`` then ``QC_AcceptOpportunity_SP``.

        ``keyed``: the request's idempotency key (``answer`` is kept with it); a repeat is a ``replay``.
        """
        return self._keyed(tenant, keyed, answer, lambda conn, now: self._legacy(conn, tenant, reply, now))

    def _legacy(self, conn: Connection, tenant: str, reply: TisReply, now: datetime) -> Outcome:
        t = self.opportunities
        row = conn.execute(self._q_status, {"b_tenant": tenant, "b_key": reply.opp_key}).first()
        if row is None:
            message = (f"No test opportunity matches this key: {reply.opp_key}, success {reply.success}, "
                       f"{reply.error}")
            message = "unknown opportunity" if sabotage.on("tds.error-log-unworded") else message
            self._log(conn, tenant, "handleTISReply", reply.opp_key, message, now)
            return Outcome("unknown", None, message)
        status = str(row[0])
        if not reply.success:
            self._audit(conn, tenant, reply.opp_key, "rejected", reply.error, now, "tisReply")
            return Outcome("rejected", status)
        if status == "expired":
            conn.execute(update(t).where(t.c.tenant == tenant, t.c.oppkey == reply.opp_key)
                         .values(status="expired" if sabotage.on("tds.expired-status-kept") else "expiredReported", date_expired_reported=now, updated=now))  # noqa: E501
            self._audit(conn, tenant, reply.opp_key, "expiredReported", None, now, "tisReply")
            return Outcome("expiredReported", "expiredReported")
        if status != "submitted":
            self._audit(conn, tenant, reply.opp_key, "QA Reported", None, now, "tisReply")
            return Outcome("qaReported", status)
        self._set_status(conn, tenant, reply.opp_key, "reported", now, "tisReply")
        return Outcome("reported", "reported")

    def ert_callback(self, tenant: str, reply: TisReply, job_id: str | None, keyed: Keyed | None = None,
                     answer: Answer = EMPTY_200) -> Outcome:
        """ERT ``/tis``: a rescore hand-off, or ``submitted`` to ``reported`` when the reply is clean (``keyed``:
        as :meth:`legacy_reply`).
        """
        return self._keyed(tenant, keyed, answer, lambda conn, now: self._ert(conn, tenant, reply, job_id, now))

    def _ert(self, conn: Connection, tenant: str, reply: TisReply, job_id: str | None, now: datetime) -> Outcome:
        if job_id is not None or reply.trt is not None:
            if job_id is None or reply.trt is None:
                missing = "jobid" if job_id is None else "trt"
                message = f"Rescore callback for {reply.opp_key} without {missing}: ignored"
                self._log(conn, tenant, "TISCallbackController", reply.opp_key, message, now)
                return Outcome("rescoreIgnored", None, message)
            conn.execute(self.rescores.insert().values(tenant=tenant, oppkey=reply.opp_key, jobid=job_id,
                                                       trt=reply.trt, received=now, success=reply.success))
            return Outcome("rescore", None)
        row = conn.execute(self._q_status, {"b_tenant": tenant, "b_key": reply.opp_key}).first()
        if row is None:
            message = f"No exam found for key {reply.opp_key}"
            self._log(conn, tenant, "TISCallbackController", reply.opp_key, message, now)
            return Outcome("unknown", None, message)
        status = str(row[0])
        self._audit(conn, tenant, reply.opp_key, "processed", reply.error, now, "tis")
        if not reply.success or reply.error is not None:
            return Outcome("notReported", status)
        if status != "submitted":
            message = f"Bad status transition from {status} to reported for exam {reply.opp_key}"
            self._log(conn, tenant, "ExamReportedMessageListener", reply.opp_key, message, now)
            return Outcome("illegalTransition", status, message)
        self._set_status(conn, tenant, reply.opp_key, "reported", now, "tis")
        return Outcome("reported", "reported")

    def _set_status(self, conn: Any, tenant: str, key: str, status: str, now: datetime, source: str) -> None:
        conn.execute(self._q_set_status, {"b_tenant": tenant, "b_key": key, "b_status": status, "b_now": now})
        self._audit(conn, tenant, key, status, None, now, source)

    def _audit(self, conn: Any, tenant: str, key: str, access: str, comment: str | None, now: datetime,
               source: str) -> None:
        conn.execute(self._q_audit, {"tenant": tenant, "oppkey": key, "access_type": access, "comment": comment,
                                     "date_accessed": now, "hostname": self.hostname, "source": source})

    def _log(self, conn: Any, tenant: str, proc: str, key: str, message: str, now: datetime) -> None:
        conn.execute(self._q_log, {"tenant": tenant, "procname": proc, "oppkey": key[:64], "message": message,
                                   "logged": now})


__all__ = ["STATUSES", "IntegrityError", "Outcome", "SeedError", "Tds", "TisReply", "normalise_key"]
