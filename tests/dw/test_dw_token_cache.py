"""The dw mock's tokeninfo cache: valid answers kept for their lifetime, per tenant, refusals never kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mocks.dw.models import TokenCache

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def info(expires_in: Any = 60) -> dict[str, Any]:
    return {"mail": "loader@example.org", "sbacTenancyChain": "|1|ASMTDATALOAD|", "expires_in": expires_in}


def test_a_valid_answer_is_kept_until_its_lifetime_ends() -> None:
    cache = TokenCache()
    cache.put("t", "tok", 200, info(60), NOW)
    assert cache.get("t", "tok", NOW + timedelta(seconds=59)) == info(60)
    assert cache.get("t", "tok", NOW + timedelta(seconds=60)) is None
    assert cache.get("t", "tok", NOW) is None  # an expired entry is dropped, not revived


def test_entries_are_per_tenant_and_per_token() -> None:
    cache = TokenCache()
    cache.put("t", "tok", 200, info(), NOW)
    assert cache.get("u", "tok", NOW) is None
    assert cache.get("t", "other", NOW) is None


def test_refusals_and_answers_without_a_lifetime_are_not_kept() -> None:
    cache = TokenCache()
    cache.put("t", "a", 401, info(), NOW)
    cache.put("t", "b", 200, {"error": "InvalidToken", "expires_in": 60}, NOW)
    cache.put("t", "c", 200, ["not", "an", "object"], NOW)
    cache.put("t", "d", 200, info(0), NOW)
    cache.put("t", "e", 200, info("60"), NOW)
    cache.put("t", "f", 200, info(True), NOW)
    assert [k for k in "abcdef" if cache.get("t", k, NOW) is not None] == []


def test_the_cache_is_bounded_and_drops_the_oldest() -> None:
    cache = TokenCache(capacity=2)
    for token in ("a", "b", "c"):
        cache.put("t", token, 200, info(), NOW)
    assert [k for k in "abc" if cache.get("t", k, NOW) is not None] == ["b", "c"]


def test_clear_forgets_one_tenant_or_all() -> None:
    cache = TokenCache()
    cache.put("t", "tok", 200, info(), NOW)
    cache.put("u", "tok", 200, info(), NOW)
    cache.clear("t")
    assert cache.get("t", "tok", NOW) is None
    assert cache.get("u", "tok", NOW) is not None
    cache.clear()
    assert cache.get("u", "tok", NOW) is None
