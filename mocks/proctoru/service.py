"""The proctoru mock: a werkzeug app serving ProctorU's legacy API at ``/api/<Endpoint>``."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import Table
from werkzeug.routing import Rule

from mocks.core.app import ServiceApp, View
from mocks.core.errors import NotFound, ServiceError
from mocks.proctoru.errors import InvalidSeed, render_proctoru_error
from mocks.proctoru.link import DeliveryOdataLink, LinkOutcome
from mocks.proctoru.models import Options, ProctorU, SeedError
from mocks.proctoru.urls import routes


class Service(ServiceApp):
    """Institutions, students, availability and reservations; begins linked to deliveryodata when asked."""

    name = "proctoru"
    # the rules' numbers (models.Options) and the deliveryodata link's account (link.py)
    declared_options = frozenset({f.name for f in fields(Options)} |
                                 {"deliveryodata_customer", "deliveryodata_user", "deliveryodata_password"})
    error_renderer = staticmethod(render_proctoru_error)

    def define_tables(self) -> list[Table]:
        self.model = ProctorU(self.store, self.clock, self.ids, Options.from_mapping(self.options))
        return self.model.tables

    def routes(self) -> list[tuple[Rule, View]]:
        return routes()

    def link_attempt(self, tenant: str, attempt_id: int, reservation: dict[str, Any]) -> LinkOutcome:
        """Link a begun reservation to its deliveryodata attempt (base URL from the topology)."""
        try:
            base = self.peer_url("deliveryodata")
        except ServiceError as exc:
            return LinkOutcome("failed", error=exc.message)
        link = DeliveryOdataLink(self.outbound, base,
                                 customer=str(self.options.get("deliveryodata_customer", "400449")),
                                 user=str(self.options.get("deliveryodata_user", "examrig")),
                                 password=str(self.options.get("deliveryodata_password", "examrig")))
        return link.link(tenant, attempt_id, reservation)

    def seed(self, tenant: str, payload: dict[str, Any]) -> dict[str, int]:
        unknown = set(payload) - {"institutions", "availability"}
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidSeed(field=name, reason="unknown seed collection (proctoru takes 'institutions', "
                                                 "'availability')")
        try:
            return self.model.seed(tenant, payload)
        except SeedError as exc:
            raise InvalidSeed(field=exc.field, reason=exc.reason) from None

    def state(self, tenant: str, collection: str, key: str) -> dict[str, Any] | None:
        if collection == "reservations":
            try:
                number = int(key)
            except ValueError:
                return None
            return self.model.reservation(tenant, number)
        raise NotFound(message=f"unknown state collection '{collection}' (proctoru has reservations)")
