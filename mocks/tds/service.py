"""The tds mock: a werkzeug app receiving TIS's status callback."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from werkzeug.routing import Rule

from mocks.core.app import ServiceApp, View
from mocks.core.errors import InvalidSeed, NotFound
from mocks.core.render import render_spring_error
from mocks.tds.models import SeedError, Tds
from mocks.tds.urls import routes


class Service(ServiceApp):
    """Legacy TDS (``/student/TIS/API/tisReply``) and the newer ERT (``/tis``) callback receivers."""

    name = "tds"
    error_renderer = staticmethod(render_spring_error)

    def define_tables(self) -> list[Table]:
        self.model = Tds(self.store, self.clock)
        return self.model.tables

    def routes(self) -> list[tuple[Rule, View]]:
        return routes()

    def seed(self, tenant: str, payload: dict[str, Any]) -> dict[str, int]:
        unknown = set(payload) - {"opportunities"}
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidSeed(field=name, reason="unknown seed collection (tds takes 'opportunities')")
        try:
            return {"opportunities": self.model.seed(tenant, payload.get("opportunities", []))}
        except SeedError as exc:
            raise InvalidSeed(field=exc.field, reason=exc.reason) from None

    def state(self, tenant: str, collection: str, key: str) -> dict[str, Any] | None:
        if collection == "opportunities":
            return self.model.opportunity(tenant, key)
        if collection == "errors":
            return {"errors": self.model.errors(tenant)}
        raise NotFound(message=f"unknown state collection '{collection}' (tds has opportunities, errors)")
