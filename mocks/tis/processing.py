"""The TIS processing service: claim source rows, validate, merge, score, route, acknowledge, merge combined tests."""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from lxml import etree  # type: ignore[import-untyped]
from sqlalchemy import Connection, Text, and_, bindparam, exists, literal, select, update

from contracts.xmlsafe import XmlError, parse_xml
from mocks.core import sabotage
from mocks.core.clock import Clock
from mocks.core.idempotency import HEADER, wire_value
from mocks.core.outbound import Outbound
from mocks.tis.config import TisConfig
from mocks.tis.models import COMBINED_OPPID_BASE, NOTIFY_CHANNEL, Tis, _file, delivery_key
from mocks.tis.package import Blueprint
from mocks.tis.scoring import ItemInput, ScoringError, score_opportunity
from mocks.tis.trt import FieldError, item_name, serialize, serialize_utf16_declared, typed_check

log = logging.getLogger("examrig.tis")

MAPPED = ("completed", "expired", "invalidated", "reported", "reset", "scored", "submitted")
NO_ITEMS_OK = ("reset", "invalidated", "expired", "paused", "partial", "denied", "pending")
NO_START_OK = ("invalidated", "reset", "expired", "paused", "partial", "denied")
MSG_FAIL_UPDATE = "failed validation"
MSG_FAIL_VALIDATION = ("failed while either updating the Response Bank, storing data into the DoR, "
                       "or invoking the Handscoring webservice")
MSG_UNKNOWN = "An unknown exception occurred"
MSG_RULES = "Failed rules validation"
CANDIDATES = 4  # claimable rows a SQLite claim reads at once (it takes the first still free)
LISTEN_POLL = 1.0  # seconds between an idle worker's looks while it listens for notifications (PostgreSQL)
LEASE_SECONDS = 30.0  # a processor's lease in tis_worker; its heartbeat renews it three times a lease


@dataclass
class Plan:
    """The outcome of the computing part of one pass (no side effects yet)."""

    result: str  # success | fail_validation | unknown
    opp_key: str
    ack: bool
    status: str = ""
    records: list[tuple[int, str, str, str]] = field(default_factory=list)
    content: str | None = None  # the modified TRT (ArchiveAndInsert) or None
    staged: int | None = None  # the row holding ``content`` from the plan's commit until the pass ends
    hand_items: list[dict[str, Any]] = field(default_factory=list)
    thss_body: str | None = None
    thss_filename: str = ""
    dw_body: str | None = None
    ack_trt: str | None = None
    component: bool = False
    testee: int = 0
    opportunity: int = 0
    test_name: str = ""
    send_ids: list[int] = field(default_factory=list)

    def to_json(self) -> str:
        """Serialised for the row's ``plan`` column; the THSS and DW bodies are in the outbox rows and a staged
        new TRT in its own row, not here.
        """
        return json.dumps({**self.__dict__, "thss_body": None, "dw_body": None,
                           "content": None if self.staged is not None else self.content})

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """The inverse of :meth:`to_json`."""
        data = json.loads(text)
        data["records"] = [tuple(r) for r in data.get("records", [])]
        return cls(**data)


class _Lost(Exception):
    """Another worker took the row this pass was computed for (SQLite's optimistic claim)."""


@dataclass(frozen=True)
class Mark:
    """A send's outcome, written to its outbox row by the next write transaction of the pass."""

    tenant: str
    outbox_id: int
    ok: bool
    code: int | None
    error: str | None


@dataclass
class Prefetch:
    """What a pass reads, read with its claim (in the claim's write transaction): no read transaction of its own."""

    config: TisConfig
    blueprint: Blueprint | None
    scores: list[Any]


def _resolve(url: str, peer: Callable[[str], str]) -> str:
    if url.startswith("peer:"):
        name, _, path = url[5:].partition("/")
        try:
            return peer(name) + "/" + path
        except Exception:  # no base URL for that peer: the send fails and the pass with it (FailUpdate)
            return f"unconfigured://{name}/{path}"
    return url


class Processor:
    """Claims ``source`` rows and runs TIS's pass over each; the outbound calls never sit inside a transaction.

    Crash safety: a pass commits its plan (new TRT, item-score rows, status, and the THSS and
    DW sends as outbox rows) before any outbound call; each send is marked ``sending`` before
    and ``sent``/``failed`` after the call; the finalising transaction moves the rows and adds
    the ack to the outbox. After a restart, :meth:`recover` puts unplanned ``processing`` rows
    back to ``source`` and resumes planned ones from their outbox, so every acknowledged TRT
    is processed once (a send interrupted between the peer's answer and its ``sent`` mark is
    the one case resent).
    """

    def __init__(self, model: Tis, outbound: Outbound, peer: Callable[[str], str],
                 lease_seconds: float = LEASE_SECONDS) -> None:
        self.model = model
        self.store = model.store
        self.outbound = outbound
        self.peer = peer
        self._inflight: dict[int, str] = {}
        self._cond = threading.Condition()
        self._tokens: dict[str, str] = {}
        self._stop = threading.Event()
        # idle workers sleep here; each wake() lets one of them look (not all: one arrival, one claim attempt)
        self._idle = threading.Condition()
        self._wakes = 0
        self._workers = 1
        self._threads: list[threading.Thread] = []
        self._local = threading.local()  # per worker thread: the last acknowledgement's outcome, not yet written
        # this process's part of the deliveries' Idempotency-Keys (with the outbox id; stored in each row), from its
        # own stream so that the seeded ids of everything else stay as they were
        self._nonce = f"{model.ids.rng('tis-delivery-keys').getrandbits(48):012x}"
        # who holds a claimed row: unique per processor of any process on any host (seeded streams are the same in
        # two processes given one seed, so not from them); the wall clock tells two lives of one pid apart
        self.host = socket.gethostname()[:200]
        self.owner = f"{self.host}:{os.getpid()}:{Clock.wall().timestamp():.6f}:{id(self):x}"
        self.lease = max(1.0, float(lease_seconds))
        self._registered = False
        self._register_lock = threading.Lock()
        # outbox rows this processor marked 'sending' and whose outcome it has not written yet (held: a recovery
        # here leaves them alone); ids are never reused, so a stale entry of a rolled-back transaction is harmless
        self._sending: set[int] = set()
        self._sending_lock = threading.Lock()
        self._beat_stop = threading.Event()
        self._beat: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._listen_stop = threading.Event()
        self._listen_ready = threading.Event()
        self._claim_statements()

    # -- the worker thread ----------------------------------------------------------------

    def start(self, poll_interval: float = 0.05, workers: int = 1) -> None:
        """Recover, then process in ``workers`` background threads until :meth:`stop`.

        Several threads overlap one pass's waits on its peers with another's computing; the claim
        gives each row to one of them, and two rows of one testee are never in hand at once.
        """
        self.recover()
        self._stop.clear()
        self._workers = max(1, workers)
        self.listen()
        self._threads = [threading.Thread(target=self._loop, args=(poll_interval, n), name=f"tis-worker-{n}",
                                          daemon=True) for n in range(max(1, workers))]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for the pass in hand to finish."""
        self._stop.set()
        with self._idle:
            self._idle.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []
        self._stop_listening()
        self.release()

    def wake(self) -> None:
        """Let one idle worker look for work now (a TRT arrived, a file was re-queued)."""
        with self._idle:
            self._wakes = min(self._wakes + 1, self._workers)  # a wake nobody waited for is kept (bounded)
            self._idle.notify()

    def arrived(self) -> None:
        """A row became claimable through this process (a receipt, a re-queue): wake a worker here, unless the
        database's notification will (a listening processor gets it too: waking it twice costs a claim)."""
        if self._listener is None:
            self.wake()

    # -- wake-ups across processes (PostgreSQL LISTEN/NOTIFY) ----------------------------------

    def listen(self) -> bool:
        """On PostgreSQL, wake a worker for every row made claimable by any process (``Tis.notify_claimable``), so
        worker processes apart from the receiver start at once instead of at their next poll; the poll stays as the
        fallback (a notification lost with a broken connection). Returns whether it listens (False on SQLite)."""
        if not self.store.is_postgres or self._listener is not None:
            return self._listener is not None
        self._listen_stop.clear()
        self._listen_ready.clear()
        self._listener = threading.Thread(target=self._listen_loop, name="tis-listen", daemon=True)
        self._listener.start()
        # a row made claimable before LISTEN ran is found by the first look for work, or by the poll
        self._listen_ready.wait(10)
        return True

    def _listen_loop(self) -> None:
        while not self._listen_stop.is_set():
            raw: Any = None
            try:
                raw = self.store.engine.raw_connection()
                pg: Any = raw.driver_connection
                raw.detach()  # its own session for good: LISTEN belongs to the connection, never back to the pool
                pg.rollback()
                pg.autocommit = True
                row = pg.execute("SELECT current_schema()").fetchone()
                schema = row[0] if row else None
                pg.execute(f"LISTEN {NOTIFY_CHANNEL}")
                self._listen_ready.set()
                while not self._listen_stop.is_set():
                    # a second at most between looks at the stop flag; each notification of this schema's rows
                    # wakes one worker (the channel is the database's: other schemas' rows are not ours)
                    for note in pg.notifies(timeout=1.0):
                        if note.payload == schema:
                            self.wake()
            except Exception:  # the database went away: the poll covers the gap, listen again a moment later
                log.debug("tis: listening for claimable rows failed", exc_info=True)
                self._listen_stop.wait(1.0)
            finally:
                if raw is not None:
                    try:
                        raw.close()
                    except Exception:
                        log.debug("tis: closing the listening connection failed", exc_info=True)

    def _stop_listening(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            self._listen_stop.set()
            listener.join(timeout=30)

    def idle(self, timeout: float) -> None:
        """Wait up to ``timeout`` for a wake (``examrig worker tis`` between looks for work)."""
        self._sleep(timeout)

    def _sleep(self, timeout: float) -> None:
        with self._idle:
            if not self._wakes and not self._stop.is_set():
                self._idle.wait(timeout)
            if self._wakes:
                self._wakes -= 1

    def _loop(self, poll_interval: float, index: int = 0) -> None:
        self._local.index = index
        idle = 0
        next_recovery = Clock.monotonic() + self.lease
        while not self._stop.is_set():
            if index == 0 and Clock.monotonic() >= next_recovery:
                # rows of a processor that died (elsewhere, or here before a restart) are taken once its lease ran
                # out: a look every lease
                next_recovery = Clock.monotonic() + self.lease
                try:
                    self.recover()
                except Exception:
                    log.exception("tis recovery failed")
            try:
                worked = self._run_one(None)
            except Exception:  # a bad pass must not kill the service
                log.exception("tis worker pass failed")
                worked = False
            if worked:
                idle = 0
                continue
            idle += 1
            if idle > 1:
                # the last ack's outcome rides on the next pass's commit; after a whole poll without work it is
                # written alone (a transaction less per pass while work keeps coming)
                self._flush_quietly()
            # listening (PostgreSQL), every receipt, re-queue and package load anywhere wakes a worker: the poll only
            # covers a notification lost with a broken connection and rows that became claimable without one (a
            # testee's next file once the one before was finished elsewhere), so it looks far less often; the
            # first idle look keeps the short interval (the pending ack outcome is flushed after it)
            self._sleep(poll_interval if idle <= 1 or self._listener is None else max(poll_interval, LISTEN_POLL))
        self._flush_quietly()

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:  # the outcome stays 'sending': resent (same key) by the next recovery
            log.exception("tis: writing an acknowledgement's outcome failed")

    def process_pending(self, tenant: str | None = None, limit: int | None = None) -> int:
        """Process claimable rows now (of ``tenant`` or all); waits for passes other threads have in hand."""
        done = 0
        while limit is None or done < limit:
            if not self._run_one(tenant):
                break
            done += 1
        with self._cond:
            self._cond.wait_for(lambda: not any(tenant in (None, t) for t in self._inflight.values()), timeout=30)
        if limit is None or done < limit:
            # a pass finished by another thread may have queued more (hand scores, combined TRTs)
            while limit is None or done < limit:
                if not self._run_one(tenant):
                    break
                done += 1
        self.flush()
        return done

    def _run_one(self, tenant: str | None) -> bool:
        self.register()
        if self.store.is_postgres:
            claimed = self.claim_row(tenant)
            if claimed is None:
                return False
            self._process_claimed(claimed, take=False)
            return True
        # SQLite: the row is taken by the plan's own commit (one write transaction less per pass: every write of
        # the process queues on one lock); a worker that finds its candidate taken meanwhile looks again
        for _ in range(50):
            claimed = self._candidate(tenant)
            if claimed is None:
                return False
            if self._process_claimed(claimed, take=True):
                return True
        return False

    def _process_claimed(self, claimed: dict[str, Any], *, take: bool) -> bool:
        fileid, row_tenant = int(claimed["fileId"]), str(claimed["tenant"])
        with self._cond:
            self._inflight[fileid] = row_tenant
        try:
            self.process(row_tenant, fileid, claimed, take=take)
        except _Lost:
            return False
        except Exception:
            if take:  # parked in 'processing' without a plan (recovery returns it): not retried in a loop
                with self.store.begin() as conn:
                    conn.execute(self._take, {"c_fileid": fileid, "c_owner": self.owner})
            raise
        finally:
            with self._cond:
                self._inflight.pop(fileid, None)
                self._cond.notify_all()
        return True

    def _candidate(self, tenant: str | None) -> dict[str, Any] | None:
        """A claimable row with what its pass needs, read without taking it (SQLite's optimistic claim).

        Each worker thread looks first at a different one of the first few candidates, so that workers looking
        at once do not all compute a pass for the same row.
        """
        query = self._candidates_any if tenant is None else self._candidates_tenant
        params = {} if tenant is None else {"c_tenant": tenant}
        with self.store.read() as conn:
            fileids = list(conn.execute(query, params).scalars())
            if not fileids:
                return None
            pick = fileids[getattr(self._local, "index", 0) % len(fileids)]
            row = conn.execute(self._candidate_row, {"c_fileid": pick}).mappings().first()
            if row is None:
                return None
            prefetch = self._prefetch(conn, row)
        return {**_file(row), "tenant": str(row["tenant"]), "prefetch": prefetch}

    # -- claiming and recovery ------------------------------------------------------------

    def _claim_statements(self) -> None:
        """The claim's statements, built once (the hot path compiles them from SQLAlchemy's cache by key)."""
        r, t = self.model.repo, self.model.testnames
        busy = r.alias("busy")
        query = select(r.c.fileid).where(
            r.c.location == "source",
            exists().where(and_(t.c.tenant == r.c.tenant, t.c.testname == r.c.testname)),
            ~exists().where(and_(busy.c.tenant == r.c.tenant, busy.c.location == "processing",
                                 busy.c.testee == r.c.testee))).order_by(
            r.c.statusdate, r.c.daterecorded, r.c.fileid).limit(1)
        self._candidate_any = query
        self._candidate_tenant = query.where(r.c.tenant == bindparam("c_tenant"))
        # SQLite: the first few candidates, so that workers reading at once do not all go for the same row
        few = query.limit(CANDIDATES)
        self._candidates_any = few
        self._candidates_tenant = few.where(r.c.tenant == bindparam("c_tenant"))
        self._candidate_row = select(r).where(r.c.fileid == bindparam("c_fileid"))
        other = r.alias("other")
        # PostgreSQL: the claim in one statement and one round trip (it was three: the candidate FOR UPDATE SKIP
        # LOCKED, its row, the take): the candidate subquery locks the row (skipping rows other claimers hold),
        # the UPDATE checks it is still free as the guarded take does and returns the whole row
        cand, cand_t, cand_busy = r.alias("cand"), t.alias("cand_t"), r.alias("cand_busy")
        pick = select(cand.c.fileid).where(
            cand.c.location == "source",
            exists().where(and_(cand_t.c.tenant == cand.c.tenant, cand_t.c.testname == cand.c.testname)),
            ~exists().where(and_(cand_busy.c.tenant == cand.c.tenant, cand_busy.c.location == "processing",
                                 cand_busy.c.testee == cand.c.testee))).order_by(
            cand.c.statusdate, cand.c.daterecorded, cand.c.fileid).limit(1)

        def claim_one(candidate: Any) -> Any:
            return update(r).where(
                r.c.fileid == candidate.with_for_update(skip_locked=True, of=cand).scalar_subquery(),
                r.c.location == "source",
                ~exists().where(and_(other.c.tenant == r.c.tenant, other.c.location == "processing",
                                     other.c.testee == r.c.testee))).values(
                location="processing", plan=None, requeue=False, owner=bindparam("c_owner")).returning(*r.c)

        self._claim_pg_any = claim_one(pick)
        self._claim_pg_tenant = claim_one(pick.where(cand.c.tenant == bindparam("c_tenant")))
        # taken only if still in source and no other row of the testee went to processing meanwhile
        self._take = update(r).where(
            r.c.fileid == bindparam("c_fileid"), r.c.location == "source",
            ~exists().where(and_(other.c.tenant == r.c.tenant, other.c.location == "processing",
                                 other.c.testee == r.c.testee))).values(location="processing", plan=None,
                                                                       requeue=False, owner=bindparam("c_owner"))
        o, st = self.model.outbox, self.model.opp_status
        self._q_insert_outbox = o.insert()
        self._q_insert_status = st.insert()
        self._q_mark = update(o).where(o.c.id == bindparam("b_id")).values(
            state=bindparam("b_state"), status_code=bindparam("b_code"), error=bindparam("b_error"),
            updated=bindparam("b_updated"))
        # the plan is written only while this processor still holds the row (a recovery after its lease ran out
        # may have given it to another): rowcount 0 rolls the pass back
        self._q_set_plan = update(r).where(r.c.fileid == bindparam("b_fileid"), r.c.owner == bindparam("b_owner"),
                                           r.c.location == "processing").values(plan=bindparam("b_plan"))
        self._q_row = select(r).where(r.c.fileid == bindparam("b_fileid"))
        # the finish locks the row: the scoring daemon's re-queue (requeue=True) lands before or after, never lost
        self._q_row_locked = self._q_row.with_for_update()
        s = self.model.item_scores
        self._q_drop_score = s.delete().where(s.c.tenant == bindparam("b_tenant"), s.c.oppkey == bindparam("b_oppkey"),
                                              s.c.bankkey == bindparam("b_bank"), s.c.itemkey == bindparam("b_item"))
        self._q_insert_score = s.insert()
        self._q_move = update(r).where(r.c.fileid == bindparam("b_fileid")).values(location=bindparam("b_location"))
        # the new TRT of a pass, copied from its original's row with the new contents ('staged' is never claimed)
        src = r.alias("original")
        self._q_stage = r.insert().from_select(
            ["tenant", "location", "testname", "oppid", "oppkey", "testee", "statusdate", "isdemo", "contents",
             "callbackurl", "scoremode", "daterecorded", "requeue", "parent"],
            select(src.c.tenant, literal("staged"), src.c.testname, src.c.oppid, src.c.oppkey, src.c.testee,
                   src.c.statusdate, src.c.isdemo, bindparam("b_contents", type_=Text()), src.c.callbackurl,
                   literal("default"), bindparam("b_now", type_=r.c.daterecorded.type), literal(False), src.c.fileid,
                   ).where(src.c.fileid == bindparam("b_fileid"))).returning(r.c.fileid)
        self._q_publish = update(r).where(r.c.fileid == bindparam("b_fileid")).values(
            location=bindparam("b_location"), daterecorded=bindparam("b_now"))
        self._q_unstage = r.delete().where(r.c.fileid == bindparam("b_fileid"), r.c.location == "staged")

    def claim(self, tenant: str | None = None) -> tuple[int, str] | None:
        """Move one ``source`` row to ``processing`` (never the same row for two workers); returns it."""
        got = self.claim_row(tenant)
        return None if got is None else (int(got["fileId"]), str(got["tenant"]))

    def claim_row(self, tenant: str | None = None) -> dict[str, Any] | None:
        """:meth:`claim`, returning the claimed row as :meth:`Tis.file` gives it (read with the claim).

        On SQLite the first few candidates are read without the write lock (an idle worker never takes it) and the
        first still free is taken by a guarded UPDATE (a worker that lost every one looks again at once); on
        PostgreSQL the candidate is selected ``FOR UPDATE SKIP LOCKED`` in the write transaction.
        What the pass needs (configuration, blueprint, stored item scores: ``prefetch``) is read with the candidate
        (a file is claimable again only once its last hand score is stored, so no score can be missed), and the
        taking transaction writes this thread's last acknowledgement outcome (:meth:`_pending_mark`).
        """
        self.register()
        params = {} if tenant is None else {"c_tenant": tenant}
        query = self._candidate_any if tenant is None else self._candidate_tenant
        mark = self._pending_mark()
        prefetch: Prefetch | None = None
        if self.store.is_postgres:
            claim = self._claim_pg_any if tenant is None else self._claim_pg_tenant
            with self.store.begin() as conn:
                if mark is not None:
                    self._write_mark(conn, mark)
                row = conn.execute(claim, {**params, "c_owner": self.owner}).mappings().first()
                if row is None:
                    return None
                prefetch = self._prefetch(conn, row)
        else:
            query = self._candidates_any if tenant is None else self._candidates_tenant
            # a lost race (other workers took every candidate first) looks again at once: there is work. Each
            # look finds no candidate (done), takes one, or lost to workers that took rows (progress); the bound
            # only guards against the unforeseen.
            for _ in range(50):
                with self.store.read() as conn:
                    fileids = list(conn.execute(query, params).scalars())
                    # the first candidate's row and what its pass needs, read here, outside the write lock: a
                    # write transaction holds the lock across every statement (and every wait for the GIL after
                    # one), so it takes rows and nothing more
                    first = None if not fileids else conn.execute(
                        self._candidate_row, {"c_fileid": fileids[0]}).mappings().first()
                    early = None if first is None else self._prefetch(conn, first)
                if not fileids:
                    break
                taken: int | None = None
                with self.store.begin() as conn:
                    if mark is not None:
                        self._write_mark(conn, mark)
                        mark = None
                    for candidate in fileids:
                        if conn.execute(self._take, {"c_fileid": candidate, "c_owner": self.owner}).rowcount:
                            taken = candidate
                            break
                if taken is None:
                    continue
                if taken == fileids[0] and first is not None and early is not None:
                    row, prefetch = first, early
                else:  # another worker had the first: this one's row, read now
                    with self.store.read() as conn:
                        row = conn.execute(self._candidate_row, {"c_fileid": taken}).mappings().first()
                        prefetch = self._prefetch(conn, row)
                break
            if prefetch is None:
                if mark is not None:  # nothing claimed: the outcome goes in a transaction of its own
                    with self.store.begin() as conn:
                        self._write_mark(conn, mark)
                return None
        assert row is not None
        with self._cond:
            self._inflight[int(row["fileid"])] = str(row["tenant"])
        return {**_file(row), "tenant": str(row["tenant"]), "prefetch": prefetch}

    def _prefetch(self, conn: Connection, row: Any) -> Prefetch:
        tenant = str(row["tenant"])
        scores = conn.execute(self.model.q_item_scores, {"b_tenant": tenant, "b_oppkey": row["oppkey"]}
                              ).mappings().all()
        return Prefetch(self.model.config(tenant, conn=conn), self.model.blueprint(tenant, row["testname"], conn),
                        list(scores))

    def _pending_mark(self) -> Mark | None:
        """This thread's last acknowledgement outcome not yet written (taken: the caller writes it)."""
        mark: Mark | None = getattr(self._local, "mark", None)
        self._local.mark = None
        return mark

    def flush(self) -> None:
        """Write this thread's pending acknowledgement outcome now (the worker does before it waits or stops)."""
        mark = self._pending_mark()
        if mark is not None:
            with self.store.begin() as conn:
                self._write_mark(conn, mark)

    # -- the lease: who holds what --------------------------------------------------------

    def register(self) -> None:
        """Enter this processor in ``tis_worker`` with a lease, renewed by a heartbeat thread (once, lazily)."""
        if self._registered:
            return
        with self._register_lock:
            if self._registered:
                return
            self._renew()
            self._beat_stop.clear()
            self._beat = threading.Thread(target=self._heartbeat, name="tis-lease", daemon=True)
            self._beat.start()
            self._registered = True

    def _renew(self) -> None:
        w = self.model.workers
        until = Clock.wall() + timedelta(seconds=self.lease)
        with self.store.begin() as conn:
            if not conn.execute(update(w).where(w.c.tenant == "", w.c.owner == self.owner)
                                .values(lease_until=until)).rowcount:
                # first beat, or a recovery dropped this processor as dead (it stalled past its lease): its rows
                # were taken then, and its later writes check that it still holds them
                conn.execute(w.insert().values(tenant="", owner=self.owner, host=self.host, pid=os.getpid(),
                                               lease_until=until))

    def _heartbeat(self) -> None:
        while not self._beat_stop.wait(self.lease / 3):
            try:
                self._renew()
            except Exception:  # the database is away: the next beat tries again (the lease covers two misses)
                log.exception("tis: renewing the processor's lease failed")

    def release(self) -> None:
        """Leave ``tis_worker`` (a clean stop: nothing of this processor is in hand any more)."""
        with self._register_lock:
            if not self._registered:
                return
            self._beat_stop.set()
            if self._beat is not None:
                self._beat.join(timeout=30)
            self._registered = False
            w = self.model.workers
            try:
                with self.store.begin() as conn:
                    conn.execute(w.delete().where(w.c.tenant == "", w.c.owner == self.owner))
            except Exception:  # the database is gone: the lease runs out by itself
                log.exception("tis: leaving tis_worker failed")

    def _dead(self, conn: Connection, owners: set[str | None]) -> set[str | None]:
        """Which of ``owners`` hold nothing any more: no lease (``None``: a row of an older examrig), a lease run
        out, or, on this host, a process that is gone (a restart after ``kill -9`` takes its rows at once)."""
        w = self.model.workers
        now = Clock.wall()
        leases = {str(r.owner): r for r in conn.execute(select(w.c.owner, w.c.host, w.c.pid, w.c.lease_until).where(
            w.c.tenant == "", w.c.owner.in_([o for o in owners if o is not None])))} if owners - {None} else {}
        dead: set[str | None] = set()
        for owner in owners:
            if owner == self.owner:
                continue  # this processor's own rows: held while in hand (see recover)
            lease = leases.get(owner) if owner is not None else None
            if lease is None or _aware(lease.lease_until) < now or (lease.host == self.host and
                                                                    not _pid_alive(int(lease.pid))):
                dead.add(owner)
        return dead

    def recover(self) -> int:
        """Take over what a dead processor left: its unplanned ``processing`` rows go back to ``source``, its planned
        ones are finished here, its acknowledgements still ``pending``/``sending`` are sent (again, same key).

        A row held by a live processor (its lease current) is never taken: each take is a conditional update on
        the owner read, so two recovering processors never take the same row either.
        """
        self.register()
        r, o, w = self.model.repo, self.model.outbox, self.model.workers
        with self.store.read() as conn:
            held = list(conn.execute(select(r.c.fileid, r.c.tenant, r.c.owner, r.c.plan.is_(None))
                                     .where(r.c.location == "processing")).all())
            acks = list(conn.execute(select(o.c.id, o.c.tenant, o.c.owner).where(
                o.c.kind == "ack", o.c.state.in_(("pending", "sending")))).all())
            dead = self._dead(conn, {row[2] for row in held} | {row[2] for row in acks})
        # this processor's own rows are taken when it no longer has them in hand (left by a pass that failed, or
        # by a test playing a crash); a row another live processor holds never is
        with self._cond:
            inflight = set(self._inflight)
        with self._sending_lock:
            sending = set(self._sending)
        held = [h for h in held if h[2] in dead or (h[2] == self.owner and int(h[0]) not in inflight)]
        acks = [a for a in acks if a[2] in dead or (a[2] == self.owner and int(a[0]) not in sending)]
        if not held and not acks:
            return 0

        def mine(table: Any, key: Any, value: int, owner: str | None) -> Any:
            return update(table).where(key == value, table.c.owner == owner if owner is not None
                                       else table.c.owner.is_(None))

        planned: list[tuple[int, str]] = []
        taken_acks: list[tuple[int, str]] = []
        with self.store.begin() as conn:
            for fileid, tenant, owner, unplanned in held:
                stmt = mine(r, r.c.fileid, fileid, owner).where(r.c.location == "processing")
                if unplanned:
                    conn.execute(stmt.where(r.c.plan.is_(None)).values(location="source", owner=None))
                elif conn.execute(stmt.where(r.c.plan.is_not(None)).values(owner=self.owner)).rowcount:
                    planned.append((int(fileid), str(tenant)))
            for outbox_id, tenant, owner in acks:
                if conn.execute(mine(o, o.c.id, outbox_id, owner).where(
                        o.c.state.in_(("pending", "sending"))).values(owner=self.owner)).rowcount:
                    taken_acks.append((int(outbox_id), str(tenant)))
            gone = [owner for owner in dead if owner is not None]
            if gone:
                conn.execute(w.delete().where(w.c.tenant == "", w.c.owner.in_(gone)))
        for fileid, tenant in planned:
            self._route_and_finish(tenant, fileid, self.model.config(tenant))
        for outbox_id, tenant in taken_acks:
            self._deliver(tenant, outbox_id, self.model.config(tenant))
        self.flush()
        return len(planned) + len(taken_acks)

    # -- one pass -----------------------------------------------------------------------

    def process(self, tenant: str, fileid: int, claimed: dict[str, Any] | None = None, *, take: bool = False) -> None:
        """Compute, commit the plan, route, finalise, acknowledge (``claimed``: the row as read by the claim).

        ``take``: the row is still ``source`` and the plan's commit takes it (raises :class:`_Lost`, nothing
        written, when another worker took it first).
        """
        row = claimed if claimed is not None else self.model.file(tenant, fileid)
        if row is None:
            return
        prefetch: Prefetch | None = row.get("prefetch")
        cfg = prefetch.config if prefetch is not None else self.model.config(tenant)
        plan = self.compute(tenant, row, cfg, prefetch)
        known = self._commit_plan(tenant, fileid, row, plan, cfg, take=take)
        self._route_and_finish(tenant, fileid, cfg, plan, known)

    def compute(self, tenant: str, row: dict[str, Any], cfg: TisConfig, prefetch: Prefetch | None = None) -> Plan:
        """Validation, score merge, opportunity scoring and routing decisions for one file (no writes);
        ``prefetch``: the blueprint and item scores as read with the claim.
        """
        try:
            root = parse_xml(row["contents"].encode("utf-8"))
            typed_check(root)
        except (XmlError, FieldError) as exc:
            return Plan("unknown", row["oppKey"], ack=False, records=[
                (200, "QASYSTEM/Unknown", "OSS TestFromXML deserialization fatal error", str(exc))])
        test, opp = root.find("Test"), root.find("Opportunity")
        opp_key = str(opp.get("key")).lower()
        status = opp.get("status") or ""
        bp = prefetch.blueprint if prefetch is not None else self.model.blueprint(tenant, row["testName"])
        ack = (test.get("mode") or "") != "scanned" and bool(row["callbackUrl"])
        base = Plan("unknown", opp_key, ack=ack, testee=int(row["testee"]),
                    opportunity=int(opp.get("opportunity") or 0), test_name=row["testName"])
        if bp is None:
            base.records = [(200, "Semantic/UnknownTest", "/TDSReport/Test/@name",
                             f"no blueprint available for test name {row['testName']}")]
            base.result = "fail_validation"
            return base
        allowed = MAPPED + (("pending",) if bp.role in ("component", "combined") else ())
        if status not in allowed:
            base.ack = False
            base.records = [(200, "QASYSTEM/Unknown", "/TDSReport/Opportunity/@status",
                             f"There is no project that corresponds to {test.get('handScoreProject') or 0}-"
                             f"{row['testName']}-{status}")]
            return base
        records = self._validate(root, bp, status)
        if records:
            base.records = records
            base.result = "fail_validation"
            return base
        changed = self._merge_scores(tenant, root, opp_key, prefetch.scores if prefetch is not None and
                                     opp_key == row["oppKey"] else None)
        for attr in ("validity", "completeness"):  # ERT/IRP attributes TIS does not model: dropped in its output
            if opp.attrib.pop(attr, None) is not None:
                changed = True
        items = opp.findall("Item")
        if changed and all((i.get("scoreStatus") or "").upper() == "SCORED" for i in items) and \
                status in ("completed", "submitted", "reported"):
            status = "scored"
            opp.set("status", status)
        hand = [] if bp.role == "combined" or row["scoreMode"] == "validate" else [
            i for i in items if i.get("isSelected") == "1" and (i.get("scoreStatus") or "").upper() != "SCORED"
            and cfg.hand_scored(i.get("format") or "", i.get("bankKey") or "", _sd_status(i.get("scoreStatus")))]
        blocking = any(i.get("operational") == "1" and i.get("isSelected") == "1" and i.get("dropped") != "1"
                       and cfg.hand_scored(i.get("format") or "", i.get("bankKey") or "",
                                           _sd_status(i.get("scoreStatus"))) for i in items)
        if status != "reset" and not blocking and bp.rules:
            try:
                added = self._add_scores(root, bp, status)
            except ScoringError as exc:
                base.records = [(200, "QASYSTEM/Unknown", "QA System Exception:", str(exc))]
                return base
            changed = changed or added
        complete = self._complete_status(opp, bp)
        if opp.get("completeStatus") != complete:
            opp.set("completeStatus", complete)
            changed = True
        plan = Plan("success", opp_key, ack=ack, status=status, testee=base.testee, opportunity=base.opportunity,
                    test_name=row["testName"], component=bp.role == "component")
        if changed:
            # the archive step runs before routing: the stored TRT keeps the status it arrived with
            plan.content = serialize(root).decode("utf-8")
        if hand:
            plan.hand_items = [{"bank": int(i.get("bankKey")), "item": int(i.get("key")),
                                "type": i.get("format") or "", "position": int(i.get("position") or 0),
                                "response": _response(i)} for i in hand]
            opp.set("status", "handscoring")
            plan.status = "handscoring"
            plan.thss_body = _thss_upload(root, _resolve(cfg.daemon_callback, self.peer))
            plan.thss_filename = f"{opp_key}_{opp.get('reportingVersion') or ''}.xml"
            plan.thss_body = None if sabotage.on("tis.thss-upload-skipped") else plan.thss_body
        send_dw = row["scoreMode"] != "validate" and (
            bp.role == "standalone" or (bp.role == "combined" and plan.status != "pending"))
        if send_dw and (not hand or cfg.dw_send_handscoring):
            # unchanged since the archive copy was written unless routed to THSS: serialise once
            plan.dw_body = plan.content if plan.content is not None and not hand else serialize(root).decode("utf-8")
        if row["scoreMode"] == "validate":
            plan.ack_trt = serialize_utf16_declared(copy.deepcopy(root))
        return plan

    def _validate(self, root: Any, bp: Blueprint, status: str) -> list[tuple[int, str, str, str]]:
        out: list[tuple[int, str, str, str]] = []
        opp = root.find("Opportunity")
        items = opp.findall("Item")
        for item in items:
            if item_name(item) not in bp.items:
                out.append((200, "Semantic/UnknownItem", "/TDSReport/Opportunity/Item",
                            f"Item named in result xml not found: {item_name(item)}"))
        if not items and status not in NO_ITEMS_OK:
            out.append((200, "Syntactic/NotFound", "/TDSReport/Opportunity/Item", "Item not found"))
        if not opp.get("startDate") and status not in NO_START_OK:
            out.append((200, "Syntactic/NotFound", "/TDSReport/Opportunity/@startDate", "startDate not found"))
        seen: set[str] = set()
        for seg in opp.findall("Segment"):
            sid = (seg.get("id") or "").lower()
            if sid in seen:
                out.append((200, "Semantic/DuplicateSegment", "/TDSReport/Opportunity/Segment",
                            f"Duplicate test segment: {seg.get('id')}"))
            seen.add(sid)
        examinee = root.find("Examinee")
        pairs: set[tuple[str, str, str]] = set()
        for el in examinee:
            if not isinstance(el.tag, str):
                continue
            k = (str(el.tag), el.get("context") or "", el.get("name") or "")
            if k in pairs:
                out.append((200, "SemanticRuleFailed", f"/TDSReport/Examinee/{el.tag}",
                            f"Duplicate {el.tag}: {k[1]} {k[2]}"))
            pairs.add(k)
        for item in items:
            if item.get("isSelected") == "1" and item.find("Response") is None:
                out.append((200, "Syntactic/NotFound", "/TDSReport/Opportunity/Item/Response",
                            f"No Response element found for selected item: {item_name(item)}"))
        return out

    def _merge_scores(self, tenant: str, root: Any, opp_key: str, rows: list[Any] | None = None) -> bool:
        if rows is None:
            with self.store.read() as conn:
                rows = list(conn.execute(self.model.q_item_scores, {"b_tenant": tenant, "b_oppkey": opp_key}
                                         ).mappings().all())
        if not rows:
            return False
        by_name = {item_name(i): i for i in root.find("Opportunity").findall("Item")}
        changed = False
        for row in rows:
            item = by_name.get(f"{row['bankkey']}-{row['itemkey']}")
            if item is None or row["status"] in ("WaitingForHandScore", "WaitingForMachineScore"):
                continue
            if row["status"] == "Scored":
                if (row["response"] or "") != _response(item):
                    continue  # a changed response makes the stored score stale
                score = row["score"]
                if (item.get("scoreStatus") or "").upper() == "SCORED" and float(item.get("score") or -1) == score:
                    continue
                item.set("score", _num(score))
                item.set("scoreStatus", "SCORED")
                old = item.find("ScoreInfo")
                info = etree.fromstring(row["scoreinfo"]) if row["scoreinfo"] else etree.Element("ScoreInfo")
                if old is not None:
                    old.addprevious(info)
                    item.remove(old)
                else:
                    item.append(info)
                changed = True
            elif (item.get("scoreStatus") or "").upper() != "SCORED" and \
                    (item.get("scoreStatus") or "").upper() != row["status"].upper():
                item.set("scoreStatus", row["status"].upper())
                changed = True
        return changed

    def _add_scores(self, root: Any, bp: Blueprint, status: str) -> bool:
        opp = root.find("Opportunity")
        inputs: list[ItemInput] = []
        for item in opp.findall("Item"):
            pi = bp.items.get(item_name(item))
            if pi is None:
                continue
            try:
                score = float(item.get("score") or -1)
            except ValueError:
                score = -1.0
            inputs.append(ItemInput(item_name(item), item.get("segmentId") or pi.segment,
                                    item.get("operational") == "1", item.get("isSelected") == "1",
                                    item.get("dropped") == "1", score, pi.refs, pi.dimensions))
        existing = {(s.get("measureOf") or "", s.get("measureLabel") or ""): s.get("value") or ""
                    for s in opp.findall("Score")}
        scores = score_opportunity(bp, inputs, status, existing)
        if not scores:
            return False
        anchor = opp.findall("Score") or opp.findall("Accommodation") or opp.findall("Segment")
        for sc in reversed(scores):
            el = etree.Element("Score", measureOf=sc.measure_of, measureLabel=sc.measure_label, value=sc.value,
                               standardError=sc.standard_error)
            if anchor:
                anchor[-1].addnext(el)
            else:
                opp.insert(0, el)
        return True

    def _complete_status(self, opp: Any, bp: Blueprint) -> str:
        items = opp.findall("Item")
        for seg in bp.segments:
            seg_items = [i for i in items if (i.get("segmentId") or "") == seg.id]
            if seg.algorithm.lower() == "adaptive":
                if sum(1 for i in seg_items if i.get("isSelected") == "1") < seg.min_items:
                    return "Partial"
            elif any(i.get("isSelected") != "1" for i in seg_items):
                return "Partial"
        return "Complete"

    # -- committing, routing, finishing ---------------------------------------------------

    def _commit_plan(self, tenant: str, fileid: int, row: dict[str, Any], plan: Plan,
                     cfg: TisConfig, *, take: bool = False) -> dict[int, dict[str, Any]]:
        """Commit the plan with its sends as outbox rows (the first already ``sending``); returns those rows.

        ``take``: the same transaction takes the ``source`` row first (and writes the thread's last ack outcome);
        :class:`_Lost` when another worker took it, with nothing written.
        """
        known: dict[int, dict[str, Any]] = {}
        now = self.model.clock.now(tenant)
        mark = self._pending_mark() if take else None
        try:
            with self.store.begin() as conn:
                if mark is not None:
                    self._write_mark(conn, mark)
                if take and not conn.execute(self._take, {"c_fileid": fileid, "c_owner": self.owner}).rowcount:
                    raise _Lost(fileid)
                self._write_plan(conn, tenant, fileid, row, plan, cfg, known, now)
        except _Lost:
            if take:
                self._local.mark = mark  # rolled back with the rest: written by the next transaction instead
            plan.send_ids.clear()
            plan.staged = None
            raise
        return known

    def _write_plan(self, conn: Connection, tenant: str, fileid: int, row: dict[str, Any], plan: Plan,
                    cfg: TisConfig, known: dict[int, dict[str, Any]], now: Any) -> None:
        """The plan's writes in ``conn``'s transaction; the sends' rows as queued go into ``known``."""
        if plan.result == "success":
            if plan.hand_items:  # one executemany each for the items THSS will score
                conn.execute(self._q_drop_score, [
                    {"b_tenant": tenant, "b_oppkey": plan.opp_key, "b_bank": it["bank"], "b_item": it["item"]}
                    for it in plan.hand_items])
                conn.execute(self._q_insert_score, [{
                    "tenant": tenant, "oppkey": plan.opp_key, "bankkey": it["bank"], "itemkey": it["item"],
                    "oppid": row["oppId"], "itemtype": it["type"], "position": it["position"],
                    "response": it["response"], "status": "WaitingForHandScore", "score": -1, "scoreinfo": None,
                    "scoringdate": now} for it in plan.hand_items])
            conn.execute(self._q_insert_status, {
                "tenant": tenant, "oppkey": plan.opp_key, "oppid": row["oppId"], "testname": plan.test_name,
                "testee": plan.testee, "opportunity": plan.opportunity, "status": plan.status, "fileid": fileid,
                "recorded": now})
            sends: list[tuple[str, str, str, str, str | None]] = [
                ("thss", _resolve(cfg.thss_url, self.peer), plan.thss_body, "multipart/form-data",
                 plan.thss_filename)] if plan.thss_body is not None else []
            if plan.dw_body is not None:
                sends += [("dw", _resolve(url, self.peer), plan.dw_body, "application/xml", None)
                          for url in cfg.dw_urls]
            if plan.content is not None:
                # the new TRT is written once, here, as a 'staged' row the pass's end turns into the destination
                plan.staged = int(conn.execute(self._q_stage, {"b_fileid": fileid, "b_contents": plan.content,
                                                               "b_now": now}).scalar_one())
            for n, (kind, url, body, ctype, filename) in enumerate(sends):
                # the first send goes out right after this commit: it is marked 'sending' here, not apart
                state = "sending" if n == 0 else "pending"
                outbox_id = self._enqueue(conn, tenant, fileid, kind, url, body, ctype, filename, state)
                plan.send_ids.append(outbox_id)
                known[outbox_id] = {"kind": kind, "url": url, "body": body, "content_type": ctype,
                                    "filename": filename, "state": state, "key_nonce": self._nonce}
        if not conn.execute(self._q_set_plan, {"b_fileid": fileid, "b_plan": plan.to_json(),
                                               "b_owner": self.owner}).rowcount:
            raise _Lost(fileid)

    def _enqueue(self, conn: Connection, tenant: str, fileid: int, kind: str, url: str, body: str, ctype: str,
                 filename: str | None, state: str = "pending") -> int:
        now = self.model.clock.now(tenant)
        result = conn.execute(self._q_insert_outbox, {
            "tenant": tenant, "fileid": fileid, "kind": kind, "url": url, "body": body, "content_type": ctype,
            "filename": filename, "state": state, "created": now, "updated": now, "key_nonce": self._nonce,
            "owner": self.owner})
        pk = result.inserted_primary_key
        assert pk is not None
        if state == "sending":
            self._hold(int(pk[0]))
        return int(pk[0])

    def _route_and_finish(self, tenant: str, fileid: int, cfg: TisConfig, fresh: Plan | None = None,
                          known: dict[int, dict[str, Any]] | None = None) -> None:
        """Send the plan's outbox rows in order, then finish; ``fresh`` is a plan just committed (nothing sent).

        Each send's outcome is written by the next write transaction of the pass (the next send's ``sending``
        mark, or the finishing transaction), not by one of its own.
        """
        m, o = self.model, self.model.outbox
        known = known or {}
        if fresh is not None:
            plan = fresh
            sends: list[Any] = [(i, known.get(i, {}).get("kind", ""), "pending", None) for i in plan.send_ids]
        else:
            with self.store.read() as conn:
                plan_text = conn.execute(select(m.repo.c.plan).where(m.repo.c.fileid == fileid)).scalar()
                if plan_text is None:
                    return
                plan = Plan.from_json(str(plan_text))
                sends = list(conn.execute(select(o.c.id, o.c.kind, o.c.state, o.c.error).where(
                    o.c.id.in_(plan.send_ids)).order_by(o.c.id)).all())
        failure: str | None = None
        mark: Mark | None = None
        for outbox_id, kind, state, error in sends:
            if state in ("pending", "sending"):
                ok, error, kind, mark = self._deliver(tenant, int(outbox_id), cfg, known.get(int(outbox_id)),
                                                      mark=mark, defer=True)
                state = "sent" if ok else "failed"
            if state == "failed" and kind == "dw" and sabotage.on("tis.dw-failure-ignored"): continue  # noqa: E701
            if state == "failed" and failure is None:
                label = "Handscoring" if kind == "thss" else "Response Bank"
                failure = f"{label} update failed: {error}"
                break  # a failed target ends the pass (FailUpdate): later targets are not sent
        self._finish(tenant, fileid, plan, failure, cfg, mark)

    def _finish(self, tenant: str, fileid: int, plan: Plan, failure: str | None, cfg: TisConfig,
                mark: Mark | None = None) -> None:
        m = self.model
        now = m.clock.now(tenant)
        guide = cfg.ack_profile == "guide"
        result = plan.result if failure is None else "fail_update"
        merge = self._merge_blueprints(tenant, plan) if plan.component else None
        ack_id: int | None = None
        ack_row: dict[str, Any] = {}
        with self.store.begin() as conn:
            if mark is not None:
                self._write_mark(conn, mark)
            row = conn.execute(self._q_row_locked, {"b_fileid": fileid}).mappings().first()
            if row is None or row["location"] != "processing" or row["owner"] != self.owner:
                return  # finished already, or recovered by another processor after this one's lease ran out
            records = list(plan.records)
            if failure is not None:
                records.append((200, "QASYSTEM/Routing", "", failure))
                conn.execute(m.outbox.update().where(m.outbox.c.id.in_(plan.send_ids),
                                                     m.outbox.c.state.in_(("pending", "sending")))
                             .values(state="skipped", updated=now))
            for severity, rule, xpath, message in records:
                conn.execute(m.validation.insert().values(tenant=tenant, fileid=fileid, oppkey=plan.opp_key,
                                                          severity=severity, ruleid=rule, xpath=xpath,
                                                          message=message, recorded=now))
            target = "source" if row["requeue"] else "destination"
            if result != "success":
                conn.execute(self._q_move, {"b_fileid": fileid, "b_location": "reject"})
                if plan.staged is not None:
                    conn.execute(self._q_unstage, {"b_fileid": plan.staged})
            elif plan.staged is not None:
                conn.execute(self._q_move, {"b_fileid": fileid, "b_location": "archive"})
                conn.execute(self._q_publish, {"b_fileid": plan.staged, "b_location": target, "b_now": now})
            elif plan.content is not None:  # a plan committed before staging existed (recovery)
                conn.execute(self._q_move, {"b_fileid": fileid, "b_location": "archive"})
                conn.execute(m.q_insert_repo, {
                    "tenant": tenant, "location": target, "testname": row["testname"], "oppid": row["oppid"],
                    "oppkey": row["oppkey"], "testee": row["testee"], "statusdate": row["statusdate"],
                    "isdemo": row["isdemo"], "contents": plan.content, "callbackurl": row["callbackurl"],
                    "scoremode": "default", "daterecorded": now, "plan": None, "requeue": False, "parent": fileid})
            else:
                conn.execute(self._q_move, {"b_fileid": fileid, "b_location": target})
            if plan.ack:
                if result == "success" and not records:
                    success, error = True, None
                elif result == "fail_update":
                    success, error = False, MSG_FAIL_VALIDATION if guide else MSG_FAIL_UPDATE
                elif result == "fail_validation":
                    success, error = False, MSG_FAIL_UPDATE if guide else MSG_FAIL_VALIDATION
                elif result == "unknown":
                    success, error = False, MSG_UNKNOWN
                else:
                    success, error = False, MSG_RULES
                if error == MSG_FAIL_VALIDATION and sabotage.on("tis.validation-text-unswapped"): error = MSG_RULES  # noqa: E701
                body: dict[str, Any] = {"oppKey": plan.opp_key, "success": success}
                if error is not None:
                    body["error"] = error
                if not guide and (plan.ack_trt is not None or not sabotage.on("tis.ack-null-trt-omitted")):
                    body["trt"] = plan.ack_trt
                text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
                if not guide:
                    text = text.replace("/", "\\/")  # DataContractJsonSerializer escapes '/'
                # sent right after this commit: queued as 'sending' (recovery resends pending and sending alike)
                ack_row = {"kind": "ack", "url": str(row["callbackurl"]), "body": text,
                           "content_type": "application/json; charset=utf-8", "filename": None, "state": "sending",
                           "key_nonce": self._nonce}
                ack_id = self._enqueue(conn, tenant, fileid, "ack", ack_row["url"], text, ack_row["content_type"],
                                       None, "sending")
            if result == "success" and merge and plan.status not in ("handscoring", "appeal", "handscored"):
                self._test_merge(conn, tenant, plan, *merge)
        if ack_id is not None:
            # its outcome is written by this thread's next write transaction (the next claim, or a flush)
            self._defer(self._deliver(tenant, ack_id, cfg, ack_row, defer=True)[3])

    def _defer(self, mark: Mark | None) -> None:
        earlier = self._pending_mark()
        if earlier is not None:  # never drop one: a second outcome before a flush writes the first now
            with self.store.begin() as conn:
                self._write_mark(conn, earlier)
        self._local.mark = mark

    # -- outbound -------------------------------------------------------------------------

    def _deliver(self, tenant: str, outbox_id: int, cfg: TisConfig, known: dict[str, Any] | None = None, *,
                 mark: Mark | None = None, defer: bool = False) -> tuple[bool, str | None, str, Mark | None]:
        """Send one outbox row; ``known``: the row as queued (no read); ``mark``: an earlier send's outcome
        to write with this one's ``sending`` mark; ``defer``: return this send's outcome instead of writing it.
        """
        o = self.model.outbox
        row: Any = known
        if row is None or row["state"] != "sending" or mark is not None:
            with self.store.begin() as conn:
                if mark is not None:
                    self._write_mark(conn, mark)
                    mark = None
                if row is None:
                    row = conn.execute(select(o).where(o.c.id == outbox_id)).mappings().first()
                    if row is None or row["state"] in ("sent", "failed", "skipped"):
                        return ((row is not None and row["state"] == "sent"), (row["error"] if row else "missing"),
                                str(row["kind"]) if row else "", None)
                if row["state"] != "sending":
                    conn.execute(update(o).where(o.c.id == outbox_id).values(state="sending"))
                self._hold(outbox_id)
        kind = str(row["kind"])
        ok, code, error = self._send(tenant, kind, row, cfg, delivery_key(row["key_nonce"], outbox_id))
        if not ok and kind == "ack" and sabotage.on("tis.failed-ack-retried"): ok, code, error = self._send(tenant, kind, row, cfg, delivery_key(row["key_nonce"], outbox_id))  # noqa: E501, E701
        if not ok and kind == "ack":
            log.warning("TIS acknowledgement to %s failed: %s (no retry)", row["url"], error)
        outcome = Mark(tenant, outbox_id, ok, code, error)
        if defer:
            return ok, error, kind, outcome
        with self.store.begin() as conn:
            self._write_mark(conn, outcome)
        return ok, error, kind, None

    def _write_mark(self, conn: Connection, mark: Mark) -> None:
        conn.execute(self._q_mark, {"b_id": mark.outbox_id, "b_state": "sent" if mark.ok else "failed",
                                    "b_code": mark.code, "b_error": mark.error,
                                    "b_updated": self.model.clock.now(mark.tenant)})
        with self._sending_lock:
            self._sending.discard(mark.outbox_id)

    def _hold(self, outbox_id: int) -> None:
        with self._sending_lock:
            self._sending.add(outbox_id)

    def _send(self, tenant: str, kind: str, row: Any, cfg: TisConfig,
              key: str | None = None) -> tuple[bool, int | None, str | None]:
        """One delivery; ``key`` goes out as ``Idempotency-Key`` (the same on every resend of the row)."""
        url, body = str(row["url"]), str(row["body"])
        peer = {"thss": "thss", "dw": "dw", "ack": "tds"}[kind]
        for attempt in (1, 2):
            headers: dict[str, str] = {} if key is None else {HEADER: wire_value(key)}
            cached = False
            if kind != "ack" and cfg.outbound_auth:
                try:
                    token, cached = self._token(tenant, cfg)
                except (requests.RequestException, ValueError) as exc:
                    return False, None, f"Unsuccessful call to OAuth Webservice: {exc}"
                headers["Authorization"] = token
            try:
                if kind == "thss":
                    files = {"": (str(row["filename"]), body.encode("utf-8"), "text/xml")}
                    resp = self.outbound.request("POST", url, tenant=tenant, peer=peer, headers=headers, files=files)
                else:
                    headers["Content-Type"] = str(row["content_type"])
                    resp = self.outbound.request("POST", url, tenant=tenant, peer=peer, headers=headers,
                                                 data=body.encode("utf-8"))
            except requests.RequestException as exc:
                return False, None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if resp.status_code in (401, 403) and cached and attempt == 1:
                self._tokens.pop(tenant, None)  # evict and retry once with a fresh token
                continue
            break
        if kind == "ack":
            ok = resp.status_code == 200
            return ok, resp.status_code, None if ok else f"HTTP {resp.status_code}"
        if not 200 <= resp.status_code < 300:
            return False, resp.status_code, f"HTTP {resp.status_code}: {resp.text[:200]}"
        if kind == "thss":
            try:
                files_out = resp.json().get("Files") or []
            except (ValueError, AttributeError):
                return False, resp.status_code, "THSS response is not JSON"
            if not files_out:
                return False, resp.status_code, "Response contains no Files!"
            if not files_out[0].get("Success"):
                return False, resp.status_code, str(files_out[0].get("ErrorMessage"))
        return True, resp.status_code, None

    def _token(self, tenant: str, cfg: TisConfig) -> tuple[str, bool]:
        cached = self._tokens.get(tenant)
        if cached is not None:
            return cached, True
        auth = cfg.outbound_auth
        base = _resolve(auth.get("url", "peer:openam/"), self.peer).rstrip("/") + "/"
        from urllib.parse import quote
        form = "".join(f"&{k}={quote(auth.get(v, ''), safe='')}" for k, v in (
            ("grant_type", "grant_type"), ("username", "username"), ("password", "password"),
            ("client_id", "client_id"), ("client_secret", "client_secret")) if k != "grant_type")
        form = "&grant_type=password" + form
        resp = self.outbound.request(
            "POST", f"{base}auth/oauth2/access_token?realm={auth.get('realm', '/sbac')}", tenant=tenant,
            peer="openam", data=form.encode(), headers={"Content-Type": "application/x-www-form-urlencoded",
                                                       "Accept": "application/json"})
        if not 200 <= resp.status_code < 300:
            raise ValueError(f"HTTP {resp.status_code}")
        data = resp.json()
        uuid.UUID(str(data["access_token"]))
        token = f"{data.get('token_type', 'Bearer')} {data['access_token']}"
        self._tokens[tenant] = token
        return token, False

    # -- combined assessments (TestMerge) --------------------------------------------------

    def _merge_blueprints(self, tenant: str, plan: Plan) -> tuple[str, Blueprint, dict[str, Blueprint]] | None:
        m = self.model
        bp = m.blueprint(tenant, plan.test_name)
        if bp is None or not bp.combination:
            return None
        combined_name = next(iter(bp.combination.values()))[0]
        combo = m.blueprint(tenant, combined_name)
        if combo is None:
            return None
        comps = {name: b for name in combo.components if (b := m.blueprint(tenant, name)) is not None}
        return combined_name, combo, comps

    def _test_merge(self, conn: Connection, tenant: str, plan: Plan, combined_name: str, combo: Blueprint,
                    comps: dict[str, Blueprint]) -> None:
        m = self.model
        r, st = m.repo, m.opp_status
        parts: list[tuple[int, Blueprint, Any, str, int]] = []
        for comp_name in combo.components:
            comp_bp = comps.get(comp_name)
            last = conn.execute(select(st.c.status, st.c.oppkey).where(
                st.c.tenant == tenant, st.c.testee == plan.testee, st.c.testname == comp_name,
                st.c.opportunity == plan.opportunity).order_by(st.c.id.desc()).limit(1)).first()
            if last is None or comp_bp is None or last[0] in ("handscoring", "appeal", "handscored"):
                continue
            file_row = conn.execute(select(r.c.contents, r.c.oppid).where(
                r.c.tenant == tenant, r.c.oppkey == last[1], r.c.location.in_(("destination", "processing")))
                .order_by(r.c.fileid.desc()).limit(1)).first()
            if file_row is None:
                continue
            root = parse_xml(str(file_row[0]).encode("utf-8"))
            position = max(p for _, _, p in comp_bp.combination.values())
            parts.append((position, comp_bp, root, str(last[0]), int(file_row[1])))
        if not parts:
            return
        parts.sort(key=lambda p: p[0])
        c = m.combined_opps
        existing = conn.execute(select(c.c.oppid, c.c.oppkey).where(
            c.c.tenant == tenant, c.c.testee == plan.testee, c.c.combination == combined_name,
            c.c.opportunity == plan.opportunity)).first()
        if existing is None:
            opp_id = m.store.next_value(conn, tenant, "tis_combined_oppid", COMBINED_OPPID_BASE + 1)
            opp_key = m.ids.uuid()
            conn.execute(c.insert().values(tenant=tenant, testee=plan.testee, combination=combined_name,
                                           opportunity=plan.opportunity, oppid=opp_id, oppkey=opp_key))
        else:
            opp_id, opp_key = int(existing[0]), str(existing[1])
        statuses = [p[3] for p in parts]
        got_segments = {seg for _, comp_bp, _, _, _ in parts for seg in comp_bp.combination}
        all_segments = {s.id for s in combo.segments}
        if all(s == "reset" for s in statuses):
            status = "reset"
        elif "expired" in statuses:
            status = "expired"
        elif all(s in ("invalidated", "reset") for s in statuses):
            status = "invalidated"
        elif len(got_segments) < len(all_segments) or any(s in ("appeal", "handscoring", "handscored", "reset")
                                                           for s in statuses):
            status = "pending"
        else:
            status = "completed"
            status = "pending" if sabotage.on("tis.combined-held-pending") else status
        doc = _build_combined(combined_name, combo, parts, opp_id, opp_key, status)
        now = m.clock.now(tenant)
        text = serialize(doc).decode("utf-8")
        oppel = doc.find("Opportunity")
        from mocks.tis.trt import parse_datetime
        conn.execute(r.insert().values(
            tenant=tenant, location="source", testname=combined_name, oppid=opp_id, oppkey=opp_key.lower(),
            testee=plan.testee, statusdate=parse_datetime(oppel.get("statusDate")), isdemo=False, contents=text,
            callbackurl=None, scoremode="default", daterecorded=now, plan=None, requeue=False))


def _build_combined(name: str, combo: Blueprint, parts: list[tuple[int, Blueprint, Any, str, int]], opp_id: int,
                    opp_key: str, status: str) -> Any:
    first = parts[0][2]
    root = etree.Element("TDSReport")
    test = copy.deepcopy(first.find("Test"))
    test.set("name", name)
    test.set("testId", combo.test_id)
    test.set("assessmentVersion", "|".join(p[2].find("Test").get("assessmentVersion") or "" for p in parts))
    root.append(test)
    root.append(copy.deepcopy(first.find("Examinee")))
    opp = etree.SubElement(root, "Opportunity", dict(first.find("Opportunity").attrib))
    opps = [p[2].find("Opportunity") for p in parts]
    for attr in ("itemCount", "pauseCount", "ftCount", "gracePeriodRestarts", "abnormalStarts"):
        opp.set(attr, str(sum(int(o.get(attr) or 0) for o in opps)))
    latest = max(opps, key=lambda o: o.get("statusDate") or "")
    opp.set("statusDate", latest.get("statusDate") or "")
    for attr in ("taId", "taName", "sessionId"):
        opp.set(attr, latest.get(attr) or "")
    opp.set("startDate", min(o.get("startDate") or "" for o in opps))
    opp.set("dateForceCompleted", max(o.get("dateForceCompleted") or "" for o in opps))
    completed = [o.get("dateCompleted") or "" for o in opps]
    opp.set("dateCompleted", "" if status in ("pending", "expired") else max(completed))
    opp.set("oppId", str(opp_id))
    opp.set("key", opp_key)
    opp.set("status", status)
    opp.set("reportingVersion", "0")
    opp.set("qaLevel", "")
    opp.attrib.pop("windowOpportunity", None)
    seg_map: dict[str, tuple[str, int]] = {}
    for _, comp_bp, _, _, _ in parts:
        for seg_id, (_, cseg, pos) in comp_bp.combination.items():
            seg_map[seg_id] = (cseg, pos)
    segs = []
    for _, _, croot, _, _ in parts:
        for seg in croot.find("Opportunity").findall("Segment"):
            cseg, pos = seg_map.get(seg.get("id") or "", (seg.get("id") or "", 0))
            new = copy.deepcopy(seg)
            new.set("id", cseg)
            new.set("position", str(pos))
            segs.append((pos, new))
    for _, seg in sorted(segs, key=lambda s: s[0]):
        opp.append(seg)
    seen0: dict[tuple[str, str], int] = {}
    accs: list[Any] = []
    for _, comp_bp, croot, _, _ in parts:
        positions = sorted(pos for _, _, pos in comp_bp.combination.values())
        for acc in croot.find("Opportunity").findall("Accommodation"):
            seg = acc.get("segment") or "0"
            if seg == "0":
                k = (acc.get("type") or "", acc.get("code") or "")
                seen0[k] = seen0.get(k, 0) + 1
                accs.append((acc, positions))
            else:
                new = copy.deepcopy(acc)
                new.set("segment", str(positions[min(int(seg), len(positions)) - 1]))
                opp.append(new)
    for acc, positions in accs:
        k = (acc.get("type") or "", acc.get("code") or "")
        if seen0[k] == len(parts):
            if seen0[k] > 0:
                opp.append(copy.deepcopy(acc))
                seen0[k] = -1
        elif seen0[k] > 0:
            for pos in positions:
                new = copy.deepcopy(acc)
                new.set("segment", str(pos))
                opp.append(new)
    for n, (_, _, croot, cstatus, coppid) in enumerate(parts, start=1):
        for gv in croot.find("Opportunity").findall("GenericVariable"):
            new = copy.deepcopy(gv)
            new.set("context", f"{gv.get('context') or ''}_{n}")
            opp.append(new)
        for var, value in (("OPPID", str(coppid)), ("STATUS", cstatus),
                           ("TESTID", croot.find("Test").get("testId") or "")):
            etree.SubElement(opp, "GenericVariable", context=f"COMPONENT_{n}", name=var, value=value)
    position = 0
    for _, _, croot, _, _ in parts:
        items = croot.find("Opportunity").findall("Item")
        items.sort(key=lambda i: (seg_map.get(i.get("segmentId") or "", ("", 0))[1], int(i.get("position") or 0)))
        for item in items:
            position += 1
            new = copy.deepcopy(item)
            new.set("segmentId", seg_map.get(item.get("segmentId") or "", (item.get("segmentId") or "", 0))[0])
            new.set("position", str(position))
            new.set("pageNumber", str(position))
            opp.append(new)
    return root


def _sd_status(status: str | None) -> str:
    return {"NOTSCORED": "NotScored", "SCORED": "Scored", "WAITINGFORMACHINESCORE": "WaitingForMachineScore",
            "SCORINGERROR": "ScoringError"}.get((status or "").upper(), status or "")


def _response(item: Any) -> str:
    resp = item.find("Response")
    return (resp.text or "") if resp is not None else ""


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _thss_upload(root: Any, callback: str) -> str:
    from contracts.transform import to_thss_upload
    data = to_thss_upload(root, callback)  # it copies the tree itself
    return data.decode("utf-8")


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists (signal 0 checks without sending)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC): the same instant, aware."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
