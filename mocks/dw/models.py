"""Warehouse state and rules: received TRTs, MD5 de-duplication, the exam processor's checks (no HTTP here)."""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    select,
)

from contracts.validate import validate
from mocks.core import bounds, sabotage
from mocks.core.clock import Clock, iso
from mocks.core.errors import InputError
from mocks.core.idempotency import Answer, Applied, Keyed, Ledger
from mocks.core.store import IntegrityError, Store
from mocks.openam.models import role_names

# the answer a receiver gives for a receipt (record, duplicate): kept with an idempotency key
AnswerFor = Callable[[dict[str, Any], bool], Answer]

RECEIVERS = ("DW1", "DW2", "imports")
DONE_STATUSES = frozenset({"completed", "scored", "submitted", "reported", "handscoring", "invalidated"})
LOAD_ROLE = "ASMTDATALOAD"
# target scores: RDW reads these labels as the student's and the standard-met residuals
RESIDUAL_LABELS = frozenset({"StudentRelativeResidualScore", "Benchmark", "StandardMetRelativeResidualScore",
                             "ProficiencyDelta"})


class AccessRefused(Exception):
    """A loader the warehouse does not let in: ``status`` 401 (no or unknown token) or 403 (no role or mail)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def loader_mail(token: str, status: int, info: Any) -> str:
    """The mail of the user OpenAM's tokeninfo answer (``status``, parsed JSON ``info``) describes.

    As RDW's ``SbacTokenConverter``: the token must resolve (2xx, a JSON object without ``error``),
    and its user needs a non-empty ``mail`` and role ``ASMTDATALOAD`` in ``sbacTenancyChain``.
    """
    if not token.strip():
        raise AccessRefused(401, "Full authentication is required to access this resource")
    if not 200 <= status < 300 or not isinstance(info, dict) or "error" in info:
        raise AccessRefused(401, "Unauthorized" if sabotage.on("dw.token-refusal-unworded") else f"Invalid access token: {token.strip()}")  # noqa: E501
    mail = info.get("mail")
    if not isinstance(mail, str) or not mail.strip() or LOAD_ROLE not in role_names(str(info.get("sbacTenancyChain",
                                                                                                  ""))):
        if isinstance(mail, str) and mail.strip() and sabotage.on("dw.role-not-required"): return mail.strip()  # noqa: E701
        raise AccessRefused(403, f"Access is denied: {LOAD_ROLE} role and a mail address are required")
    return mail.strip()


class TokenCache:
    """OpenAM tokeninfo answers of valid tokens, kept per (tenant, token) for the lifetime they report.

    assumed: no source says whether RDW caches tokeninfo; TIS's inbound check caches it for ``expires_in``
    seconds (``AuthTokenCache``), and this does the same, so a token revoked at OpenAM is still taken until it
    would have expired. Bounded (oldest dropped first); forgotten on reset.
    """

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], tuple[datetime, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant: str, token: str, now: datetime) -> dict[str, Any] | None:
        """The cached answer for ``token``, or ``None`` when absent or expired at ``now``."""
        with self._lock:
            entry = self._entries.get((tenant, token))
            if entry is None:
                return None
            if now >= entry[0]:
                del self._entries[(tenant, token)]
                return None
            return entry[1]

    def put(self, tenant: str, token: str, status: int, info: Any, now: datetime) -> None:
        """Keep a valid answer (2xx, an object without ``error``, ``expires_in`` > 0) until it expires."""
        if not 200 <= status < 300 or not isinstance(info, dict) or "error" in info:
            return
        lifetime = info.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            return
        with self._lock:
            self._entries[(tenant, token)] = (now + timedelta(seconds=float(lifetime)), info)
            self._entries.move_to_end((tenant, token))
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def clear(self, tenant: str | None = None) -> None:
        """Forget every answer (of one tenant)."""
        with self._lock:
            for key in [k for k in self._entries if tenant is None or k[0] == tenant]:
                del self._entries[key]


class SeedError(InputError):
    """Seed data that cannot be loaded; ``field`` names the offending property."""


@dataclass(frozen=True)
class Verdict:
    """What the warehouse made of one TRT: ``status`` and the messages explaining a refusal."""

    status: str
    messages: list[str]

    @property
    def ok(self) -> bool:
        """Whether the exam was taken."""
        return self.status == "PROCESSED"


def _number(value: str | None) -> float | None:
    """A finite number, or None: "INF" and "NaN" are not scores (int(inf) raised OverflowError, a 500)."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is None or math.isfinite(number) else None


class Warehouse:
    """Receipts per tenant and the checks RDW's exam processor applies.

    Structural validity uses examrig's lenient TRT schema; the semantic checks follow
    ``DefaultStudentExamProcessor``: Overall and claim ``ScaleScore`` within the configured
    range (``NS``, ``0`` or empty mean none), ``PerformanceLevel`` a positive integer,
    ``ThetaScore`` and the target residuals numbers, trait ``RawScore`` a non-negative integer,
    a plausible ``academicYear``, a non-empty ``dateCompleted`` for a finished exam, and every
    item known when an item catalogue is seeded. An exam taken with status ``reset`` marks the
    exam (by opportunity key) deleted, as RDW's ``.deleted("reset".equalsIgnoreCase(status))``.
    """

    def __init__(self, store: Store, clock: Clock, options: dict[str, Any]) -> None:
        self.store = store
        self.clock = clock
        self.scale_min = float(options.get("scale_score_min", 1000))
        self.scale_max = float(options.get("scale_score_max", 4000))
        self.level_max = int(options.get("performance_level_max", 4))
        self.receipts: Table = store.table(
            "dw_receipt",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("receiver", String(10), nullable=False),
            Column("digest", String(32), nullable=False),
            Column("dedup", String(32)),
            Column("content_type", String(200)),
            Column("creator", String(200)),
            Column("opp_key", String(64)),
            Column("status", String(20), nullable=False),
            Column("messages", Text, nullable=False),
            Column("body", Text, nullable=False),
            Column("received", DateTime(timezone=True), nullable=False),
            UniqueConstraint("tenant", "dedup", name="uq_dw_receipt_dedup"),
            tenant_in_pk=False,
        )
        self.catalogue: Table = store.table(
            "dw_item",
            Column("bank_key", BigInteger, primary_key=True),
            Column("item_key", BigInteger, primary_key=True),
        )
        self.exams: Table = store.table(
            "dw_exam",
            Column("opp_key", String(64), primary_key=True),
            Column("opp_id", String(64)),
            Column("status", String(40), nullable=False),
            Column("deleted", Boolean, nullable=False),
            Column("receipt_id", Integer, nullable=False),
            Column("updated", DateTime(timezone=True), nullable=False),
        )

        # idempotency keys of the requests answered (examrig's extension; TIS sends them): cleared by reset
        self.keys = Ledger(store, "dw_idempotency")
        # the import's statements, built once
        c = self.catalogue
        self._q_catalogue = select(c.c.bank_key, c.c.item_key).where(c.c.tenant == bindparam("b_tenant"))
        self._q_insert_receipt = self.receipts.insert()

    @property
    def tables(self) -> list[Table]:
        """Every table of the service."""
        return [self.receipts, self.catalogue, self.exams, self.keys.table]

    def seed_items(self, tenant: str, items: list[Any]) -> int:
        """Known items ``"bank-key"`` (the warehouse's item catalogue)."""
        pairs = []
        for i, item in enumerate(items):
            parts = item.split("-") if isinstance(item, str) else []
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise SeedError(f"items[{i}]", "must be 'bankKey-itemKey'")
            pair = (bounds.ascii_int(parts[0]), bounds.ascii_int(parts[1]))  # stored in BigInteger columns
            if pair[0] is None or pair[1] is None:
                raise SeedError(f"items[{i}]", f"'{item}': each key must be within Int64")
            pairs.append((pair[0], pair[1]))
        c = self.catalogue
        with self.store.begin() as conn:
            for bank, key in pairs:  # an item known already stays (an atomic insert-or-nothing under races)
                self.store.upsert(conn, c, {"tenant": tenant, "bank_key": bank, "item_key": key},
                                  ("tenant", "bank_key", "item_key"))
        return len(pairs)

    def check(self, tenant: str, body: bytes) -> tuple[Verdict, str | None]:
        """Structural then semantic checks of one TRT; the verdict and the opportunity key."""
        verdict, opp = self._check(tenant, body)
        return verdict, opp.get("key") if opp is not None else None

    def _check(self, tenant: str, body: bytes, conn: Connection | None = None) -> tuple[Verdict, Any]:
        return self._with_catalogue(tenant, *self._check_document(body), conn)

    def _with_catalogue(self, tenant: str, verdict: Verdict, opp: Any,
                        conn: Connection | None = None) -> tuple[Verdict, Any]:
        """The document's verdict with the item catalogue's check (read in ``conn``'s transaction when given)."""
        if verdict.status == "BAD_FORMAT" or opp is None:
            return verdict, opp
        if conn is None:
            with self.store.read() as own:
                return self._with_catalogue(tenant, verdict, opp, own)
        known = {(int(b), int(k)) for b, k in conn.execute(self._q_catalogue, {"b_tenant": tenant})}
        unknown = [f"Item@key: unknown item {item.get('bankKey')}-{item.get('key')} at position {item.get('position')}"
                   for item in opp.findall("Item")
                   if known and (_int(item.get("bankKey")), _int(item.get("key"))) not in known]
        if not unknown:
            return verdict, opp
        return Verdict("INVALID", verdict.messages + unknown), opp

    def _check_document(self, body: bytes) -> tuple[Verdict, Any]:
        """Every check but the item catalogue's."""
        if not body.strip():
            return Verdict("BAD_FORMAT", ["body: empty"]), None
        # parsed once, validated as it is parsed (linear in the document: contracts.validate); the first 20
        # problems described, then a count, when it is not well-formed or not valid
        result = validate(body, "trt", max_errors=20)
        if not result.valid or result.root is None:
            if sabotage.on("dw.bad-format-as-invalid"): return Verdict("INVALID", ["body: not a valid TRT"]), None  # noqa: E701
            return Verdict("BAD_FORMAT", result.messages() or ["body: not a valid TRT"]), None
        root = result.root
        opp_el = root.find("Opportunity")
        for attr, width in (("key", 64), ("oppId", 64), ("status", 40)):  # the receipt's and exam's columns
            value = opp_el.get(attr) if opp_el is not None else None
            if value is not None and len(value) > width:
                return Verdict("BAD_FORMAT", [f"Opportunity@{attr}: longer than {width} characters"]), None
        messages: list[str] = []
        test = root.find("Test")
        opp = root.find("Opportunity")
        year = test.get("academicYear") if test is not None else None
        if year not in (None, ""):
            number = _number(year)
            if number is None or not 1900 <= number <= 2100 or number != int(number):
                messages.append(f"Test@academicYear: {year} is not a valid academic year")
        if opp is not None:
            status = (opp.get("status") or "").lower()
            if status in DONE_STATUSES and not (opp.get("dateCompleted") or "").strip():
                messages.append(f"Opportunity@dateCompleted: empty for an exam with status {status}")
            for score in opp.findall("Score"):
                messages.extend(self._score(score))
        return Verdict("INVALID" if messages else "PROCESSED", messages), opp

    def _score(self, score: Any) -> list[str]:
        label, measure, value = score.get("measureLabel"), score.get("measureOf"), score.get("value", "")
        where = f"Score[measureOf={measure}, measureLabel={label}]@value"
        if label == "ScaleScore":
            if value in ("", "NS", "0"):
                return []
            number = _number(value)
            if number is None:
                return [f"{where}: '{value}' is not a number"]
            if not self.scale_min <= number <= self.scale_max:
                if sabotage.on("dw.scale-range-unchecked"): return []  # noqa: E701
                return [f"{where}: {value} is out of range [{self.scale_min:g}, {self.scale_max:g}]"]
        elif label == "PerformanceLevel":
            if value == "":
                return []
            number = _number(value)
            if number is None or number != int(number) or not 1 <= number <= self.level_max:
                return [f"{where}: '{value}' is not a performance level (1..{self.level_max})"]
        elif label == "ThetaScore" or label in RESIDUAL_LABELS:
            if value != "" and _number(value) is None:
                if sabotage.on("dw.claim-scores-unchecked"): return []  # noqa: E701
                return [f"{where}: '{value}' is not a number"]
        elif label == "RawScore":
            number = _number(value) if value != "" else 0.0
            if number is None or number != int(number) or number < 0:
                return [f"{where}: '{value}' is not a raw score (a non-negative integer)"]
        return []

    def receive(self, tenant: str, receiver: str, body: bytes, content_type: str | None,
                creator: str | None) -> tuple[dict[str, Any], bool]:
        """Record one TRT; for ``imports`` a payload seen before returns the first record (``duplicate``)."""
        taken = self.take(tenant, receiver, body, content_type, creator)
        assert taken.result is not None
        return taken.result

    def take(self, tenant: str, receiver: str, body: bytes, content_type: str | None, creator: str | None,
             keyed: Keyed | None = None, answer: AnswerFor | None = None) -> Applied[tuple[dict[str, Any], bool]]:
        """:meth:`receive` with the answer ``answer(record, duplicate)`` gives, and an idempotency key.

        With ``keyed``, the key and its answer are written in the receipt's transaction; a repeat of the key gets
        the stored answer and records nothing (``replayed``), a key first used for another request raises
        ``KeyReused``. An import de-duplicated by MD5 is no new effect: its key is recorded with the first record.
        """
        reply = answer or _plain
        digest = hashlib.md5(body, usedforsecurity=False).hexdigest().upper()
        # a payload seen before is found by the unique (tenant, dedup) index when its insert fails, not by a read
        # before every import
        document, opp = self._check_document(body)  # the catalogue's check is made in the receipt's transaction
        opp_key = opp.get("key") if opp is not None else None
        now = self.clock.now(tenant)

        def record(conn: Connection) -> tuple[tuple[dict[str, Any], bool], Answer]:
            verdict, _ = self._with_catalogue(tenant, document, opp, conn)
            # only imports are de-duplicated; DW1/DW2 keep every receipt (NULLs never collide)
            values = {"tenant": tenant, "receiver": receiver, "digest": digest,
                      "dedup": digest if receiver == "imports" else None,
                      # request headers, recorded as far as their columns hold (String(200))
                      "content_type": content_type[:200] if content_type else content_type,
                      "creator": creator[:200] if creator else creator, "opp_key": opp_key, "status": verdict.status,
                      "messages": json.dumps(verdict.messages), "body": body.decode("utf-8", "replace"),
                      "received": now}
            if receiver == "imports" and sabotage.on("dw.imports-not-deduplicated"): values["dedup"] = None  # noqa: E701
            key = conn.execute(self._q_insert_receipt, values).inserted_primary_key
            if verdict.ok and opp_key and key:
                self._store_exam(conn, tenant, opp, int(key[0]), now)
            taken = _record({**values, "id": int(key[0]) if key else -1})
            return (taken, False), reply(taken, False)

        try:
            return self.keys.apply(tenant, keyed, now, record)
        except IntegrityError:  # a payload imported before (or by a concurrent request): the first record
            existing = self._find(tenant, receiver, digest)
            if existing is None:
                raise
            return self.keys.apply(tenant, keyed, now, lambda conn: ((existing, True), reply(existing, True)))

    def _store_exam(self, conn: Any, tenant: str, opp: Any, receipt_id: int, now: Any) -> None:
        """Upsert the exam a taken TRT describes; status ``reset`` marks it deleted (RDW)."""
        status = opp.get("status") or ""
        values = {"tenant": tenant, "opp_key": opp.get("key"), "opp_id": opp.get("oppId"), "status": status,
                  "deleted": status.lower() == "reset", "receipt_id": receipt_id, "updated": now}
        if values["deleted"] and sabotage.on("dw.reset-not-deleted"): values["deleted"] = False  # noqa: E701
        # one atomic upsert: two TRTs of one opportunity taken at once never both insert (the loser's unique
        # violation would read as a duplicate payload)
        self.store.upsert(conn, self.exams, values, ("tenant", "opp_key"))

    def exam(self, tenant: str, opp_key: str) -> dict[str, Any] | None:
        """The warehouse's exam for an opportunity key (``deleted`` after a ``reset``)."""
        e = self.exams
        with self.store.read() as conn:
            row = conn.execute(select(e).where(e.c.tenant == tenant, e.c.opp_key == opp_key)).mappings().first()
        return _exam(dict(row)) if row is not None else None

    def exams_of(self, tenant: str, *, include_deleted: bool = True) -> list[dict[str, Any]]:
        """Every exam of the tenant (only live ones unless ``include_deleted``)."""
        e = self.exams
        stmt = select(e).where(e.c.tenant == tenant)
        if not include_deleted:
            stmt = stmt.where(e.c.deleted.is_(False))
        with self.store.read() as conn:
            rows = conn.execute(stmt.order_by(e.c.updated, e.c.opp_key)).mappings().all()
        return [_exam(dict(row)) for row in rows]

    def _find(self, tenant: str, receiver: str, digest: str) -> dict[str, Any] | None:
        r = self.receipts
        with self.store.read() as conn:
            row = conn.execute(select(r).where(r.c.tenant == tenant, r.c.receiver == receiver,
                                               r.c.digest == digest)).mappings().first()
        return _record(dict(row)) if row is not None else None

    def receipt(self, tenant: str, receipt_id: int) -> dict[str, Any] | None:
        """One receipt as plain data."""
        r = self.receipts
        with self.store.read() as conn:
            row = conn.execute(select(r).where(r.c.tenant == tenant, r.c.id == receipt_id)).mappings().first()
        return _record(dict(row)) if row is not None else None

    def receipts_of(self, tenant: str, receiver: str | None = None) -> list[dict[str, Any]]:
        """Every receipt of the tenant (of one receiver), oldest first."""
        r = self.receipts
        stmt = select(r).where(r.c.tenant == tenant)
        if receiver is not None:
            stmt = stmt.where(r.c.receiver == receiver)
        with self.store.read() as conn:
            rows = conn.execute(stmt.order_by(r.c.id)).mappings().all()
        return [_record(dict(row)) for row in rows]


def _plain(record: dict[str, Any], duplicate: bool) -> Answer:
    return Answer(200)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _record(row: dict[str, Any]) -> dict[str, Any]:
    received = row["received"]
    received = received if received.tzinfo is not None else received.replace(tzinfo=UTC)
    return {"id": row["id"], "receiver": row["receiver"], "digest": row["digest"],
            "contentType": row["content_type"], "creator": row["creator"], "oppKey": row["opp_key"],
            "status": row["status"], "messages": json.loads(row["messages"]), "received": iso(received)}


def _exam(row: dict[str, Any]) -> dict[str, Any]:
    updated = row["updated"]
    updated = updated if updated.tzinfo is not None else updated.replace(tzinfo=UTC)
    return {"oppKey": row["opp_key"], "oppId": row["opp_id"], "status": row["status"], "deleted": bool(row["deleted"]),
            "receipt": row["receipt_id"], "updated": iso(updated)}


def import_json(record: dict[str, Any], base: str) -> dict[str, Any]:
    """RDW's ``RdwImport`` JSON for a receipt (status ACCEPTED as the import service answers)."""
    return {"id": record["id"], "content": "EXAM", "contentType": record["contentType"],
            "digest": record["digest"], "status": "ACCEPTED", "creator": record["creator"], "batch": None,
            "message": None, "_links": {"self": {"href": f"{base}/exams/imports/{record['id']}"}}}


__all__ = ["LOAD_ROLE", "RECEIVERS", "AccessRefused", "SeedError", "TokenCache", "Verdict", "Warehouse", "import_json",
           "loader_mail"]
