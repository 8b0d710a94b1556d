"""Control state shared by every process of a mock: clocks, fault rules, journal, secrets, process ids.

One process (the default, and every test rig) keeps its control state in memory, exactly as before. When
several processes serve one mock (``examrig serve --processes N``, or several hosts over one PostgreSQL:
``shared_control``), the state lives in the database beside the mock's data, and each process keeps a
cache that it reloads when the *control version* moves:

- every change (a clock set, a fault rule added or removed, a reset) is one write transaction that first
  bumps a version counter row (so changes are serialised on every database) and, once committed, bumps a
  counter in memory shared by the processes of one host (:class:`HostSignal`, made by the pre-fork parent
  before it forks): a sibling sees the change on its next request, with no database round trip on the hot
  path (one shared-memory read);
- across hosts the version row is polled at most every ``control_poll_ms`` (default 100 ms): that is the
  staleness window of a change made on another host (docs/scale-out.md).

The journal is written in batches by a flusher thread per mock and process (the request path only appends
to a list); a read first asks every live process to flush (a *barrier*: an epoch counter every flusher
acknowledges), so a read sees every exchange answered before it began, numbered in one order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import pickle
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    bindparam,
    delete,
    func,
    select,
    update,
)

from mocks.core.clock import Clock, check_instant, check_step
from mocks.core.faults import AppliedFault, FaultEngine, FaultRule, _rule_matches, applied_fault, build_rule
from mocks.core.journal import Entry, Journal, JournalSlice, _Deferred, _matches, _resolve
from mocks.core.metrics import Metrics, SharedMetrics

if TYPE_CHECKING:
    from mocks.core.store import Store

CONTROL = "_examrig"  # the counters' tenant for control state (not a valid request tenant: leading '_')
BARRIER_TIMEOUT = 10.0  # seconds a journal read waits for the other processes' flushers at most
STALE_PROCESS = 5.0  # seconds without a heartbeat after which a process is taken for dead
#: The journal barrier's epoch counter: one for every mock, as the host's (one HostSignal for every mock one
#: ``examrig serve`` forks): a process acknowledges the epoch it saw, moved by any mock's reads, so a counter of
#: each mock's own let one mock's acknowledgement outrun another's barrier (its entries were not waited for)
JOURNAL_EPOCH = "journal-epoch"
FLUSH_INTERVAL = 0.02  # seconds between a flusher's passes


class HostSignal:
    """Counters in memory shared by the processes of one host: the control version, the journal epoch and
    the metrics epoch (a scrape's barrier, mocks/core/metrics.py).

    Made by the pre-fork parent before it forks, so every child maps the same page. Reads are one aligned
    8-byte load (no lock); increments take a lock shared across the processes.
    """

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self._values = ctx.RawArray("q", 3)
        self._lock = ctx.Lock()

    @property
    def version(self) -> int:
        """The control version as last bumped on this host."""
        return int(self._values[0])

    @property
    def epoch(self) -> int:
        """The journal barrier epoch as last bumped on this host."""
        return int(self._values[1])

    def value(self, index: int) -> int:
        """Counter ``index`` (0: version, 1: journal epoch, 2: metrics epoch)."""
        return int(self._values[index])

    def bump(self, index: int = 0) -> int:
        """Increment counter ``index`` (0: version, 1: journal epoch, 2: metrics epoch); returns the new value."""
        with self._lock:
            self._values[index] += 1
            return int(self._values[index])


HOST: HostSignal | None = None
"""Set by :mod:`mocks.core.prefork` in the parent before it forks its children."""


class Control:
    """Where a runtime's control state lives: in memory (``shared=False``) or in the database."""

    def __init__(self, store: Store, *, shared: bool = False, poll_ms: int = 100,
                 host: HostSignal | None = None) -> None:
        self.store = store
        self.shared = shared
        self.host = host if host is not None else HOST
        # on one host the shared memory carries a change at once; the version row, polled, carries it to
        # other hosts (PostgreSQL) and to other `examrig serve` commands on the same file
        self.poll: float | None = poll_ms / 1000.0
        self._polled_at = -math.inf
        self._db_version = 0
        self.instance = 0
        self.token = f"{socket.gethostname()}:{os.getpid()}"
        self._journals: list[SharedJournal] = []
        self._raw: Any = None  # the polls' own DBAPI connection (made on first use: after any fork)
        self._poll_lock = threading.Lock()
        md = store.metadata
        self.clocks = _table(md, "examrig_clock", Column("tenant", String(64), primary_key=True),
                             Column("frozen", String(40)), Column("offset_us", BigInteger))
        self.faults_t = _table(md, "examrig_fault", Column("service", String(40), primary_key=True),
                               Column("id", String(40), primary_key=True), Column("tenant", String(64)),
                               Column("spec", Text, nullable=False), Column("applied", Integer, nullable=False),
                               Column("draws", Integer, nullable=False), Column("created", BigInteger))
        # an entry is written by its process (origin, pseq: the process's own order) unnumbered, and numbered
        # (seq) by the first read after it: in the order of the instants the exchanges were recorded
        self.journal_t = _table(md, "examrig_journal", Column("service", String(40), primary_key=True),
                                Column("origin", String(200), primary_key=True),
                                Column("pseq", BigInteger, primary_key=True, autoincrement=False),
                                Column("seq", BigInteger, index=True), Column("ts_ns", BigInteger, nullable=False),
                                Column("tenant", String(64), nullable=False),
                                Column("data", LargeBinary, nullable=False))
        self.processes = _table(md, "examrig_process", Column("service", String(40), primary_key=True),
                                Column("token", String(200), primary_key=True),
                                Column("flushed", BigInteger, nullable=False), Column("beat", Float, nullable=False))
        self.secrets = _table(md, "examrig_secret", Column("name", String(100), primary_key=True),
                              Column("value", String(200), nullable=False))
        if shared:
            store.create_all()
            with store.begin() as conn:
                # a process id drawn from the database: seeded id streams differ between processes (and from
                # a crashed process's replacement), so nonces never repeat across them
                self.instance = store.next_value(conn, CONTROL, "process")
            self.token = f"{socket.gethostname()}:{os.getpid()}:{self.instance}"

    # -- the control version ------------------------------------------------------------

    def stamp(self) -> tuple[int, int]:
        """What a cache compares: (the host's version, the version row as last polled)."""
        host = self.host.version if self.host is not None else 0
        if self.poll is not None:
            now = time.monotonic()
            if now - self._polled_at >= self.poll:
                self._polled_at = now
                self._db_version = max(self._db_version, self.counter("control"))
        return host, self._db_version

    def counter(self, name: str) -> int:
        """A control counter's value, read on a connection of its own (0 when absent or unreadable).

        Polls come several times a second from every process: through the store's read path (pool
        check-out, BEGIN, reset) one costs ~0.3-0.9 ms of CPU, on a raw connection kept for them ~20 us.
        Concurrent callers do not queue: one polls, the others keep what was last read.
        """
        if not self._poll_lock.acquire(blocking=False):
            return 0
        try:
            if self._raw is None:
                self._raw = self.store.engine.raw_connection()
            cursor = self._raw.cursor()
            try:
                # names are examrig's own (service names and fixed words): no quote can occur in them
                cursor.execute(f"SELECT value FROM examrig_counter WHERE tenant = '{CONTROL}' AND name = '{name}'")
                row = cursor.fetchone()
            finally:
                cursor.close()
            self._raw.rollback()  # no transaction left open (PostgreSQL would keep its snapshot)
            return int(row[0]) if row else 0
        except Exception:
            if self._raw is not None:
                with contextlib.suppress(Exception):
                    self._raw.close()
            self._raw = None
            return 0
        finally:
            self._poll_lock.release()

    @contextlib.contextmanager
    def change(self) -> Iterator[Connection]:
        """A write transaction of control state: the version row first (it serialises changes), then the host's."""
        with self.store.begin() as conn:
            self.store.next_value(conn, CONTROL, "control")
            yield conn
        if self.host is not None:
            self.host.bump(0)
        self._polled_at = -math.inf  # this process reads its own change at once

    # -- what the runtime and the apps get -------------------------------------------------

    def clock(self) -> Clock:
        """The runtime's clock."""
        return SharedClock(self) if self.shared else Clock()

    def faults(self, service: str, seed: int | None) -> FaultEngine:
        """A mock's fault engine."""
        return SharedFaults(self, service, seed) if self.shared else FaultEngine(seed)

    def metrics(self, service: str, journal: Journal) -> Metrics:
        """A mock's request counters: this process's, or (shared) every process's, summed at each scrape."""
        if not self.shared or not isinstance(journal, SharedJournal):
            return Metrics()
        metrics = SharedMetrics(self, service, journal)
        journal.riders.append(metrics)
        return metrics

    def journal(self, service: str, capacity: int) -> Journal:
        """A mock's journal."""
        if not self.shared:
            return Journal(capacity)
        journal = SharedJournal(self, service, capacity)
        self._journals.append(journal)
        return journal

    def secret(self, name: str, seed: int | None, local: Callable[[], str]) -> str:
        """A secret every process of the mock agrees on.

        In one process ``local()`` (as before). Shared: derived from the seed when there is one, otherwise
        drawn once and stored in the database; the first process to store it wins, the others read it.
        """
        if not self.shared:
            return local()
        if seed is not None:
            return hashlib.sha256(f"{seed}:secret:{name}".encode()).hexdigest()
        s = self.secrets
        with self.store.read() as conn:
            found = conn.execute(select(s.c.value).where(s.c.name == name)).scalar()
        if found is not None:
            return str(found)
        drawn = os.urandom(32).hex()
        from mocks.core.store import IntegrityError
        try:
            with self.store.begin() as conn:
                conn.execute(s.insert().values(name=name, value=drawn))
        except IntegrityError:
            pass
        with self.store.read() as conn:
            return str(conn.execute(select(s.c.value).where(s.c.name == name)).scalar_one())

    def start(self) -> None:
        """Start the journals' flushers (in a served process, after any fork)."""
        for journal in self._journals:
            with journal._lock:
                journal.start()

    def close(self) -> None:
        """Flush the journals and leave (before the store is disposed)."""
        for journal in self._journals:
            journal.close()
        if self._raw is not None:
            with contextlib.suppress(Exception):
                self._raw.close()
            self._raw = None


class Rider(Protocol):
    """State written in a :class:`SharedJournal` flusher's transactions (:class:`~mocks.core.metrics.SharedMetrics`)."""

    def wanted(self) -> bool:
        """Whether the rider wants a write now (its own barrier is waiting), before the next heartbeat."""

    def take(self) -> Any:
        """What is pending (and no longer here), or ``None``."""

    def write(self, conn: Connection, data: Any) -> None:
        """Write ``data`` inside the flusher's transaction."""

    def give_back(self, data: Any) -> None:
        """The transaction failed: ``data`` is pending again."""


def _table(md: Any, name: str, *columns: Any) -> Table:
    existing = md.tables.get(name)
    return existing if existing is not None else Table(name, md, *columns)


# -- clock --------------------------------------------------------------------------------------


class SharedClock(Clock):
    """The per-tenant clocks in table ``examrig_clock``, cached until the control version moves.

    A running clock is stored as an offset from the system clock, so hosts whose clocks agree (NTP) agree
    on it; a frozen one as its instant.
    """

    def __init__(self, control: Control) -> None:
        super().__init__()
        self.control = control
        self._stamp: tuple[int, int] | None = None

    def _fresh(self) -> None:
        stamp = self.control.stamp()
        if stamp == self._stamp:
            return
        t = self.control.clocks
        with self.control.store.read() as conn:
            rows = conn.execute(select(t.c.tenant, t.c.frozen, t.c.offset_us)).all()
        frozen: dict[str, datetime] = {}
        offset: dict[str, timedelta] = {}
        for tenant, at, us in rows:
            if at is not None:
                frozen[tenant] = datetime.fromisoformat(at)
            elif us is not None:
                offset[tenant] = timedelta(microseconds=int(us))
        with self._lock:
            self._frozen, self._offset = frozen, offset
            self._stamp = stamp

    def now(self, tenant: str = "default") -> datetime:
        self._fresh()
        return super().now(tenant)

    def is_frozen(self, tenant: str = "default") -> bool:
        self._fresh()
        return super().is_frozen(tenant)

    def _write(self, tenant: str, compute: Callable[[datetime | None, timedelta | None], tuple[
            datetime | None, timedelta | None]]) -> datetime:
        t = self.control.clocks
        with self.control.change() as conn:
            row = conn.execute(select(t.c.frozen, t.c.offset_us).where(t.c.tenant == tenant)).first()
            frozen = datetime.fromisoformat(row[0]) if row is not None and row[0] is not None else None
            offset = timedelta(microseconds=int(row[1])) if row is not None and row[1] is not None else None
            new_frozen, new_offset = compute(frozen, offset)
            conn.execute(delete(t).where(t.c.tenant == tenant))
            if new_frozen is not None or new_offset is not None:
                conn.execute(t.insert().values(
                    tenant=tenant, frozen=new_frozen.isoformat() if new_frozen is not None else None,
                    offset_us=_micros(new_offset) if new_offset is not None else None))
        self._stamp = None
        return self.now(tenant)

    def freeze(self, tenant: str = "default", at: datetime | None = None) -> datetime:
        instant = check_instant(at) if at is not None else None

        def compute(frozen: datetime | None, offset: timedelta | None) -> tuple[datetime | None, timedelta | None]:
            if instant is not None:
                return instant, None
            if frozen is not None:
                return frozen, None
            base = datetime.now(UTC)
            return (base + offset if offset is not None else base), None
        return self._write(tenant, compute)

    def set(self, tenant: str, at: datetime, *, frozen: bool = True) -> datetime:
        at = check_instant(at)
        if frozen:
            return self.freeze(tenant, at)
        return self._write(tenant, lambda _f, _o: (None, at - datetime.now(UTC)))

    def advance(self, tenant: str = "default", seconds: float = 0.0) -> datetime:
        delta = check_step(seconds, self.now(tenant))

        def compute(frozen: datetime | None, offset: timedelta | None) -> tuple[datetime | None, timedelta | None]:
            if frozen is not None:
                return check_instant(frozen + delta, "advance"), None
            return None, (offset or timedelta()) + delta
        return self._write(tenant, compute)

    def unfreeze(self, tenant: str = "default") -> datetime:
        return self._write(tenant, lambda _f, _o: (None, None))

    def reset(self, tenant: str | None = None) -> None:
        t = self.control.clocks
        with self.control.change() as conn:
            conn.execute(delete(t) if tenant is None else delete(t).where(t.c.tenant == tenant))
        self._stamp = None


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# -- faults -------------------------------------------------------------------------------------


class SharedFaults(FaultEngine):
    """A mock's fault rules in table ``examrig_fault``; their counters (``applied``, draws) there too.

    A rule's random stream is counter based when shared: draw *k* of rule *r* is made from
    ``sha256(seed:fault:r:k)``, *k* taken from the rule's row in the transaction that counts the
    application, so the processes together draw one stream per rule (the same decisions for the same
    sequence of matching requests, whichever process serves each) and ``times`` is never exceeded.
    """

    def __init__(self, control: Control, service: str, seed: int | None) -> None:
        super().__init__(seed)
        self.control = control
        self.service = service
        self._stamp: tuple[int, int] | None = None

    def _fresh(self) -> None:
        stamp = self.control.stamp()
        if stamp == self._stamp:
            return
        rules = self._load()
        with self._lock:
            self._rules = rules
            self._stamp = stamp

    def _load(self) -> list[FaultRule]:
        t = self.control.faults_t
        with self.control.store.read() as conn:
            rows = conn.execute(select(t.c.id, t.c.spec, t.c.applied).where(t.c.service == self.service)
                                .order_by(t.c.created, t.c.id)).all()
        out = []
        for rid, spec, applied in rows:
            values = json.loads(spec)
            rule = FaultRule(id=rid, **values)
            rule.applied = int(applied)
            out.append(rule)
        return out

    def add(self, spec: Mapping[str, Any], tenant: str = "default") -> FaultRule:
        build_rule("f0", spec, tenant)  # validate before taking an id
        t = self.control.faults_t
        with self.control.change() as conn:
            n = self.control.store.next_value(conn, CONTROL, f"fault:{self.service}")
            rule = build_rule(f"f{n}", spec, tenant)
            values = rule.to_dict()
            for key in ("id", "applied"):
                values.pop(key)
            conn.execute(t.insert().values(service=self.service, id=rule.id, tenant=rule.tenant,
                                           spec=json.dumps(values), applied=0, draws=0, created=n))
        self._stamp = None
        return rule

    def rules(self, tenant: str | None = None) -> list[FaultRule]:
        return [r for r in self._load() if tenant is None or r.tenant in (tenant, "*")]

    def rule(self, rule_id: str) -> FaultRule | None:
        self._fresh()
        with self._lock:
            found = next((r for r in self._rules if r.id == rule_id), None)
        if found is None:  # added a moment ago elsewhere: ask the table
            found = next((r for r in self._load() if r.id == rule_id), None)
        return found

    def clear(self, tenant: str | None = None, rule_id: str | None = None) -> int:
        t = self.control.faults_t
        stmt = delete(t).where(t.c.service == self.service)
        if tenant is not None:
            stmt = stmt.where(t.c.tenant == tenant)
        if rule_id is not None:
            stmt = stmt.where(t.c.id == rule_id)
        with self.control.change() as conn:
            removed = int(conn.execute(stmt).rowcount or 0)
        self._stamp = None
        return removed

    def reseed(self, seed: int) -> None:
        self.seed = seed

    def decide(self, *, direction: str, tenant: str, method: str, path: str,
               route: str | None = None, peer: str | None = None) -> list[AppliedFault]:
        self._fresh()
        if not self._rules:
            return []
        with self._lock:
            candidates = [r for r in self._rules if _rule_matches(r, direction, tenant, method, path, route, peer)]
        applied: list[AppliedFault] = []
        terminal = False
        for rule in candidates:
            if rule.kind != "latency" and terminal:
                continue
            rng = self._draw(rule)
            if rng is None:
                continue
            fault = applied_fault(rule, rng)
            terminal = terminal or fault.kind != "latency"
            applied.append(fault)
        return applied

    def _draw(self, rule: FaultRule) -> random.Random | None:
        """The stream of this application when the rule fires (counted in its row), else None."""
        t = self.control.faults_t
        key = (t.c.service == self.service) & (t.c.id == rule.id)
        with self.control.store.begin() as conn:
            row = conn.execute(update(t).where(key).values(draws=t.c.draws + 1)
                               .returning(t.c.draws, t.c.applied)).first()
            if row is None:  # removed meanwhile
                return None
            draws, count = int(row[0]), int(row[1])
            if rule.times is not None and count >= rule.times:
                return None
            digest = hashlib.sha256(f"{self.seed}:fault:{rule.id}:{draws}".encode()).digest()
            rng = random.Random(int.from_bytes(digest[:16], "big"))
            if rule.probability < 1.0 and rng.random() >= rule.probability:
                return None
            conn.execute(update(t).where(key).values(applied=t.c.applied + 1))
        return rng


# -- journal ------------------------------------------------------------------------------------


class SharedJournal(Journal):
    """A mock's journal in table ``examrig_journal``, written in batches, read after a barrier.

    The request path appends to a local list (``record_deferred`` builds nothing); a flusher thread writes
    what is pending every :data:`FLUSH_INTERVAL` in one transaction that numbers the entries (one counter
    per mock: the merged order), trims the table to ``capacity`` (counting what it evicts in ``dropped``)
    and acknowledges the barrier epoch it saw before taking the batch. A read bumps the epoch and waits
    until every live process of the mock has acknowledged it: every exchange answered before the read is
    then in the table. ``seq`` and ``next_seq`` are the merged numbers; the process's own order is kept in
    each entry's ``note``-free field ``process`` of the stored data.
    """

    def __init__(self, control: Control, service: str, capacity: int) -> None:
        super().__init__(capacity)
        self.control = control
        self.service = service
        self._pending: deque[tuple[int, Entry | _Deferred]] = deque()
        self._local_dropped = 0
        self._flush_lock = threading.Lock()
        self._flushed_epoch = 0
        self._beat_at = 0.0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._polled_epoch_at = -math.inf
        self._db_epoch = 0
        # what else writes in the flusher's transactions (the mock's SharedMetrics): a barrier then covers it too
        self.riders: list[Rider] = []

    # recording: local and cheap --------------------------------------------------------------

    def _append(self, item: Entry | _Deferred) -> None:
        # the caller holds self._lock; local numbers are the process's own order
        self._next_seq += 1
        self._pending.append((time.time_ns(), item))
        if len(self._pending) > self.capacity:
            self._pending.popleft()
            self._local_dropped += 1
        if self._thread is None:
            self.start()

    def start(self) -> None:
        """Join the barrier's roll and start the flusher (at the latest on the first entry; never before a fork)."""
        if self._thread is not None:
            return
        # on the roll before any entry is flushed: a reader waits for this process's first acknowledgement
        p = self.control.processes
        now = time.time()
        with self.control.store.begin() as conn:
            conn.execute(delete(p).where(p.c.service == self.service, p.c.token == self.control.token))
            conn.execute(p.insert().values(service=self.service, token=self.control.token, flushed=0, beat=now))
        self._beat_at = now
        self._thread = threading.Thread(target=self._run, name=f"examrig journal {self.service}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # entries are written when a reader asks (the epoch moved), not all the time: under load nobody
        # reads, and writing every exchange costs more than serving it (~6 KB of entry per request); a
        # heartbeat once a second keeps this process on the barrier's roll (and writes the riders: a rider
        # asking for a write of its own, a metrics scrape's barrier, gets one at once without the entries)
        while not self._stop.wait(FLUSH_INTERVAL):
            try:
                if self._epoch() > self._flushed_epoch:
                    self.flush()
                elif time.time() - self._beat_at >= 1.0 or any(rider.wanted() for rider in self.riders):
                    self._heartbeat()
            except Exception:  # a database hiccup: the batch stays pending for the next pass
                time.sleep(FLUSH_INTERVAL)

    def _epoch(self) -> int:
        """The barrier epoch: the host's, or (across hosts) the database's, polled."""
        host = self.control.host
        if self.control.poll is not None:
            now = time.monotonic()
            if now - self._polled_epoch_at >= self.control.poll:
                self._polled_epoch_at = now
                self._db_epoch = max(self._db_epoch, self.control.counter(JOURNAL_EPOCH))
        return max(host.epoch if host is not None else 0, self._db_epoch)

    def _heartbeat(self) -> None:
        """Still alive (the barrier waits for live processes only); the entries stay pending, the riders write."""
        # under the flush lock: a process's rider writes commit in the order they took (a metrics scrape that
        # sees this process's acknowledgement then sees every count taken before it)
        with self._flush_lock:
            p, now = self.control.processes, time.time()
            taken = self._take_riders()
            try:
                with self.control.store.begin() as conn:
                    conn.execute(update(p).where(p.c.service == self.service, p.c.token == self.control.token)
                                 .values(beat=now))
                    self._write_riders(conn, taken)
            except Exception:
                self._give_back_riders(taken)
                raise
            self._beat_at = now

    def _take_riders(self) -> list[tuple[Rider, Any]]:
        return [(rider, data) for rider in self.riders if (data := rider.take()) is not None]

    @staticmethod
    def _write_riders(conn: Connection, taken: list[tuple[Rider, Any]]) -> None:
        for rider, data in taken:
            rider.write(conn, data)

    @staticmethod
    def _give_back_riders(taken: list[tuple[Rider, Any]]) -> None:
        for rider, data in taken:
            rider.give_back(data)

    def flush(self) -> None:
        """Write what is pending (unnumbered) and acknowledge the epoch seen before taking it."""
        with self._flush_lock:
            epoch = self._epoch()
            with self._lock:
                batch, self._pending = self._pending, deque()
                lost, self._local_dropped = self._local_dropped, 0
            taken = self._take_riders()
            now = time.time()
            if not batch and not lost and not taken and epoch <= self._flushed_epoch and now - self._beat_at < 1.0:
                return
            # what the entry is built from, pickled (module-level builder and plain values): formatting, the
            # costly part, is left to a reader, as in one process (the database is examrig's own, trusted)
            rows = [{"service": self.service, "origin": self.control.token, "pseq": item.seq, "seq": None,
                     "ts_ns": ns, "tenant": item.tenant, "data": _packed(item)} for ns, item in batch]
            store = self.control.store
            j, p = self.control.journal_t, self.control.processes
            try:
                with store.begin() as conn:
                    if rows:
                        conn.execute(j.insert(), rows)
                    if lost:  # this process's pending list overflowed: windows up to this batch's numbers lack some
                        self._count(conn, "dropped", lost)
                        j_ = self.control.journal_t
                        waiting = int(conn.execute(select(func.count()).select_from(j_).where(
                            j_.c.service == self.service, j_.c.seq.is_(None))).scalar() or 0)
                        self._raise_evicted(conn, self._counter(conn, f"journal:{self.service}") + waiting)
                    key = (p.c.service == self.service) & (p.c.token == self.control.token)
                    if not conn.execute(update(p).where(key).values(flushed=epoch, beat=now)).rowcount:
                        conn.execute(p.insert().values(service=self.service, token=self.control.token,
                                                       flushed=epoch, beat=now))
                    self._write_riders(conn, taken)
            except Exception:
                self._give_back_riders(taken)
                with self._lock:  # keep the batch for the next pass, in order
                    batch.extend(self._pending)
                    self._pending = batch
                    self._local_dropped += lost
                raise
            self._flushed_epoch = epoch
            self._beat_at = now

    def _number(self) -> None:
        """Number the entries written since the last read, in the order they were recorded, and trim to the bound."""
        j, store = self.control.journal_t, self.control.store
        with store.begin() as conn:
            # a read then a write: numbering processes take turns (on PostgreSQL two of them read the same
            # unnumbered rows and the same count, and the first count of a service was inserted twice: a 500)
            store.lock(conn, "journal-number", self.service)
            fresh = conn.execute(select(j.c.origin, j.c.pseq).where(j.c.service == self.service, j.c.seq.is_(None))
                                 .order_by(j.c.ts_ns, j.c.origin, j.c.pseq)).all()
            if not fresh:
                return
            name = f"journal:{self.service}"
            base = self._counter(conn, name)
            self._count_to(conn, name, base + len(fresh))
            conn.execute(update(j).where(j.c.service == self.service, j.c.origin == bindparam("b_origin"),
                                         j.c.pseq == bindparam("b_pseq")).values(seq=bindparam("b_seq")),
                         [{"b_origin": o, "b_pseq": q, "b_seq": base + 1 + i} for i, (o, q) in enumerate(fresh)])
            self._trim(conn, base + len(fresh))

    def _count(self, conn: Connection, name: str, n: int) -> None:
        c = self.control.store.counters
        full = f"journal-{name}:{self.service}"
        key = (c.c.tenant == CONTROL) & (c.c.name == full)
        if not conn.execute(update(c).where(key).values(value=c.c.value + n)).rowcount:
            self.control.store.next_value(conn, CONTROL, full, start=n)

    def _count_to(self, conn: Connection, name: str, value: int) -> None:
        c = self.control.store.counters
        key = (c.c.tenant == CONTROL) & (c.c.name == name)
        if not conn.execute(update(c).where(key).values(value=value)).rowcount:
            conn.execute(c.insert().values(tenant=CONTROL, name=name, value=value))

    def _raise_evicted(self, conn: Connection, upto: int) -> None:
        c = self.control.store.counters
        key = (c.c.tenant == CONTROL) & (c.c.name == f"journal-evicted:{self.service}")
        if not conn.execute(update(c).where(key).where(c.c.value < upto).values(value=upto)).rowcount \
                and conn.execute(select(c.c.value).where(key)).first() is None:
            conn.execute(c.insert().values(tenant=CONTROL, name=f"journal-evicted:{self.service}", value=upto))

    def _trim(self, conn: Connection, top: int) -> None:
        j = self.control.journal_t
        limit = top - self.capacity
        if limit < 1:
            return
        old = (j.c.service == self.service) & (j.c.seq <= limit)
        gone = int(conn.execute(select(func.count()).select_from(j).where(old)).scalar() or 0)
        if gone:
            conn.execute(delete(j).where(old))
            self._count(conn, "dropped", gone)
            self._raise_evicted(conn, limit)

    # the barrier --------------------------------------------------------------------------

    def barrier(self) -> None:
        """Return once every live process of this mock has flushed what it recorded before the call."""
        store, p = self.control.store, self.control.processes
        with store.begin() as conn:
            epoch = store.next_value(conn, CONTROL, JOURNAL_EPOCH)
        host = self.control.host
        if host is not None:
            while host.epoch < epoch:
                host.bump(1)
        self.flush()
        deadline = time.monotonic() + BARRIER_TIMEOUT
        while time.monotonic() < deadline:
            with store.read() as conn:
                behind = conn.execute(select(func.count()).select_from(p).where(
                    p.c.service == self.service, p.c.flushed < epoch,
                    p.c.beat > time.time() - STALE_PROCESS)).scalar()
            if not behind:
                break
            time.sleep(FLUSH_INTERVAL / 2)
        self._number()

    # reading ------------------------------------------------------------------------------

    def _counter(self, conn: Connection, name: str) -> int:
        c = self.control.store.counters
        return int(conn.execute(select(c.c.value).where(c.c.tenant == CONTROL, c.c.name == name)).scalar() or 0)

    @property
    def next_seq(self) -> int:
        self.barrier()
        with self.control.store.read() as conn:
            return self._counter(conn, f"journal:{self.service}") + 1

    def query(self, since: int | None = None, limit: int | None = None, **filters: Any) -> JournalSlice:
        from mocks.core.journal import FILTER_KEYS
        unknown = set(filters) - set(FILTER_KEYS)
        if unknown:
            raise ValueError(f"unknown journal filter: {sorted(unknown)[0]}")
        self.barrier()
        j = self.control.journal_t
        start = since if since is not None else 1
        stmt = select(j.c.seq, j.c.data).where(j.c.service == self.service, j.c.seq >= start).order_by(j.c.seq)
        if isinstance(filters.get("tenant"), str):
            stmt = stmt.where(j.c.tenant == filters["tenant"])
        with self.control.store.read() as conn:
            rows = conn.execute(stmt).all()
            oldest = conn.execute(select(func.min(j.c.seq)).where(j.c.service == self.service)).scalar()
            dropped = self._counter(conn, f"journal-dropped:{self.service}")
            evicted = self._counter(conn, f"journal-evicted:{self.service}")
            next_seq = self._counter(conn, f"journal:{self.service}") + 1
        entries = []
        for seq, blob in rows:
            entries.append(_unpacked(int(seq), blob))
        selected = [e for e in entries if _matches(e, filters)]
        if limit is not None:
            selected = selected[-limit:]
        return JournalSlice(selected, dropped, evicted >= start, int(oldest) if oldest is not None else None,
                            next_seq)

    def clear(self, tenant: str | None = None) -> int:
        self.barrier()
        j = self.control.journal_t
        stmt = delete(j).where(j.c.service == self.service)
        if tenant is not None:
            stmt = stmt.where(j.c.tenant == tenant)
        with self.control.store.begin() as conn:
            return int(conn.execute(stmt).rowcount or 0)

    def stats(self) -> dict[str, int]:
        self.barrier()
        j = self.control.journal_t
        with self.control.store.read() as conn:
            size = int(conn.execute(select(func.count()).select_from(j).where(
                j.c.service == self.service, j.c.seq.is_not(None))).scalar() or 0)
            dropped = self._counter(conn, f"journal-dropped:{self.service}")
            next_seq = self._counter(conn, f"journal:{self.service}") + 1
        return {"size": size, "capacity": self.capacity, "dropped": dropped, "next_seq": next_seq}

    def close(self) -> None:
        """Stop the flusher, write what is left, and leave the barrier's roll."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.flush()
            p = self.control.processes
            with self.control.store.begin() as conn:
                conn.execute(delete(p).where(p.c.service == self.service, p.c.token == self.control.token))


def _packed(item: Entry | _Deferred) -> bytes:
    """An entry as stored: its builder and arguments when it is still deferred, else the entry."""
    if isinstance(item, _Deferred) and item.make is not None and item.args is not None:
        try:
            return pickle.dumps((item.make, item.args), protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):  # a note that does not pickle: build it now
            pass
    return pickle.dumps(_resolve(item), protocol=pickle.HIGHEST_PROTOCOL)


def _unpacked(seq: int, blob: bytes) -> Entry:
    """The stored entry, numbered ``seq`` (built now when it was stored deferred)."""
    value = pickle.loads(blob)  # written by this examrig's own processes only
    if isinstance(value, Entry):
        value.seq = seq
        return value
    make, args = value
    built: Entry = make(seq, *args)
    return built


__all__ = ["HOST", "Control", "HostSignal", "SharedClock", "SharedFaults", "SharedJournal"]
