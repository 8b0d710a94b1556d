"""Per-route request counters and a latency histogram, exposed in Prometheus text format (prometheus_client).

One process counts in memory (a dict increment per request, as before) and prometheus_client writes the
exposition. When several processes serve one mock (``shared_control``: ``--processes N``, or several hosts on
one database) each process counts in memory what it has not yet written and adds it to table
``examrig_metric`` on its journal flusher's passes (at least once a second, and on every journal barrier); a
scrape is a barrier (every live process writes what it counted) and then the sum of the table: every
process answers with the traffic of all of them (docs/scale-out.md, "Metrics").
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import BigInteger, Column, Connection, Float, MetaData, String, Table, case, delete, select

if TYPE_CHECKING:
    from mocks.core.control import Control, SharedJournal

BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
#: the text format prometheus_client's generate_latest writes for these names (plain ASCII metric and label
#: names: the 0.0.4 format; newer clients call their default 1.0.0, which Prometheus 2 does not announce)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: A scrape's epoch counter: one for every mock, as the host's slot (mocks/core/control.py ``JOURNAL_EPOCH``)
METRICS_EPOCH = "metrics-epoch"
# the bounds as prometheus_client's own Histogram writes them ("1.0")
_LE = [str(floatToGoString(b)) for b in BUCKETS_MS]  # type: ignore[no-untyped-call]


@dataclass
class Totals:
    """Counts as plain data: requests by (route, status), per-route bucket counts (not cumulative) and sums."""

    requests: dict[tuple[str, int], float] = field(default_factory=dict)
    buckets: dict[str, list[float]] = field(default_factory=dict)
    sums: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.requests or self.buckets)


class Metrics:
    """Counts requests by route and status and buckets their durations (mock-side latency), in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = defaultdict(int)
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = defaultdict(float)

    def observe(self, route: str, status: int, duration_ms: float) -> None:
        """Record one finished request."""
        # plain dict arithmetic under one lock: prometheus_client's labelled Counter and Histogram cost ~4x
        # this per request (bench/bench_metrics.py), and the shared mode needs the counts as deltas anyway
        with self._lock:
            self.requests[(route, status)] += 1
            counts = self.buckets.get(route)
            if counts is None:  # (setdefault would build the default list on every request)
                counts = self.buckets[route] = [0] * (len(BUCKETS_MS) + 1)
            for i, bound in enumerate(BUCKETS_MS):
                if duration_ms <= bound:
                    counts[i] += 1
                    break
            else:
                counts[-1] += 1
            self.sums[route] += duration_ms

    def totals(self) -> Totals:
        """What the scrape shows: this process's counts."""
        with self._lock:
            return Totals({k: float(v) for k, v in self.requests.items()},
                          {r: [float(n) for n in c] for r, c in self.buckets.items()}, dict(self.sums))

    def exposition(self, service: str) -> bytes:
        """The counters in Prometheus text format, written by prometheus_client."""
        return generate_latest(_Families(service, self.totals()))

    def render(self, service: str) -> str:
        """:meth:`exposition` as text."""
        return self.exposition(service).decode("utf-8")

    def reset(self) -> None:
        """Forget everything counted."""
        with self._lock:
            self.requests = defaultdict(int)
            self.buckets = {}
            self.sums = defaultdict(float)


class _Families(Collector):
    """The two metric families of one mock, from :class:`Totals` (a collector for ``generate_latest``)."""

    def __init__(self, service: str, totals: Totals) -> None:
        self.service = service
        self.data = totals

    def collect(self) -> Iterator[Metric]:
        # no `_created` series: a start instant per process means nothing once processes are summed
        requests = CounterMetricFamily("examrig_requests", "Requests answered, by route and status",
                                       labels=["service", "route", "status"])
        for (route, status), n in sorted(self.data.requests.items()):
            requests.add_metric([self.service, route, str(status)], n)
        yield requests
        latency = HistogramMetricFamily("examrig_request_duration_ms",
                                        "Mock-side time to answer, in milliseconds, by route",
                                        labels=["service", "route"])
        for route, counts in sorted(self.data.buckets.items()):
            running, buckets = 0.0, []
            for le, n in zip(_LE, counts, strict=False):
                running += n
                buckets.append((le, running))
            buckets.append(("+Inf", running + counts[-1]))
            latency.add_metric([self.service, route], buckets, self.data.sums.get(route, 0.0))
        yield latency


# -- several processes ------------------------------------------------------------------------------


def metric_table(md: MetaData) -> Table:
    """``examrig_metric``: per mock, additive values: ``requests`` (label: status), ``bucket`` (label: its
    index) and ``sum`` (label empty), each by route. Processes add to the rows; nothing is per process."""
    existing = md.tables.get("examrig_metric")
    if isinstance(existing, Table):
        return existing
    return Table("examrig_metric", md, Column("service", String(40), primary_key=True),
                 Column("name", String(16), primary_key=True), Column("route", String(200), primary_key=True),
                 Column("label", String(16), primary_key=True), Column("value", Float, nullable=False))


def ack_table(md: MetaData) -> Table:
    """``examrig_metric_ack``: the last metrics epoch each process of a mock wrote its counts for."""
    existing = md.tables.get("examrig_metric_ack")
    if isinstance(existing, Table):
        return existing
    return Table("examrig_metric_ack", md, Column("service", String(40), primary_key=True),
                 Column("token", String(200), primary_key=True), Column("epoch", BigInteger, nullable=False))


@dataclass
class _Taken:
    epoch: int  # the metrics epoch seen before the counts were taken: what the write acknowledges
    totals: Totals | None
    acked: int  # the acknowledgement before this write (restored when the write fails)


class SharedMetrics(Metrics):
    """Counts of all processes of one mock: what this process counted since its last write stays in memory
    (the request path is :class:`Metrics`'s), the rest is in ``examrig_metric``.

    Rides on the mock's :class:`~mocks.core.control.SharedJournal` flusher (``wanted``, ``take``, ``write``,
    ``give_back``): the pending counts are added to the table in the flusher's transactions, at its heartbeat
    (every second) and at once when a scrape asks. A scrape is a barrier of its own, not the journal's (that
    one writes every pending journal entry: a Prometheus scraper would undo the journal's write-on-read): it
    bumps the *metrics epoch* (database, and the host's shared memory), and waits until every live process
    of the mock (the journal's roll) has acknowledged it in ``examrig_metric_ack``; a flusher acknowledges the
    epoch it saw before taking its counts, so every request answered before the scrape began is in the sums.
    """

    def __init__(self, control: Control, service: str, journal: SharedJournal) -> None:
        super().__init__()
        self.control = control
        self.service = service
        self.journal = journal
        self.table = metric_table(control.store.metadata)
        self.acks = ack_table(control.store.metadata)
        self._acked = 0
        self._upserts: tuple[Any, Any] | None = None
        self._db_epoch = 0
        self._polled_at = -math.inf

    def observe(self, route: str, status: int, duration_ms: float) -> None:
        super().observe(route, status, duration_ms)
        if self.journal._thread is None:  # a process that has journaled nothing yet still writes its counts
            with self.journal._lock:
                self.journal.start()

    # the flusher's side ---------------------------------------------------------------------------

    def _epoch(self) -> int:
        """The metrics epoch: the host's, or (across hosts) the database's, polled every ``control_poll_ms``."""
        control = self.control
        if control.poll is not None:
            now = time.monotonic()
            if now - self._polled_at >= control.poll:
                self._polled_at = now
                self._db_epoch = max(self._db_epoch, control.counter(METRICS_EPOCH))
        host = control.host
        return max(host.value(2) if host is not None else 0, self._db_epoch)

    def wanted(self) -> bool:
        """A scrape waits for this process's counts."""
        return self._epoch() > self._acked

    def take(self) -> _Taken | None:
        """The counts not yet written (and forget them here) with the epoch they answer, or ``None``."""
        epoch = self._epoch()  # before the counts: everything counted before the scrape's bump is taken
        with self._lock:
            if not self.requests and not self.buckets:
                totals = None
            else:
                totals = Totals({k: float(v) for k, v in self.requests.items()},
                                {r: [float(n) for n in c] for r, c in self.buckets.items()}, dict(self.sums))
                self.requests, self.buckets, self.sums = defaultdict(int), {}, defaultdict(float)
            if totals is None and epoch <= self._acked:
                return None
            taken = _Taken(epoch, totals, self._acked)
            self._acked = max(self._acked, epoch)
        return taken

    def give_back(self, taken: _Taken) -> None:
        """A write that failed: its counts are pending again (with what arrived meanwhile), its epoch unanswered."""
        with self._lock:
            self._acked = min(self._acked, taken.acked)
            if taken.totals is None:
                return
            for key, n in taken.totals.requests.items():
                self.requests[key] += int(n)
            for route, counts in taken.totals.buckets.items():
                mine = self.buckets.setdefault(route, [0] * (len(BUCKETS_MS) + 1))
                for i, n in enumerate(counts):
                    mine[i] += int(n)
            for route, total in taken.totals.sums.items():
                self.sums[route] += total

    def write(self, conn: Connection, taken: _Taken) -> None:
        """Add the counts to the table and acknowledge the epoch, inside the flusher's (or a scrape's) transaction."""
        if taken.totals is not None:
            rows = [{"service": self.service, "name": "requests", "route": route, "label": str(status), "value": n}
                    for (route, status), n in taken.totals.requests.items()]
            for route, counts in taken.totals.buckets.items():
                rows += [{"service": self.service, "name": "bucket", "route": route, "label": str(i), "value": n}
                         for i, n in enumerate(counts) if n]
            rows += [{"service": self.service, "name": "sum", "route": route, "label": "", "value": total}
                     for route, total in taken.totals.sums.items()]
            # one order for every process: two PostgreSQL transactions adding to the same rows never deadlock
            rows.sort(key=lambda r: (r["name"], r["route"], r["label"]))
            conn.execute(self._statements()[0], rows)
        if taken.epoch > taken.acked:
            conn.execute(self._statements()[1], {"service": self.service, "token": self.control.token,
                                                 "epoch": taken.epoch})

    def _statements(self) -> tuple[Any, Any]:
        """The add and the acknowledgement, built once (building an upsert costs more than running it)."""
        if self._upserts is None:
            from sqlalchemy.dialects import postgresql, sqlite
            dialect: Any = postgresql if self.control.store.is_postgres else sqlite
            t, a = self.table, self.acks
            add, ack = dialect.insert(t), dialect.insert(a)
            self._upserts = (
                add.on_conflict_do_update(index_elements=["service", "name", "route", "label"],
                                          set_={"value": t.c.value + add.excluded.value}),
                ack.on_conflict_do_update(index_elements=["service", "token"], set_={"epoch": case(
                    (a.c.epoch < ack.excluded.epoch, ack.excluded.epoch), else_=a.c.epoch)}))
        return self._upserts

    # what a scrape and a reset see ----------------------------------------------------------------

    def barrier(self) -> None:
        """Return once every live process of the mock has written what it counted before the call."""
        from mocks.core.control import BARRIER_TIMEOUT, CONTROL, FLUSH_INTERVAL, STALE_PROCESS
        store, p, a = self.control.store, self.control.processes, self.acks
        with store.begin() as conn:
            epoch = store.next_value(conn, CONTROL, METRICS_EPOCH)
        host = self.control.host
        if host is not None:
            while host.value(2) < epoch:
                host.bump(2)
        self._db_epoch = max(self._db_epoch, epoch)
        # this process's own counts, written now (under the journal's flush lock, as its flusher writes: a write
        # taken earlier by the flusher commits before this one)
        self.journal._heartbeat()
        deadline = time.monotonic() + BARRIER_TIMEOUT
        while time.monotonic() < deadline:
            with store.read() as conn:
                live = conn.execute(select(p.c.token).where(p.c.service == self.service,
                                                            p.c.beat > time.time() - STALE_PROCESS)).scalars().all()
                acked = dict(conn.execute(select(a.c.token, a.c.epoch).where(a.c.service == self.service)).all())
            if all(acked.get(token, 0) >= epoch for token in live):
                return
            time.sleep(FLUSH_INTERVAL / 2)

    def totals(self) -> Totals:
        """The sums over every process: after a barrier, every live process has written what it counted."""
        self.barrier()
        t = self.table
        with self.control.store.read() as conn:
            rows = conn.execute(select(t.c.name, t.c.route, t.c.label, t.c.value)
                                .where(t.c.service == self.service)).all()
        out = Totals()
        for name, route, label, value in rows:
            if name == "requests":
                out.requests[(route, int(label))] = float(value)
            elif name == "bucket":
                out.buckets.setdefault(route, [0.0] * (len(BUCKETS_MS) + 1))[int(label)] = float(value)
            elif name == "sum":
                out.sums[route] = float(value)
        return out

    def reset(self) -> None:
        """Forget the counts of every process: what each counted before the reset is written first, then deleted."""
        self.barrier()
        t = self.table
        with self.control.store.begin() as conn:
            conn.execute(delete(t).where(t.c.service == self.service))


__all__ = ["BUCKETS_MS", "CONTENT_TYPE", "Metrics", "SharedMetrics", "Totals", "ack_table", "metric_table"]
