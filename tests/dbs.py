"""The test database knob: ``EXAMRIG_TEST_DB`` (a PostgreSQL URL) runs the store-touching tests on PostgreSQL.

Unset, tests use SQLite as before. Set (``scripts/test`` sets it to a fresh database of a throwaway cluster,
docs/postgresql.md), every :func:`store_url` is a schema of its own in that database, so unit tests that use
fixed tenants never meet; scenarios share one schema and are kept apart by their tenants.
"""

from __future__ import annotations

import itertools
import os
import uuid

import pytest

ENV = "EXAMRIG_TEST_DB"
_COUNT = itertools.count()


def postgres_url() -> str | None:
    """The PostgreSQL URL the tests run on, or ``None`` (SQLite)."""
    url = os.environ.get(ENV, "").strip()
    return url or None


def store_url(memory: str = "sqlite://") -> str:
    """A database URL for one test's store: ``memory`` on SQLite, a fresh schema on PostgreSQL."""
    url = postgres_url()
    if url is None:
        return memory
    return fresh_schema(url)


def fresh_schema(url: str) -> str:
    """A new, empty schema in the database of ``url``; the URL that makes it the connections' search path."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"t_{os.getpid()}_{next(_COUNT)}_{uuid.uuid4().hex[:8]}"
    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    return parsed.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)


def require_postgres() -> str:
    """The PostgreSQL URL for a test that runs only there: skipped without one, failed under ``CI=true``."""
    url = postgres_url()
    if url is not None:
        return url
    reason = f"no PostgreSQL: set {ENV}=postgresql+psycopg://… (scripts/test starts a throwaway one: scripts/pg)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
