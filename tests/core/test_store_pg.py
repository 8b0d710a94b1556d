"""The store's PostgreSQL side that needs no server: the driver a URL names, and a missing driver's one line."""

from __future__ import annotations

import sys

import pytest

from mocks.core.store import Store, StoreUnavailable, normalise_url


def test_a_bare_postgresql_url_names_psycopg_3() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_missing_driver_is_store_unavailable_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    # as where psycopg is not installed: its import fails
    for name in [m for m in sys.modules if m == "psycopg" or m.startswith("psycopg.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(StoreUnavailable) as caught:
        Store("postgresql://examrig@127.0.0.1:1/none")
    message = str(caught.value)
    assert "psycopg" in message and "examrig[postgresql]" in message and "\n" not in message


def test_an_unknown_dialect_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        Store("nosuchdb://x/y")
