"""Per-route request counters and a latency histogram, exposed in Prometheus text format (prometheus_client).

One process counts in memory (a dict increment per request, as before) and prometheus_client writes the
exposition. When several processes serve one mock (``shared_control``: ``--processes N``, or several hosts on
one database) each process counts in memory what it has not yet written and adds it to table
``examrig_metric`` on its journal flusher's passes (at least once a second, and on every journal barrier); a
scrape is a barrier (every live process writes what it counted) and then the sum of the table: every
process answers with the traffic of all of them (docs/scale-out.md, "Metrics").
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import Column, Connection, Float, MetaData, String, Table, delete, select

if TYPE_CHECKING:
    from mocks.core.control import Control, SharedJournal

BUCKETS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)
#: the text format prometheus_client's generate_latest writes for these names (plain ASCII metric and label
#: names: the 0.0.4 format; newer clients call their default 1.0.0, which Prometheus 2 does not announce)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
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
            counts = self.buckets.setdefault(route, [0] * (len(BUCKETS_MS) + 1))
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


class SharedMetrics(Metrics):
    """Counts of all processes of one mock: what this process counted since its last write stays in memory
    (the request path is :class:`Metrics`'s), the rest is in ``examrig_metric``.

    Rides on the mock's :class:`~mocks.core.control.SharedJournal` flusher (``take``/``write``/``give_back``):
    the pending counts are added to the table in the flusher's transactions, so a journal barrier, which every
    live process acknowledges only after such a transaction, also makes the table complete.
    """

    def __init__(self, control: Control, service: str, journal: SharedJournal) -> None:
        super().__init__()
        self.control = control
        self.service = service
        self.journal = journal
        self.table = metric_table(control.store.metadata)

    def observe(self, route: str, status: int, duration_ms: float) -> None:
        super().observe(route, status, duration_ms)
        if self.journal._thread is None:  # a process that has journaled nothing yet still flushes its counts
            with self.journal._lock:
                self.journal.start()

    # the flusher's side ---------------------------------------------------------------------------

    def take(self) -> Totals | None:
        """The counts not yet written (and forget them here), or ``None``."""
        with self._lock:
            if not self.requests and not self.buckets:
                return None
            taken = Totals({k: float(v) for k, v in self.requests.items()},
                           {r: [float(n) for n in c] for r, c in self.buckets.items()}, dict(self.sums))
            self.requests, self.buckets, self.sums = defaultdict(int), {}, defaultdict(float)
        return taken

    def give_back(self, taken: Totals) -> None:
        """Counts whose write failed: pending again (with what arrived meanwhile)."""
        with self._lock:
            for key, n in taken.requests.items():
                self.requests[key] += int(n)
            for route, counts in taken.buckets.items():
                mine = self.buckets.setdefault(route, [0] * (len(BUCKETS_MS) + 1))
                for i, n in enumerate(counts):
                    mine[i] += int(n)
            for route, s in taken.sums.items():
                self.sums[route] += s

    def write(self, conn: Connection, taken: Totals) -> None:
        """Add ``taken`` to the table, inside the flusher's transaction."""
        rows = [{"service": self.service, "name": "requests", "route": route, "label": str(status), "value": n}
                for (route, status), n in taken.requests.items()]
        for route, counts in taken.buckets.items():
            rows += [{"service": self.service, "name": "bucket", "route": route, "label": str(i), "value": n}
                     for i, n in enumerate(counts) if n]
        rows += [{"service": self.service, "name": "sum", "route": route, "label": "", "value": s}
                 for route, s in taken.sums.items()]
        # one order for every process: two PostgreSQL transactions adding to the same rows never deadlock
        rows.sort(key=lambda r: (r["name"], r["route"], r["label"]))
        conn.execute(self._add(), rows)

    def _add(self) -> Any:
        from sqlalchemy.dialects import postgresql, sqlite
        t = self.table
        insert = postgresql.insert(t) if self.control.store.is_postgres else sqlite.insert(t)
        return insert.on_conflict_do_update(index_elements=["service", "name", "route", "label"],
                                            set_={"value": t.c.value + insert.excluded.value})

    # what a scrape and a reset see ----------------------------------------------------------------

    def totals(self) -> Totals:
        """The sums over every process: after a barrier, every live process has written what it counted."""
        self.journal.barrier()
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
        """Forget the counts of every process (the caller's journal barrier has flushed the others')."""
        super().reset()
        t = self.table
        with self.control.store.begin() as conn:
            conn.execute(delete(t).where(t.c.service == self.service))


__all__ = ["BUCKETS_MS", "CONTENT_TYPE", "Metrics", "SharedMetrics", "Totals", "metric_table"]
