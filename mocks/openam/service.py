"""The openam mock: a werkzeug app issuing and introspecting OAuth2 tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from werkzeug.routing import Rule

from mocks.core.app import ServiceApp, View
from mocks.core.errors import InvalidSeed, NotFound
from mocks.openam.errors import render_oauth_error
from mocks.openam.models import OpenAm, SeedError
from mocks.openam.urls import ROUTES


class Service(ServiceApp):
    """OpenAM 11/12's ``/auth/oauth2/access_token``, ``tokeninfo`` and ``token/revoke``."""

    name = "openam"
    declared_options = frozenset({"token_lifetime", "realms", "clients", "users"})
    error_renderer = staticmethod(render_oauth_error)

    def define_tables(self) -> list[Table]:
        self.model = OpenAm(self.store, self.clock, self.ids, self.options)
        return self.model.tables

    def routes(self) -> list[tuple[Rule, View]]:
        return list(ROUTES)

    def seed(self, tenant: str, payload: dict[str, Any]) -> dict[str, int]:
        unknown = set(payload) - {"clients", "users"}
        if unknown:
            raise InvalidSeed(field=sorted(unknown)[0],
                              reason="unknown seed collection (openam takes 'clients', 'users')")
        try:
            return self.model.seed(tenant, payload.get("clients", []), payload.get("users", []))
        except SeedError as exc:
            raise InvalidSeed(field=exc.field, reason=exc.reason) from None

    def state(self, tenant: str, collection: str, key: str) -> dict[str, Any] | None:
        if collection == "tokens":
            return self.model.describe_token(tenant, key)
        if collection == "users":
            user = self.model.user(tenant, key)
            if user is None:
                return None
            return {"username": user.username, "realm": user.realm, "roles": user.roles,
                    "sbacTenancyChain": ",".join(user.chain), **user.attributes}
        raise NotFound(message=f"unknown state collection '{collection}' (openam has tokens, users)")
