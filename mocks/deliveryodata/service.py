"""The deliveryodata mock: Questionmark's OData v3 attempt service and the JSON endpoints behind its signed URLs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as WzMethodNotAllowed
from werkzeug.routing import Rule
from werkzeug.wrappers import Request

from mocks.core import bounds, pages
from mocks.core.app import Runtime, ServiceApp, View
from mocks.core.errors import BadRequest, MethodNotAllowed, NotFound, ServiceError
from mocks.deliveryodata.config import load_config
from mocks.deliveryodata.errors import ResourceNotFound
from mocks.deliveryodata.models import SEED_SETS, DeliveryOData, SeedError
from mocks.deliveryodata.seedgen import generate
from mocks.deliveryodata.urls import CONVERTERS, ROUTES
from mocks.deliveryodata.wire import render_error

SEED_COLLECTIONS = (*SEED_SETS, "assessmentSnapshots")


class InvalidSeed(BadRequest):
    """Seed data that cannot be loaded."""

    code = "invalid_seed"
    template = "{field}: {reason}"


class Service(ServiceApp):
    """``/deliveryodata/<customerId>/`` (OData v3 JSON Light) and ``/lobby/<customerId>/`` (signed-URL endpoints)."""

    name = "deliveryodata"
    error_renderer = staticmethod(render_error)
    declared_options = frozenset({  # mocks/deliveryodata/config.py load_config, pages/views.py
        "customers", "default_customer", "lobby_url_ttl", "proctor_url_ttl", "unlock_code_ttl",
        "duplicate_external_id_status", "read_only_properties", "orderby_on_attempts", "page_size", "expand_limit",
        "public_url", "special_field_mapping", "int32_as_string", "int64_as_number", "proctor_frame_ancestors"})

    def __init__(self, runtime: Runtime, options: dict[str, Any] | None = None) -> None:
        super().__init__(runtime, options)
        # refused at start, not on the first proctor page: a source that could add CSP directives
        pages.frame_ancestors(self.options.get("proctor_frame_ancestors"), "proctor_frame_ancestors")
        self.model.upgrade()  # a database of an older examrig gets the columns added since

    def define_tables(self) -> list[Table]:
        # the URL-signing secret: the same in every process of this mock (shared control state)
        secret = self.runtime.control.secret("deliveryodata:url-signing", self.settings.seed,
                                             lambda: self.ids.token(32))
        self.config = load_config(self.options, fallback_secret=secret)
        self.model = DeliveryOData(self.store, self.clock, self.ids, self.config)
        return self.model.tables

    def routes(self) -> list[tuple[Rule, View]]:
        return list(ROUTES)

    def converters(self) -> dict[str, Any]:
        return dict(CONVERTERS)

    def route_alias(self, path: str) -> str | None:
        """The OData path with its empty segments dropped, as Web API OData's DefaultODataPathHandler.ParseSegments
        does (``/deliveryodata/400449/Attempts//`` is ``Attempts``); the customer segment must be there."""
        prefix, sep, rest = path.partition("/deliveryodata/")
        if prefix or not sep or "//" not in rest:
            return None
        customer, slash, odata_path = rest.partition("/")
        if not customer or not slash:
            return None
        segments = [s for s in odata_path.split("/") if s]
        return f"/deliveryodata/{customer}/" + "/".join(segments)

    def http_error(self, exc: HTTPException, request: Request) -> ServiceError:
        if isinstance(exc, WzMethodNotAllowed):
            return MethodNotAllowed(method=request.method)
        if exc.code == 404:
            return ResourceNotFound(uri=request.url)
        return super().http_error(exc, request)

    def stop(self) -> None:
        """Close the kept read connections (the server has finished every request by now)."""
        self.model.readers.close()

    def public_config(self) -> dict[str, Any]:
        return {k: v for k, v in self.options.items() if k != "customers"} | {
            "customers": {c.id: {"user": c.user, "password": "<redacted>", "secret": "<redacted>"}
                          for c in self.config.customers.values()}}

    def seed(self, tenant: str, payload: dict[str, Any]) -> dict[str, int]:
        """Collections (optionally ``<customer>:<collection>``), plus ``generate`` for faker-made data."""
        counts: dict[str, int] = {}
        jobs: list[tuple[str, str, str, list[Any]]] = []
        for name, items in payload.items():
            customer, sep, collection = name.rpartition(":")
            customer = customer if sep else self.config.default_customer
            if customer not in self.config.customers:
                raise InvalidSeed(field=name, reason=f"unknown customer '{customer}'")
            if collection == "generate":
                for i, spec in enumerate(items):
                    try:
                        generated = generate(spec)
                    except SeedError as exc:
                        raise InvalidSeed(field=f"{name}[{i}].{exc.field}", reason=exc.reason) from None
                    jobs.extend((name, customer, coll, objs) for coll, objs in generated.items())
                continue
            if collection not in SEED_COLLECTIONS:
                raise InvalidSeed(field=name, reason="unknown seed collection (deliveryodata takes "
                                                     f"{', '.join(SEED_COLLECTIONS)}, generate)")
            jobs.append((name, customer, collection, items))
        for _name, customer, collection, items in jobs:
            try:
                loaded = self.model.seed(tenant, customer, collection, items)
            except SeedError as exc:
                raise InvalidSeed(field=exc.field, reason=exc.reason) from None
            key = collection if customer == self.config.default_customer else f"{customer}:{collection}"
            counts[key] = counts.get(key, 0) + loaded
        return counts

    def state(self, tenant: str, collection: str, key: str) -> dict[str, Any] | None:
        if collection != "attempts":
            raise NotFound(message=f"unknown state collection '{collection}' (deliveryodata has attempts)")
        customer, sep, ident = key.rpartition("/")
        customer = customer if sep else self.config.default_customer
        attempt = bounds.ascii_int(ident, 0, bounds.INT32_MAX)  # "²".isdigit() is true; int("²") is not
        if customer not in self.config.customers or attempt is None:
            return None
        from mocks.deliveryodata.wire import encode_entity
        found = self.model.state(tenant, customer, attempt)
        if found is None:
            return None
        found["attempt"] = encode_entity(self.model.csdl, "Attempt", found["attempt"])
        return found
