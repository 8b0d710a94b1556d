"""A small service built on the core only, for testing the core without any real mock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Column, String, Table, select
from werkzeug.routing import Rule

from mocks.core.app import Ctx, Runtime, ServiceApp, View
from mocks.core.errors import BadRequest, NotFound
from mocks.core.render import json_response
from mocks.core.settings import Settings
from tests.dbs import store_url


class NoteMissing(NotFound):
    code = "note_missing"
    template = "no note '{key}'"


class NotesService(ServiceApp):
    """Stores notes by key; enough surface to exercise every core feature."""

    name = "notes"

    def define_tables(self) -> list[Table]:
        self.notes = self.store.table("core_test_note", Column("key", String(50), primary_key=True),
                                      Column("value", String(200), nullable=False))
        return [self.notes]

    def routes(self) -> list[tuple[Rule, View]]:
        return [(Rule("/notes/<key>", endpoint="put", methods=["PUT"]), self.put),
                (Rule("/notes/<key>", endpoint="get", methods=["GET"]), self.get),
                (Rule("/boom", endpoint="boom", methods=["GET"]), self.boom)]

    def put(self, ctx: Ctx, key: str) -> Any:
        value = ctx.body.decode()
        if not value:
            raise BadRequest(field="value", message="value is required")
        with self.store.begin() as conn:
            conn.execute(self.notes.delete().where(self.notes.c.tenant == ctx.tenant, self.notes.c.key == key))
            conn.execute(self.notes.insert().values(tenant=ctx.tenant, key=key, value=value))
        return json_response({"key": key, "value": value}, status=201)

    def get(self, ctx: Ctx, key: str) -> Any:
        value = self.read(ctx.tenant, key)
        if value is None:
            raise NoteMissing(key=key)
        return json_response({"key": key, "value": value})

    def boom(self, ctx: Ctx) -> Any:
        raise RuntimeError("kaboom")

    def read(self, tenant: str, key: str) -> str | None:
        with self.store.read() as conn:
            row = conn.execute(select(self.notes.c.value).where(self.notes.c.tenant == tenant,
                                                                self.notes.c.key == key)).first()
        return None if row is None else str(row[0])

    def seed(self, tenant: str, payload: dict[str, Any]) -> dict[str, int]:
        unknown = set(payload) - {"notes"}
        if unknown:
            raise BadRequest(field=sorted(unknown)[0], message=f"unknown seed collection '{sorted(unknown)[0]}'")
        with self.store.begin() as conn:
            for item in payload.get("notes", []):
                conn.execute(self.notes.insert().values(tenant=tenant, key=item["key"], value=item["value"]))
        return {"notes": len(payload.get("notes", []))}

    def state(self, tenant: str, collection: str, key: str) -> dict[str, Any] | None:
        if collection != "notes":
            raise NotFound(message=f"unknown state collection '{collection}'")
        value = self.read(tenant, key)
        return None if value is None else {"key": key, "value": value}


@pytest.fixture
def notes_app() -> Iterator[NotesService]:
    runtime = Runtime.create(Settings(seed=5, max_body=1024, journal_capacity=50), db=store_url())
    app = NotesService(runtime)
    yield app
    runtime.store.dispose()
