"""Issue 12: TIS's per-tenant configuration cache is an LRU of CONFIG_CACHE_SIZE tenants, right after evictions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import mocks.tis.models as tis_models
from mocks import registry
from mocks.core.app import Runtime
from mocks.tis.models import Tis


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tis]:
    monkeypatch.setattr(tis_models, "CONFIG_CACHE_SIZE", 3)
    runtime = Runtime.create(db="sqlite://")
    app = registry.build("tis", runtime, {"worker": False})
    yield app.model  # type: ignore[attr-defined]
    app.stop()
    runtime.store.dispose()


def test_the_cache_holds_at_most_its_size_and_drops_the_least_recently_used(model: Tis) -> None:
    assert tis_models.CONFIG_CACHE_SIZE == 3
    for i in range(10):
        model.config(f"t{i}", cached=True)
        assert len(model._configs) <= 3
    assert list(model._configs) == ["t7", "t8", "t9"]
    model.config("t7", cached=True)  # used again: now the most recent
    model.config("t10", cached=True)
    assert list(model._configs) == ["t9", "t7", "t10"]


def test_an_evicted_tenant_gets_its_own_configuration_back(model: Tis) -> None:
    model.set_config("special", {"oauth": True, "ack_profile": "guide"})
    assert model.config("special", cached=True).oauth
    for i in range(5):  # pushes "special" out
        model.config(f"t{i}", cached=True)
    assert "special" not in model._configs
    again = model.config("special", cached=True)  # read from the database again, not another tenant's
    assert again.oauth and again.ack_profile == "guide"
    assert not model.config("t0", cached=True).oauth


def test_a_changed_setting_is_seen_after_eviction_too(model: Tis) -> None:
    model.set_config("x", {"oauth": False})
    model.config("x", cached=True)
    for i in range(5):
        model.config(f"t{i}", cached=True)
    model.set_config("x", {"oauth": True})
    assert model.config("x", cached=True).oauth and model.config("x").oauth
