"""The dw mock: DW1/DW2 receivers and RDW's exam import endpoint, with the exam processor's checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from werkzeug.routing import Rule

from mocks.core import bounds, sabotage
from mocks.core.app import ServiceApp, View
from mocks.core.errors import InvalidSeed, NotFound
from mocks.core.render import render_spring_error_epoch
from mocks.dw.models import RECEIVERS, SeedError, TokenCache, Warehouse
from mocks.dw.urls import ROUTES


class Service(ServiceApp):
    """DW1/DW2 (``POST /dw1/services/xml``) and RDW ``POST /exams/imports`` (role check through openam)."""

    name = "dw"
    declared_options = frozenset({"scale_score_min", "scale_score_max", "performance_level_max", "token_cache_size"})
    error_renderer = staticmethod(render_spring_error_epoch)

    def define_tables(self) -> list[Table]:
        self.model = Warehouse(self.store, self.clock, self.options)
        self.token_cache = TokenCache(int(self.options.get("token_cache_size", 1000)))
        return self.model.tables

    def routes(self) -> list[tuple[Rule, View]]:
        return list(ROUTES)

    def reset(self, tenant: str | None = None) -> None:
        super().reset(tenant)
        self.token_cache.clear(tenant)

    def seed(self, tenant: str, payload: dict[str, Any]) -> dict[str, int]:
        unknown = set(payload) - {"items"}
        if unknown:
            raise InvalidSeed(field=sorted(unknown)[0], reason="unknown seed collection (dw takes 'items')")
        try:
            return {"items": self.model.seed_items(tenant, payload.get("items", []))}
        except SeedError as exc:
            raise InvalidSeed(field=exc.field, reason=exc.reason) from None

    def state(self, tenant: str, collection: str, key: str) -> dict[str, Any] | None:
        if collection == "receipts":
            if key == "all":
                return {"receipts": self.model.receipts_of(tenant)}
            if key in RECEIVERS:
                return {"receipts": [{**r, "messages": []} if r["messages"] and sabotage.on("dw.receipt-messages-dropped") else r for r in self.model.receipts_of(tenant, key)]}  # noqa: E501
            receipt = bounds.ascii_int(key)  # "²".isdigit() is true; int("²") is a ValueError
            if receipt is not None:
                return self.model.receipt(tenant, receipt)
            return None
        if collection == "exams":
            if key == "all":
                return {"exams": self.model.exams_of(tenant)}
            return self.model.exam(tenant, key)
        raise NotFound(message=f"unknown state collection '{collection}' (dw has receipts, exams)")
