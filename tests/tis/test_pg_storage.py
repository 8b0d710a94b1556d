"""PostgreSQL: TIS keeps its TRT documents uncompressed (``STORAGE EXTERNAL``), set at start and kept on restart."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from mocks.core.app import Runtime
from mocks.tis.service import Service as TisService
from tests.dbs import fresh_schema, require_postgres

STORAGE = ("SELECT c.relname, a.attname, a.attstorage FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
           "WHERE c.oid IN (to_regclass('xmlrepository'), to_regclass('tis_outbox')) "
           "AND a.attname IN ('contents', 'body')")


@pytest.mark.postgresql
def test_documents_are_stored_without_compression() -> None:
    url = fresh_schema(require_postgres())
    first = Runtime.create(db=url)
    TisService(first, {"worker": False})
    with first.store.begin() as conn:  # as a database of an older examrig had it
        conn.execute(text("ALTER TABLE xmlrepository ALTER COLUMN contents SET STORAGE EXTENDED"))
    second = Runtime.create(db=url)
    TisService(second, {"worker": False})  # the next start sets it again
    with second.store.read() as conn:
        storage = {(str(r[0]), str(r[1])): str(r[2]) for r in conn.execute(text(STORAGE))}
    assert storage == {("xmlrepository", "contents"): "e", ("tis_outbox", "body"): "e"}
    first.store.dispose()
    second.store.dispose()
