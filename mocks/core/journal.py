"""A bounded, honest journal of every exchange in and out of a mock."""

from __future__ import annotations

import fnmatch
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "authorization-token",
    "x-api-key", "x-auth-token",
})
BODY_LIMIT = 4096


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with secret values replaced by ``<redacted>``."""
    out: dict[str, str] = {}
    for name, value in headers:
        out[name] = "<redacted>" if name.lower() in SECRET_HEADERS else value
    return out


#: where the text of a body past the limit that ends with an OData ``odata.nextLink`` skips to its end
OMITTED = "\n\u2026[examrig: {} bytes not kept]\u2026\n"
_NEXT_LINK = b'"odata.nextLink"'
_TAIL_MAX = 1024


def body_digest(body: bytes, limit: int = BODY_LIMIT) -> tuple[str, str, int]:
    """(text truncated to ``limit`` bytes, sha256 of the whole body, size).

    An OData collection page past the limit ends with its ``odata.nextLink``, which a client rule
    (DOC-PAGE-001: paging followed) needs: such a body is kept as its head, :data:`OMITTED` and its tail
    from the ``"odata.nextLink"`` member on (at most 1 KiB), still within ``limit`` bytes. Every other
    body keeps its first ``limit`` bytes.
    """
    digest, size = hashlib.sha256(body).hexdigest(), len(body)
    if size > limit:
        at = body.rfind(_NEXT_LINK, max(0, size - _TAIL_MAX))
        room = limit - (size - at) - len(OMITTED.format(size).encode())
        if at > 0 and room >= 0:
            tail = body[at:]
            # the mark's count has at most as many digits as the size: the whole text stays within limit
            head = body[:room]
            mark = OMITTED.format(at - len(head)).encode()
            return (head + mark + tail).decode("utf-8", errors="replace"), digest, size
    return body[:limit].decode("utf-8", errors="replace"), digest, size


@dataclass
class Entry:
    """One exchange: an inbound request to a mock or an outbound call to a peer."""

    seq: int
    ts: str
    direction: str
    service: str
    tenant: str
    method: str
    url: str
    path: str
    route: str | None = None
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str = ""
    request_sha256: str = ""
    request_size: int = 0
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    response_sha256: str = ""
    response_size: int = 0
    duration_ms: float = 0.0
    fault: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    error: str | None = None
    peer: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


@dataclass
class JournalSlice:
    """The result of a query: the entries, and whether the window lost any to the bound."""

    entries: list[Entry]
    dropped: int
    overflow: bool
    oldest_seq: int | None
    next_seq: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "entries": [e.to_dict() for e in self.entries],
            "count": len(self.entries),
            "dropped": self.dropped,
            "overflow": self.overflow,
            "oldest_seq": self.oldest_seq,
            "next_seq": self.next_seq,
        }


@dataclass
class Verification:
    """The outcome of an expectation over the journal.

    ``verdict`` is ``pass``, ``fail`` or ``error``; ``error`` with ``code ==
    "journal_overflow"`` when the window lost entries, so a check can never pass or
    fail on incomplete evidence. Failures carry near misses: the entries closest to
    the expectation and what differed.
    """

    verdict: str
    matched: list[Entry]
    expected: str
    code: str | None = None
    near_misses: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the expectation held on complete evidence."""
        return self.verdict == "pass"

    def describe(self) -> str:
        """A human-readable account of the outcome."""
        lines = [f"{self.verdict}: expected {self.expected}; matched {len(self.matched)}"]
        if self.code:
            lines[0] += f" ({self.code})"
        lines.extend(f"  near miss: {m}" for m in self.near_misses)
        return "\n".join(lines)


FILTER_KEYS = ("direction", "method", "path", "route", "status", "tenant", "peer", "service")


class _Deferred:
    """An entry recorded now and built on first read (see :meth:`Journal.record_deferred`)."""

    __slots__ = ("args", "entry", "make", "seq", "tenant")

    def __init__(self, seq: int, tenant: str, make: Callable[..., Entry], args: tuple[Any, ...]) -> None:
        self.seq = seq
        self.tenant = tenant
        self.make: Callable[..., Entry] | None = make
        self.args: tuple[Any, ...] | None = args
        self.entry: Entry | None = None

    def resolve(self) -> Entry:
        """The entry, built on first call; safe from several threads (a race builds it twice, one copy is kept)."""
        entry = self.entry
        if entry is not None:
            return entry
        make, args = self.make, self.args
        if make is None or args is None:  # another thread has just built it
            assert self.entry is not None
            return self.entry
        entry = make(self.seq, *args)
        if self.entry is None:
            self.entry = entry
        self.make = self.args = None  # drop what the builder held
        return self.entry


class Journal:
    """A ring buffer of :class:`Entry` with a monotonic ``dropped`` counter.

    ``seq`` numbers every entry ever recorded, so a caller that remembers
    ``next_seq`` before an action can later ask for exactly the entries since then
    and learn whether any of them were evicted (``overflow``).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("journal capacity must be at least 1")
        self.capacity = capacity
        self._entries: deque[Entry | _Deferred] = deque()
        self._lock = threading.Lock()
        self._next_seq = 1
        self.dropped = 0
        # the highest seq that has been evicted; windows starting at or below it are incomplete
        self._evicted_upto = 0

    @property
    def next_seq(self) -> int:
        """The seq the next entry will get."""
        return self._next_seq

    def record(self, **values: Any) -> Entry:
        """Append an entry (``seq`` is assigned here) and evict past the bound."""
        with self._lock:
            entry = Entry(seq=self._next_seq, **values)
            self._append(entry)
            return entry

    def record_deferred(self, tenant: str, make: Callable[..., Entry], *args: Any) -> int:
        """Append an entry that ``make(seq, *args)`` builds when the journal is first read; returns its seq.

        The request path records this way: the exchange's place in the journal (its
        ``seq``, and so ``next_seq``, eviction and ``dropped``) is fixed at once, while
        the formatting (timestamp, header redaction, body digests) is done only for the
        entries somebody reads. ``args`` must be values that no longer change; a plain
        function and a tuple of arguments (rather than a closure and its cells) keep the
        garbage collector's work per entry small.
        """
        with self._lock:
            seq = self._next_seq
            self._append(_Deferred(seq, tenant, make, args))
            return seq

    def _append(self, item: Entry | _Deferred) -> None:
        self._next_seq += 1
        self._entries.append(item)
        while len(self._entries) > self.capacity:
            old = self._entries.popleft()
            self.dropped += 1
            self._evicted_upto = old.seq

    def clear(self, tenant: str | None = None) -> int:
        """Forget every entry, or one tenant's; returns how many were removed.

        Cleared entries are not counted as dropped: a reset is deliberate.
        """
        with self._lock:
            before = len(self._entries)
            if tenant is None:
                self._entries.clear()
            else:
                self._entries = deque(e for e in self._entries if e.tenant != tenant)
            return before - len(self._entries)

    def query(self, since: int | None = None, limit: int | None = None,
              **filters: Any) -> JournalSlice:
        """Entries with ``seq >= since`` matching every filter.

        Filters: ``direction``, ``method``, ``route``, ``status``, ``tenant``,
        ``peer``, ``service`` match exactly; ``path`` matches as a glob
        (``/api/*``). ``overflow`` is true when the window (from ``since``, or from
        the beginning) has lost entries to the bound.
        """
        unknown = set(filters) - set(FILTER_KEYS)
        if unknown:
            raise ValueError(f"unknown journal filter: {sorted(unknown)[0]}")
        with self._lock:
            items = list(self._entries)
            start = since if since is not None else 1
            overflow = self._evicted_upto >= start
            dropped = self.dropped
            oldest = items[0].seq if items else None
            next_seq = self._next_seq
        # entries are built outside the lock: recording (every request) never waits for a reader
        selected = [e for e in (_resolve(item) for item in items if item.seq >= start) if _matches(e, filters)]
        if limit is not None:
            selected = selected[-limit:]
        return JournalSlice(selected, dropped, overflow, oldest, next_seq)

    def expect(self, *, count: int | None = None, at_least: int | None = None,
               since: int | None = None, **filters: Any) -> Verification:
        """Check that the window holds ``count`` (or ``at_least``) matching entries."""
        if count is None and at_least is None:
            at_least = 1
        expected = f"{'exactly ' + str(count) if count is not None else 'at least ' + str(at_least)}" \
            f" entries with {_describe_filters(filters)}"
        window = self.query(since=since, **filters)
        if window.overflow:
            return Verification("error", window.entries, expected, code="journal_overflow",
                                near_misses=[f"{window.dropped} entries dropped; raise the journal capacity"])
        n = len(window.entries)
        ok = n == count if count is not None else n >= (at_least or 0)
        if ok:
            return Verification("pass", window.entries, expected)
        near = self.near_misses(since=since, **filters)
        return Verification("fail", window.entries, expected, near_misses=near)

    def near_misses(self, since: int | None = None, top: int = 3, **filters: Any) -> list[str]:
        """The entries that matched most of ``filters``, each with what differed."""
        everything = self.query(since=since).entries
        scored: list[tuple[int, int, list[str], Entry]] = []
        for e in everything:
            diffs = [f"{k}={_value(e, k)!r} (wanted {v!r})" for k, v in filters.items() if not _match_one(e, k, v)]
            if diffs and len(diffs) < len(filters) + 1:
                scored.append((len(diffs), -e.seq, diffs, e))
        scored.sort(key=lambda t: (t[0], t[1]))
        return [f"#{e.seq} {e.direction} {e.method} {e.path} -> {e.status}: " + ", ".join(d)
                for _, _, d, e in scored[:top]]

    def stats(self) -> dict[str, int]:
        """Size, capacity, dropped count and next seq."""
        with self._lock:
            return {"size": len(self._entries), "capacity": self.capacity,
                    "dropped": self.dropped, "next_seq": self._next_seq}


def _resolve(item: Entry | _Deferred) -> Entry:
    return item.resolve() if isinstance(item, _Deferred) else item


def _value(entry: Entry, key: str) -> object:
    return getattr(entry, key)


def _match_one(entry: Entry, key: str, wanted: Any) -> bool:
    value = _value(entry, key)
    if key == "path" and isinstance(wanted, str):
        return fnmatch.fnmatchcase(str(value), wanted)
    if key == "status" and wanted is not None:
        return value == int(wanted)
    return bool(value == wanted)


def _matches(entry: Entry, filters: Mapping[str, Any]) -> bool:
    return all(_match_one(entry, k, v) for k, v in filters.items() if v is not None)


def _describe_filters(filters: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in filters.items()) or "any values"
