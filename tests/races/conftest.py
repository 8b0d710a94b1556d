"""The race tests' databases: a SQLite file (a fresh one per test) and PostgreSQL (a fresh schema per test).

PostgreSQL comes from ``EXAMRIG_TEST_DB`` (scripts/test starts a throwaway server: scripts/pg); without it those
tests skip with the reason, and fail under ``CI=true``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mocks.core.store import Store
from tests.dbs import fresh_schema, require_postgres

N = 20  # concurrent requests per race
_OPEN: list[Store] = []


def track(store: Store) -> Store:
    """``store``, disposed when the test ends (20 racing threads leave 20 pooled connections open per store)."""
    _OPEN.append(store)
    return store


@pytest.fixture(autouse=True)
def _dispose_stores() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().dispose()


# the PostgreSQL half carries the ``postgresql`` marker: tox's ``py`` env (SQLite) deselects it, ``py-pg`` runs it
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL of its own for one test: a SQLite file (WAL), or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    return fresh_schema(require_postgres())


def race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """``fn(0)`` … ``fn(n-1)`` in ``n`` threads released together; each one's result or the exception it raised."""
    barrier = threading.Barrier(n)
    out: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            out[i] = fn(i)
        except BaseException as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a racing request never finished (a deadlock?)"
    return out


def errors(results: list[Any]) -> list[BaseException]:
    """The exceptions among ``results``."""
    return [r for r in results if isinstance(r, BaseException)]
