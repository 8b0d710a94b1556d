"""TIS state: the xmlrepository queue, item scores, opportunity statuses, packages, outbox (no HTTP here)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)

from contracts.xmlsafe import UnsafeXmlError, XmlError, parse_xml
from mocks.core import sabotage
from mocks.core.clock import Clock, iso
from mocks.core.ids import IdSource
from mocks.core.sqlfast import Prepared
from mocks.core.store import OperationalError, Store
from mocks.tis import config as tis_config
from mocks.tis.package import Blueprint, LoadedPackage, PackageError, parse_package
from mocks.tis.trt import FieldError, key_fields

COMBINED_OPPID_BASE = 5_000_000
#: tenants whose configuration a process keeps built (docs/reliability.md); past it the least recently used is
#: dropped and built again from the database when its tenant comes back (about 340 bytes each: 0.35 MiB in all)
CONFIG_CACHE_SIZE = 1024
# PostgreSQL NOTIFY channel: a row became claimable (one per database; the payload is the schema of the rows, and a
# listener wakes its workers only for its own schema, so deployments or tests in other schemas never wake them)
NOTIFY_CHANNEL = "examrig_tis_claimable"
WAITING = ("WaitingForHandScore", "WaitingForMachineScore")
ACCEPTING = ("handscoring", "appeal", "invalidated")
SD_STATUSES = ("NotScored", "Scored", "WaitingForMachineScore", "NoScoringEngine", "ScoringError")


class ReceiveError(ValueError):
    """Why the receiver refuses a TRT: ``kind`` is content, root or keys; ``field`` and ``detail`` say more."""

    def __init__(self, kind: str, field: str | None = None, detail: str = "") -> None:
        super().__init__(f"{kind}: {field} {detail}")
        self.kind = kind
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class DaemonOutcome:
    """What the scoring daemon did with one ItemScoreResponse."""

    action: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Plain data for the journal."""
        return {"action": self.action, "message": self.message}


@dataclass
class _ScoreJob:
    """One scoring-daemon score waiting for the transaction that writes it (:meth:`Tis.item_score`)."""

    tenant: str
    key: str
    bank: int
    item: int
    score: float
    status: str
    score_info: str
    outcome: DaemonOutcome | None = None
    error: Exception | None = None
    done: bool = False

    def args(self) -> tuple[str, str, int, int, float, str, str]:
        """The arguments of :meth:`Tis._item_score` but the connection and the instant."""
        return self.tenant, self.key, self.bank, self.item, self.score, self.status, self.score_info


class Tis:
    """TIS's database: the tables of the TIS DB and the operations that change them transactionally."""

    def __init__(self, store: Store, clock: Clock, ids: IdSource, options: dict[str, Any]) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.options = options
        self._cache: dict[tuple[str, str, str], LoadedPackage] = {}
        self._cache_lock = threading.Lock()
        # tenant -> (its configuration, the stored settings it was built from), least recently used first: at most
        # CONFIG_CACHE_SIZE tenants (tenants come from a request header: a client that sends a new one each time
        # grew an unbounded dict by about 340 bytes a tenant)
        self._configs: OrderedDict[str, tuple[tis_config.TisConfig, str | None]] = OrderedDict()
        # several processes serve this TIS (shared control state): the receiver's cached settings could be
        # another process's old copy, so it reads the stored ones like everyone else (one indexed read)
        self.shared_settings = False
        self._batch: list[_ScoreJob] = []  # daemon scores queued for the next transaction (item_score)
        self._batch_mu = threading.Lock()
        self._batch_writer = threading.Lock()
        self.repo: Table = store.table(
            "xmlrepository",
            Column("fileid", Integer, primary_key=True, autoincrement=True),
            Column("location", String(16), nullable=False, index=True),
            Column("testname", String(255), nullable=False),
            Column("oppid", BigInteger, nullable=False),
            Column("oppkey", String(64), nullable=False, index=True),
            Column("testee", BigInteger, nullable=False),
            Column("statusdate", DateTime(timezone=True), nullable=False),
            Column("isdemo", Boolean, nullable=False),
            Column("contents", Text, nullable=False),
            Column("callbackurl", Text),
            Column("scoremode", String(32), nullable=False),
            Column("daterecorded", DateTime(timezone=True), nullable=False),
            Column("plan", Text),
            Column("requeue", Boolean, nullable=False, default=False),
            Column("parent", Integer),
            # the processor holding a 'processing' row (Processor.owner): recovery takes the row only once that
            # owner's lease in tis_worker has run out (or its process is gone)
            Column("owner", String(128)),
            tenant_in_pk=False,
        )
        # the receiver's "next free oppId" is a max() over this index, not a scan of the repository
        Index("ix_xmlrepository_tenant_oppid", self.repo.c.tenant, self.repo.c.oppid)
        # the processing queue in claim order: the claim walks it and stops at the first claimable row (no sort)
        Index("ix_xmlrepository_queue", self.repo.c.location, self.repo.c.statusdate, self.repo.c.daterecorded,
              self.repo.c.fileid)
        self.outbox: Table = store.table(
            "tis_outbox",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("fileid", Integer, nullable=False, index=True),
            Column("kind", String(16), nullable=False),
            Column("url", Text, nullable=False),
            Column("body", Text, nullable=False),
            Column("content_type", String(100), nullable=False),
            Column("filename", String(255)),
            Column("state", String(16), nullable=False, index=True),
            Column("status_code", Integer),
            Column("error", Text),
            Column("created", DateTime(timezone=True), nullable=False),
            Column("updated", DateTime(timezone=True), nullable=False),
            # with the id, the delivery's Idempotency-Key (tis-<nonce>-<id>): the same on every resend of the row
            Column("key_nonce", String(32)),
            Column("owner", String(128)),  # the processor that queued the row (recovery resends only a dead one's)
            tenant_in_pk=False,
            # ids never reused (not even after a reset), so a key never names two deliveries
            sqlite_autoincrement=True,
        )
        self.item_scores: Table = store.table(
            "testopportunityitemscore",
            Column("oppkey", String(64), primary_key=True),
            Column("bankkey", BigInteger, primary_key=True),
            Column("itemkey", BigInteger, primary_key=True),
            Column("oppid", BigInteger, nullable=False),
            Column("itemtype", String(16), nullable=False),
            Column("position", Integer, nullable=False),
            Column("response", Text),
            Column("status", String(32), nullable=False),
            Column("score", Float, nullable=False),
            Column("scoreinfo", Text),
            Column("scoringdate", DateTime(timezone=True)),
        )
        self.opp_status: Table = store.table(
            "testopportunitystatus",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("oppkey", String(64), nullable=False, index=True),
            Column("oppid", BigInteger, nullable=False),
            Column("testname", String(255), nullable=False),
            Column("testee", BigInteger, nullable=False),
            Column("opportunity", Integer, nullable=False),
            Column("status", String(32), nullable=False),
            Column("fileid", Integer),
            Column("recorded", DateTime(timezone=True), nullable=False),
            tenant_in_pk=False,
        )
        self.validation: Table = store.table(
            "qc_validationexception",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("fileid", Integer, nullable=False, index=True),
            Column("oppkey", String(64)),
            Column("severity", Integer, nullable=False),
            Column("ruleid", String(64), nullable=False),
            Column("xpath", Text),
            Column("message", Text, nullable=False),
            Column("recorded", DateTime(timezone=True), nullable=False),
            tenant_in_pk=False,
        )
        self.packages: Table = store.table(
            "tis_testpackage",
            Column("packagekey", String(255), primary_key=True),
            Column("content", Text, nullable=False),
            Column("digest", String(64), nullable=False),
            Column("loaded", DateTime(timezone=True), nullable=False),
        )
        self.testnames: Table = store.table(
            "testnamelookup",
            Column("testname", String(255), primary_key=True),
            Column("packagekey", String(255), nullable=False),
            Column("role", String(16), nullable=False),
        )
        self.package_items: Table = store.table(
            "tis_itembank",
            Column("itemname", String(64), primary_key=True),
            Column("packagekey", String(255), nullable=False),
        )
        self.combined_opps: Table = store.table(
            "combinationtestopportunity",
            Column("testee", BigInteger, primary_key=True),
            Column("combination", String(255), primary_key=True),
            Column("opportunity", Integer, primary_key=True),
            Column("oppid", BigInteger, nullable=False),
            Column("oppkey", String(64), nullable=False),
        )
        # one row per live processor (any process, any host): its lease, renewed by a heartbeat thread; not
        # tenant data (the tenant column is the store's rule, always ''), so a tenant reset never drops it
        self.workers: Table = store.table(
            "tis_worker",
            Column("owner", String(128), primary_key=True),
            Column("host", String(255), nullable=False),
            Column("pid", BigInteger, nullable=False),
            Column("lease_until", DateTime(timezone=True), nullable=False),
        )
        self.configs: Table = store.table(
            "tis_config",
            Column("name", String(16), primary_key=True),
            Column("value", Text, nullable=False),
        )
        self.rejections: Table = store.table(
            "sd_rejection",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("oppkey", String(64)),
            Column("message", Text, nullable=False),
            Column("recorded", DateTime(timezone=True), nullable=False),
            tenant_in_pk=False,
        )

        self._statements()

    def _statements(self) -> None:
        """The hot paths' statements, built once and executed with parameters (no per-call construction)."""
        r, c, t, p, s = self.repo, self.configs, self.testnames, self.packages, self.item_scores
        self.q_max_oppid = select(func.max(r.c.oppid)).where(r.c.tenant == bindparam("b_tenant"),
                                                              r.c.oppid < COMBINED_OPPID_BASE)
        self.q_insert_repo = r.insert()
        self.q_config = select(c.c.value).where(c.c.tenant == bindparam("b_tenant"), c.c.name == "config")
        self.q_package_of = select(p.c.packagekey, p.c.digest).join(
            t, and_(t.c.tenant == p.c.tenant, t.c.packagekey == p.c.packagekey)).where(
            t.c.tenant == bindparam("b_tenant"), t.c.testname == bindparam("b_testname"))
        self.q_item_scores = select(s).where(s.c.tenant == bindparam("b_tenant"), s.c.oppkey == bindparam("b_oppkey"))
        # the scoring daemon's
        st = self.opp_status
        self.q_latest_status = select(st).where(st.c.tenant == bindparam("b_tenant"),
                                                st.c.oppkey == bindparam("b_oppkey")).order_by(st.c.id.desc()).limit(1)
        self.q_set_item_score = update(s).where(
            s.c.tenant == bindparam("b_tenant"), s.c.oppkey == bindparam("b_oppkey"),
            s.c.bankkey == bindparam("b_bank"), s.c.itemkey == bindparam("b_item")).values(
            score=bindparam("b_score"), status=bindparam("b_status"), scoreinfo=bindparam("b_info"),
            scoringdate=bindparam("b_now"))
        self.q_waiting = select(func.count()).select_from(s).where(
            s.c.tenant == bindparam("b_tenant"), s.c.oppkey == bindparam("b_oppkey"),
            or_(*(s.c.status == w for w in WAITING)))  # plain binds: an IN list is expanded again per execution
        self.q_insert_status = st.insert()
        self.q_insert_rejection = self.rejections.insert()
        self.q_open_file = select(r.c.fileid, r.c.location).where(
            r.c.tenant == bindparam("b_tenant"), r.c.oppkey == bindparam("b_oppkey"),
            or_(r.c.location == "destination", r.c.location == "processing")).order_by(r.c.fileid.desc()).limit(1)
        # the daemon locks the opportunity's item-score rows before it reads how many still wait (two processes
        # storing an opportunity's last two scores at once would each see the other's item waiting, and none
        # would mark it handscored) and the file it re-queues (the worker's finish locks that row too)
        self.q_lock_scores = select(s.c.bankkey).where(s.c.tenant == bindparam("b_tenant"),
                                                       s.c.oppkey == bindparam("b_oppkey")).with_for_update()
        self.q_open_file_locked = self.q_open_file.with_for_update()
        self.q_reopen_file = update(r).where(r.c.fileid == bindparam("b_fileid")).values(location="source", plan=None)
        self.q_requeue_file = update(r).where(r.c.fileid == bindparam("b_fileid")).values(requeue=True)
        # the same, compiled once and run on the DBAPI cursor (mocks/core/sqlfast.py): the daemon runs them
        # for every score THSS posts, and SQLAlchemy's per-statement work was most of their cost
        eng = self.store.engine
        self.p_latest_status = Prepared(eng, self.q_latest_status)
        self.p_set_item_score = Prepared(eng, self.q_set_item_score)
        self.p_waiting = Prepared(eng, self.q_waiting)
        self.p_insert_status = Prepared(eng, self.q_insert_status, ["tenant", "oppkey", "oppid", "testname", "testee",
                                                                    "opportunity", "status", "fileid", "recorded"])
        self.p_insert_rejection = Prepared(eng, self.q_insert_rejection, ["tenant", "oppkey", "message", "recorded"])
        self.p_open_file = Prepared(eng, self.q_open_file)
        self.p_open_file_locked = Prepared(eng, self.q_open_file_locked)
        self.p_lock_scores = Prepared(eng, self.q_lock_scores)
        self.p_reopen_file = Prepared(eng, self.q_reopen_file)
        self.p_requeue_file = Prepared(eng, self.q_requeue_file)
        self.p_notify = (Prepared(eng, select(func.pg_notify(NOTIFY_CHANNEL, func.current_schema())))
                         if self.store.is_postgres else None)

    def notify_claimable(self, conn: Connection) -> None:
        """Tell the processors of every process that a row became claimable, delivered when ``conn``'s transaction
        commits (PostgreSQL ``NOTIFY``; their listeners wake a worker instead of waiting for its next poll). On
        SQLite nothing: the processors of the receiving process are woken directly, others poll."""
        if self.p_notify is not None:
            self.p_notify.run(conn, {})

    def upgrade(self) -> None:
        """Bring a database made by an earlier examrig up to date: the columns added since (nullable, so old rows
        read as they did: no key nonce, no owner, i.e. taken by the next recovery)."""
        added = ((self.outbox.name, "key_nonce", "VARCHAR(32)"), (self.outbox.name, "owner", "VARCHAR(128)"),
                 (self.repo.name, "owner", "VARCHAR(128)"))
        inspector = inspect(self.store.engine)
        present = {name: {c["name"] for c in inspector.get_columns(name)} for name in {t for t, _, _ in added}}
        for table, column, sql_type in added:
            if column not in present[table]:
                try:
                    with self.store.begin() as conn:
                        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {sql_type}"
                                          if self.store.is_postgres else
                                          f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
                except OperationalError:  # SQLite: another process starting at once added it first
                    if column not in {c["name"] for c in inspect(self.store.engine).get_columns(table)}:
                        raise
        if self.store.is_postgres:
            self._store_documents_uncompressed()

    def _store_documents_uncompressed(self) -> None:
        """PostgreSQL: the TRT documents (~30 kB each, written two or three times and read per TRT) stored out of
        line without pglz compression (``STORAGE EXTERNAL``): compressing and decompressing them cost the server
        ~0.3 ms of CPU per write and read (measured: 1.1 -> 0.77 ms per insert and select of a 40-item TRT), disk
        the mock can spare. Changed only where not yet set (the ALTER takes a short exclusive lock); rows written
        before keep their compressed form and read as before."""
        targets = ((self.repo.name, "contents"), (self.outbox.name, "body"))
        with self.store.read() as conn:
            current = {(str(r[0]), str(r[1])): str(r[2]) for r in conn.execute(text(
                "SELECT c.relname, a.attname, a.attstorage FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "WHERE c.oid IN (to_regclass(:repo), to_regclass(:outbox)) AND a.attname IN ('contents', 'body')"),
                {"repo": self.repo.name, "outbox": self.outbox.name})}
        for table, column in targets:
            if current.get((table, column), "e") != "e":
                with self.store.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL"))

    @property
    def tables(self) -> list[Table]:
        """Every table of the service."""
        return [self.repo, self.outbox, self.item_scores, self.opp_status, self.validation, self.packages,
                self.testnames, self.package_items, self.combined_opps, self.configs, self.rejections]

    # -- configuration ----------------------------------------------------------------

    def config(self, tenant: str, cached: bool = False, conn: Connection | None = None) -> tis_config.TisConfig:
        """The tenant's effective configuration; ``cached``: as this process last read or set it (the receiver);
        ``conn``: read in that transaction. The stored settings are read every time (another process may have
        changed them); they are built again only when they changed.
        """
        if cached and not self.shared_settings:
            with self._cache_lock:
                entry = self._configs.get(tenant)
                if entry is not None:
                    self._configs.move_to_end(tenant)
                    return entry[0]
        if conn is None:
            with self.store.read() as own:
                return self.config(tenant, conn=own)
        row = conn.execute(self.q_config, {"b_tenant": tenant}).first()
        text = str(row[0]) if row else None
        with self._cache_lock:
            entry = self._configs.get(tenant)
            if entry is not None and entry[1] == text:
                self._configs.move_to_end(tenant)
                return entry[0]
        built = tis_config.build(self.options, json.loads(text) if text else None)
        with self._cache_lock:
            self._configs[tenant] = (built, text)
            self._configs.move_to_end(tenant)
            while len(self._configs) > CONFIG_CACHE_SIZE:
                self._configs.popitem(last=False)  # the least recently used tenant: read again when it comes back
        return built

    def forget_cached(self) -> None:
        """Drop the cached configurations and parsed packages (after a reset)."""
        with self._cache_lock:
            self._configs.clear()
            self._cache.clear()

    def set_config(self, tenant: str, values: dict[str, Any]) -> None:
        """Override settings for ``tenant`` (raises ``ConfigError``)."""
        tis_config.build(self.options, values)
        c = self.configs
        with self.store.begin() as conn:  # an atomic upsert: two settings posted at once never collide
            self.store.upsert(conn, c, {"tenant": tenant, "name": "config", "value": json.dumps(values)},
                              ("tenant", "name"))
        with self._cache_lock:
            self._configs.pop(tenant, None)

    # -- receiver ---------------------------------------------------------------------

    def receive(self, tenant: str, body: bytes, callback: str, scoremode: str) -> int:
        """Store one TRT as ``source`` (committed on return); raises :class:`ReceiveError`."""
        try:
            root = parse_xml(body)
        except (XmlError, UnsafeXmlError) as exc:
            raise ReceiveError("content", "body", str(exc)) from None
        if root.tag != "TDSReport":
            raise ReceiveError("root", str(root.tag))
        try:
            keys = key_fields(root)
        except FieldError as exc:
            raise ReceiveError("keys", exc.field, exc.detail) from None
        text = body.decode("utf-8", errors="replace") if not isinstance(body, str) else body
        now = self.clock.now(tenant)
        with self.store.begin() as conn:
            opp_id = keys.opp_id
            if opp_id == 0:
                # the tenant's lock (held to the commit) queues concurrent oppId="0" receptions, so each reads the
                # max after the one before it committed (READ COMMITTED takes a new snapshot per statement)
                self.store.lock(conn, tenant, "tis-oppid")
                top = conn.execute(self.q_max_oppid, {"b_tenant": tenant}).scalar()
                opp_id = int(top or 0) + 1
                text = text.replace('oppId="0"', f'oppId="{opp_id}"')
                if sabotage.on("tis.oppid-zero-kept"): opp_id, text = 0, text.replace(f'oppId="{opp_id}"', 'oppId="0"')  # noqa: E701
            result = conn.execute(self.q_insert_repo, {
                "tenant": tenant, "location": "source", "testname": keys.test_name, "oppid": opp_id,
                "oppkey": keys.opp_key, "testee": keys.testee, "statusdate": keys.status_date,
                "isdemo": keys.is_demo, "contents": text, "callbackurl": callback, "scoremode": "default" if scoremode != "default" and sabotage.on("tis.scoremode-not-stored") else scoremode,  # noqa: E501
                "daterecorded": now, "requeue": False})
            pk = result.inserted_primary_key
            assert pk is not None
            fileid = int(pk[0])
            if sabotage.on("tis.unloaded-test-rejected") and self.blueprint(tenant, keys.test_name, conn) is None: conn.execute(update(self.repo).where(self.repo.c.fileid == fileid).values(location="reject"))  # noqa: E501, E701
            self.notify_claimable(conn)
        return fileid

    def resubmit(self, tenant: str, opp_key: str) -> int:
        """Re-queue the latest processed file of an opportunity (the manual resubmission); returns its fileid."""
        r = self.repo
        with self.store.begin() as conn:
            row = conn.execute(select(r.c.fileid).where(
                r.c.tenant == tenant, r.c.oppkey == opp_key.lower(),
                r.c.location.in_(("destination", "reject"))).order_by(r.c.fileid.desc()).limit(1)
                .with_for_update()).first()
            if row is None:
                raise KeyError(opp_key)
            # only a file still processed is re-queued: a concurrent resubmission that re-queued it (and a worker
            # that claimed it since) is not undone
            moved = conn.execute(update(r).where(r.c.fileid == row[0], r.c.location.in_(("destination", "reject")))
                                 .values(location="source", plan=None, requeue=False)).rowcount
            if not moved:
                raise KeyError(opp_key)
            self.notify_claimable(conn)
            return int(row[0])

    # -- test packages ----------------------------------------------------------------

    def load_package(self, tenant: str, data: bytes) -> list[str]:
        """Load a v4 package, replacing any assessment with the same keys; returns the items already loaded."""
        pkg = parse_package(data)
        text = data.decode("utf-8", errors="replace")
        now = self.clock.now(tenant)
        p, t, ib = self.packages, self.testnames, self.package_items
        with self.store.begin() as conn:
            for key in [*pkg.assessment_keys, pkg.key]:
                self._delete(conn, tenant, key)
            existing = {row[0] for row in conn.execute(select(ib.c.itemname).where(
                ib.c.tenant == tenant, ib.c.itemname.in_(pkg.item_names)))}
            conn.execute(p.insert().values(tenant=tenant, packagekey=pkg.key, content=text,
                                           digest=hashlib.sha256(data).hexdigest(), loaded=now))
            for name, bp in pkg.blueprints.items():
                conn.execute(t.delete().where(t.c.tenant == tenant, t.c.testname == name))
                conn.execute(t.insert().values(tenant=tenant, testname=name, packagekey=pkg.key, role=bp.role))
            for name in dict.fromkeys(pkg.item_names):
                if name not in existing:
                    conn.execute(ib.insert().values(tenant=tenant, itemname=name, packagekey=pkg.key))
            self.notify_claimable(conn)  # TRTs waiting for this test's package can be claimed now
        return sorted(existing)

    def _delete(self, conn: Connection, tenant: str, key: str) -> int:
        p, t, ib = self.packages, self.testnames, self.package_items
        pkeys = {key} | {row[0] for row in conn.execute(select(t.c.packagekey).where(
            t.c.tenant == tenant, t.c.testname == key))}
        removed = 0
        for pk in pkeys:
            removed += conn.execute(p.delete().where(p.c.tenant == tenant, p.c.packagekey == pk)).rowcount or 0
            conn.execute(t.delete().where(t.c.tenant == tenant, t.c.packagekey == pk))
            conn.execute(ib.delete().where(ib.c.tenant == tenant, ib.c.packagekey == pk))
        return removed

    def delete_assessment(self, tenant: str, key: str) -> bool:
        """Delete the package holding assessment ``key``; false when there is none."""
        with self.store.begin() as conn:
            return self._delete(conn, tenant, key) > 0

    def blueprint(self, tenant: str, test_name: str, conn: Connection | None = None) -> Blueprint | None:
        """The blueprint for a Test@name, from the loaded packages (parsed once per content); read in ``conn``."""
        if conn is None:
            with self.store.read() as own:
                return self.blueprint(tenant, test_name, own)
        p = self.packages
        # the digest is checked on every call (another process may have replaced the package); the content is
        # read only when this process has not parsed that digest yet
        row = conn.execute(self.q_package_of, {"b_tenant": tenant, "b_testname": test_name}).first()
        if row is None:
            return None
        cache_key = (tenant, str(row[0]), str(row[1]))
        with self._cache_lock:
            pkg = self._cache.get(cache_key)
        if pkg is None:
            content = conn.execute(select(p.c.content).where(p.c.tenant == tenant, p.c.packagekey == row[0])).scalar()
            if content is None:
                return None
            try:
                pkg = parse_package(str(content).encode("utf-8"))
            except PackageError:
                return None
            with self._cache_lock:
                if len(self._cache) > 256:
                    self._cache.clear()
                self._cache[cache_key] = pkg
        return pkg.blueprints.get(test_name)

    # -- scoring daemon ---------------------------------------------------------------

    def item_score(self, tenant: str, opp_key: str, bank: int, item: int, score: float, status: str,
                   score_info: str) -> DaemonOutcome:
        """``SD_UpdateItemScore`` then ``SD_UpdateOppStatusForItemsScored``, committed before it returns.

        Scores arriving together (THSS posts several at once) share one transaction (group commit): the caller
        that gets the writer's turn writes every score queued by then, in arrival order, and each caller returns
        once the transaction holding its score has committed. One transaction instead of one per score means
        one wait for the database's writer lock instead of several (the lock every write of the process queues
        on). A batch that fails is written again score by score, so a bad score fails only its own callback.
        """
        job = _ScoreJob(tenant, opp_key.lower(), bank, item, score, status, score_info)
        with self._batch_mu:
            self._batch.append(job)
        with self._batch_writer:
            if not job.done:
                with self._batch_mu:
                    batch, self._batch = self._batch, []
                self._write_scores(batch)
        if job.error is not None:
            raise job.error
        assert job.outcome is not None
        return job.outcome

    def _write_scores(self, batch: list[_ScoreJob]) -> None:
        try:
            with self.store.begin() as conn:
                # every opportunity of the batch locked first, in one order: batches of two processes never
                # wait on each other in a cycle
                for tenant, key in sorted({(job.tenant, job.key) for job in batch}):
                    self.p_lock_scores.run(conn, {"b_tenant": tenant, "b_oppkey": key})
                outcomes = [self._item_score(conn, *job.args(), self.clock.now(job.tenant)) for job in batch]
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error, batch[0].done = exc, True
                return
            for job in batch:  # one by one: only the score that fails fails
                self._write_scores([job])
            return
        for job, outcome in zip(batch, outcomes, strict=True):
            job.outcome, job.done = outcome, True

    def _item_score(self, conn: Connection, tenant: str, key: str, bank: int, item: int, score: float, status: str,
                    score_info: str, now: datetime) -> DaemonOutcome:
        latest = self.p_latest_status.first(conn, {"b_tenant": tenant, "b_oppkey": key})
        latest = None if sabotage.on("tis.daemon-score-refused") else latest
        if latest is None or latest["status"] not in ACCEPTING:
            message = (f"Item Scoring: Did not accept score: oppKey {key}, item {bank}-{item}, "
                       f"opportunity status {latest['status'] if latest else 'unknown'}")
            self.p_insert_rejection.execute(conn, {"tenant": tenant, "oppkey": key, "message": message,
                                                   "recorded": now})
            return DaemonOutcome("rejected", message)
        done = self.p_set_item_score.execute(conn, {
            "b_tenant": tenant, "b_oppkey": key, "b_bank": bank, "b_item": item, "b_score": score,
            "b_status": status, "b_info": score_info, "b_now": now})
        if not done:
            message = f"Item Scoring: Did not accept score: no item {bank}-{item} waiting for {key}"
            self.p_insert_rejection.execute(conn, {"tenant": tenant, "oppkey": key, "message": message,
                                                   "recorded": now})
            return DaemonOutcome("rejected", message)
        waiting = self.p_waiting.scalar(conn, {"b_tenant": tenant, "b_oppkey": key})
        if waiting:
            return DaemonOutcome("stored", f"{waiting} item(s) still waiting")
        self.p_insert_status.execute(conn, {
            "tenant": tenant, "oppkey": key, "oppid": latest["oppid"], "testname": latest["testname"],
            "testee": latest["testee"], "opportunity": latest["opportunity"], "status": "handscored",
            "fileid": latest["fileid"], "recorded": now})
        row = self._open_file(conn, tenant, key)
        if row is not None and row["location"] == "destination":
            self.p_reopen_file.execute(conn, {"b_fileid": row["fileid"]})
            self.notify_claimable(conn)
        elif row is not None:
            # still being routed by the worker: it re-queues the file when it finishes
            self.p_requeue_file.execute(conn, {"b_fileid": row["fileid"]})
        return DaemonOutcome("handscored", f"all items scored; file {row['fileid'] if row else '?'} re-queued")

    def _open_file(self, conn: Connection, tenant: str, key: str) -> dict[str, Any] | None:
        """The opportunity's latest destination or processing file, locked.

        On PostgreSQL a row locked after a wait is checked again against the condition: a file the worker moved
        meanwhile (archived, its new TRT published under a new fileid) drops out and the locked query finds
        nothing, so the plain query (a new snapshot) tells whether another file is there to lock instead.
        """
        for _ in range(10):
            row = self.p_open_file_locked.first(conn, {"b_tenant": tenant, "b_oppkey": key})
            if row is not None or self.p_open_file.first(conn, {"b_tenant": tenant, "b_oppkey": key}) is None:
                return row
        return None

    def reject_score(self, tenant: str, opp_key: str, message: str) -> DaemonOutcome:
        """Log a score the daemon drops before storing it (an item resolution rule failed)."""
        with self.store.begin() as conn:
            conn.execute(self.rejections.insert().values(tenant=tenant, oppkey=opp_key.lower(), message=message,
                                                         recorded=self.clock.now(tenant)))
        return DaemonOutcome("rejected", message)

    # -- reading ------------------------------------------------------------------------

    def files(self, tenant: str, opp_key: str) -> list[dict[str, Any]]:
        """Every xmlrepository row of an opportunity, oldest first."""
        r = self.repo
        with self.store.read() as conn:
            rows = conn.execute(select(r).where(r.c.tenant == tenant, r.c.oppkey == opp_key.lower())
                                .order_by(r.c.fileid)).mappings().all()
        return [_file(row) for row in rows]

    def file(self, tenant: str, fileid: int) -> dict[str, Any] | None:
        """One xmlrepository row."""
        r = self.repo
        with self.store.read() as conn:
            row = conn.execute(select(r).where(r.c.tenant == tenant, r.c.fileid == fileid)).mappings().first()
        return _file(row) if row else None

    def opportunity(self, tenant: str, opp_key: str) -> dict[str, Any] | None:
        """Files, statuses, item scores, validation records and sends of one opportunity."""
        key = opp_key.lower()
        files = self.files(tenant, key)
        if not files:
            return None
        st, s, v, o = self.opp_status, self.item_scores, self.validation, self.outbox
        ids = [f["fileId"] for f in files]
        with self.store.read() as conn:
            statuses = conn.execute(select(st.c.status).where(st.c.tenant == tenant, st.c.oppkey == key)
                                    .order_by(st.c.id)).scalars().all()
            items = conn.execute(select(s).where(s.c.tenant == tenant, s.c.oppkey == key)
                                 .order_by(s.c.position)).mappings().all()
            records = conn.execute(select(v).where(v.c.tenant == tenant, v.c.fileid.in_(ids))
                                   .order_by(v.c.id)).mappings().all()
            sends = conn.execute(select(o).where(o.c.tenant == tenant, o.c.fileid.in_(ids))
                                 .order_by(o.c.id)).mappings().all()
            waiting_names = sorted({f["testName"] for f in files if f["location"] == "source"})
            known = set(conn.execute(select(self.testnames.c.testname)
                                     .where(self.testnames.c.testname.in_(waiting_names))).scalars()) \
                if waiting_names else set()
        # why a file waits in `source` (an examrig addition for `examrig submit` and people reading the state):
        # the claim skips a file whose test no package loaded, and TIS itself says nothing about it
        waiting = [{"fileId": f["fileId"], "testName": f["testName"],
                    "reason": "test loaded; waiting for a processing worker" if f["testName"] in known
                    else "unknown test: no test package loaded for it"}
                   for f in files if f["location"] == "source"]
        return {
            "oppKey": key, "files": files, "statuses": list(statuses), "waiting": waiting,
            "itemScores": [{"item": f"{i['bankkey']}-{i['itemkey']}", "status": i["status"], "score": i["score"],
                            "itemType": i["itemtype"]} for i in items],
            "validation": [{"fileId": x["fileid"], "severity": x["severity"], "rule": x["ruleid"],
                            "xpath": x["xpath"], "message": x["message"]} for x in records],
            "sends": [{"fileId": x["fileid"], "kind": x["kind"], "url": x["url"], "state": x["state"],
                       "statusCode": x["status_code"], "error": x["error"], "body": x["body"],
                       "idempotencyKey": delivery_key(x["key_nonce"], x["id"])} for x in sends],
        }

    def daemon_rejections(self, tenant: str) -> list[str]:
        """The scoring daemon's rejection log."""
        j = self.rejections
        with self.store.read() as conn:
            return list(conn.execute(select(j.c.message).where(j.c.tenant == tenant).order_by(j.c.id)).scalars())

    def counts(self, tenant: str) -> dict[str, int]:
        """Rows per location."""
        r = self.repo
        with self.store.read() as conn:
            rows = conn.execute(select(r.c.location, func.count()).where(r.c.tenant == tenant)
                                .group_by(r.c.location)).all()
        return {str(a): int(b) for a, b in rows}


def delivery_key(nonce: str | None, outbox_id: int) -> str | None:
    """The ``Idempotency-Key`` of an outbox row (none for a row queued before keys existed)."""
    return f"tis-{nonce}-{outbox_id}" if nonce else None


def _file(row: Any) -> dict[str, Any]:
    return {"fileId": row["fileid"], "location": row["location"], "testName": row["testname"],
            "oppId": row["oppid"], "oppKey": row["oppkey"], "testee": row["testee"],
            "statusDate": iso(row["statusdate"]), "isDemo": row["isdemo"], "callbackUrl": row["callbackurl"],
            "scoreMode": row["scoremode"], "contents": row["contents"], "parent": row["parent"]}


def now_or(clock: Clock, tenant: str) -> datetime:
    """The tenant's instant (a seam for the processor)."""
    return clock.now(tenant)
