"""Journal: bound, dropped counter, overflow signal, filters, near misses."""

from __future__ import annotations

import pytest

from mocks.core.journal import Journal, body_digest, redact_headers


def _rec(journal: Journal, path: str = "/a", status: int = 200, tenant: str = "t", method: str = "POST") -> None:
    journal.record(ts="2026-01-01T00:00:00.000Z", direction="in", service="x", tenant=tenant, method=method,
                   url=f"http://h{path}", path=path, status=status)


def test_bound_evicts_oldest_and_counts_drops() -> None:
    journal = Journal(capacity=3)
    for i in range(5):
        _rec(journal, f"/p{i}")
    stats = journal.stats()
    assert stats["size"] == 3 and stats["dropped"] == 2 and stats["next_seq"] == 6
    assert [e.path for e in journal.query(since=3).entries] == ["/p2", "/p3", "/p4"]


def test_window_that_lost_entries_reports_overflow_and_an_intact_one_does_not() -> None:
    journal = Journal(capacity=3)
    for i in range(5):
        _rec(journal, f"/p{i}")
    assert journal.query().overflow is True
    assert journal.query(since=2).overflow is True
    assert journal.query(since=3).overflow is False


def test_expect_over_overflowed_window_is_an_error_not_a_verdict() -> None:
    journal = Journal(capacity=2)
    for _ in range(4):
        _rec(journal, "/x")
    result = journal.expect(count=4, path="/x")
    assert result.verdict == "error" and result.code == "journal_overflow"
    assert not result.ok


def test_expect_pass_and_fail_with_near_misses() -> None:
    journal = Journal()
    _rec(journal, "/api/testresult", status=200)
    _rec(journal, "/api/testresult", status=400)
    _rec(journal, "/other", status=500)
    assert journal.expect(count=1, path="/api/*", status=400).ok
    failed = journal.expect(count=1, path="/api/testresult", status=401)
    assert failed.verdict == "fail"
    assert failed.near_misses, "a failed expectation lists its near misses"
    assert "/api/testresult" in failed.near_misses[0] and "wanted 401" in failed.near_misses[0]
    assert "wanted 401" in failed.describe()


def test_filters_tenant_and_unknown_filter() -> None:
    journal = Journal()
    _rec(journal, tenant="a")
    _rec(journal, tenant="b")
    assert [e.tenant for e in journal.query(tenant="b").entries] == ["b"]
    with pytest.raises(ValueError, match="unknown journal filter"):
        journal.query(colour="red")


def test_clear_by_tenant_is_not_counted_as_dropped() -> None:
    journal = Journal()
    _rec(journal, tenant="a")
    _rec(journal, tenant="b")
    assert journal.clear("a") == 1
    assert journal.stats()["dropped"] == 0
    assert [e.tenant for e in journal.query().entries] == ["b"]


def test_secret_headers_are_redacted_and_bodies_hashed_whole() -> None:
    headers = redact_headers([("Authorization", "Bearer abc"), ("Content-Type", "text/xml")])
    assert headers == {"Authorization": "<redacted>", "Content-Type": "text/xml"}
    text, digest, size = body_digest(b"x" * 10_000, limit=100)
    assert len(text) == 100 and size == 10_000 and len(digest) == 64


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Journal(capacity=0)


def test_deferred_entries_are_built_once_even_when_read_from_several_threads() -> None:
    import threading

    from mocks.core.journal import Entry

    built: list[int] = []

    def make(seq: int, path: str) -> Entry:
        built.append(seq)
        return Entry(seq=seq, ts="2026-01-01T00:00:00.000Z", direction="in", service="x", tenant="t",
                     method="GET", url=f"http://h{path}", path=path, status=200)

    journal = Journal(capacity=500)
    for i in range(400):
        journal.record_deferred("t", make, f"/p{i}")
    seen: list[list[str]] = []
    threads = [threading.Thread(target=lambda: seen.append([e.path for e in journal.query().entries]))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(paths == [f"/p{i}" for i in range(400)] for paths in seen) and len(seen) == 4
    first = journal.query().entries
    assert all(a is b for a, b in zip(first, journal.query().entries, strict=True))  # one entry kept per seq
    assert set(built) == set(range(1, 401))
    assert [e.path for e in journal.query(since=399).entries] == ["/p398", "/p399"]  # a window from a seq
