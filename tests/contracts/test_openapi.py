"""The OpenAPI documents: valid OpenAPI 3.1, served by every mock, and covering every route the mocks have."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from contracts import openapi
from mocks import registry
from mocks.core.app import ADMIN_PREFIX, Runtime, ServiceApp
from mocks.core.inprocess import WSGIAdapter

_CONVERTER = re.compile(r"<(?:[a-z_]+(?:\([^)]*\))?:)?([A-Za-z_][A-Za-z0-9_]*)>")


@pytest.fixture(scope="module")
def apps() -> Iterator[dict[str, ServiceApp]]:
    runtime = Runtime.create(db="sqlite://")
    built = {name: info.cls(runtime) for name, info in registry.available().items()}
    yield built
    runtime.store.dispose()


@pytest.mark.parametrize("name", openapi.names())
def test_document_is_valid_openapi_31(name: str) -> None:
    doc = openapi.load(name)
    assert doc["openapi"].startswith("3.1"), doc["openapi"]
    openapi.validate(doc)
    assert openapi.validated(name) is True


@pytest.mark.parametrize("service", [*openapi.SERVICES, "deliveryodata"])
def test_served_document_is_valid(service: str) -> None:
    openapi.validate(openapi.served_document(service))


def test_an_invalid_document_is_refused() -> None:
    doc = openapi.load("tds")
    doc["paths"]["/tis"]["post"]["responses"] = {"200": {"content": {}}}  # a response without its description
    with pytest.raises(openapi.OpenApiError):
        openapi.validate(doc)


def test_unknown_document() -> None:
    with pytest.raises(openapi.OpenApiError, match="no OpenAPI document"):
        openapi.load("nosuch")


def _routes(app: ServiceApp) -> set[tuple[str, str]]:
    """Every (METHOD, OpenAPI path template) the app routes (werkzeug's implicit HEAD and OPTIONS left out)."""
    out: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        template = _CONVERTER.sub(r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                out.add((method, template))
    return out


@pytest.mark.parametrize("service", [*openapi.SERVICES, "deliveryodata"])
def test_every_route_is_documented_and_nothing_else(apps: dict[str, ServiceApp], service: str) -> None:
    app = apps[service]
    routed = _routes(app)
    if service == "deliveryodata":  # its service contract is the CSDL: only the admin door is in OpenAPI
        routed = {(m, p) for m, p in routed if p.startswith(ADMIN_PREFIX + "/")}
    documented = {(m, p) for m, p, _ in openapi.operations(openapi.served_document(service))}
    assert routed - documented == set(), f"routes of {service} missing from its OpenAPI document"
    assert documented - routed == set(), f"operations in {service}'s document that the mock does not route"


@pytest.mark.parametrize("service", [*openapi.SERVICES, "deliveryodata"])
def test_every_mock_serves_its_document(apps: dict[str, ServiceApp], service: str) -> None:
    import requests

    session = requests.Session()
    session.mount("http://mock/", WSGIAdapter(apps[service]))
    response = session.get("http://mock/_examrig/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == openapi.served_document(service)


def test_operation_ids_are_unique_in_every_served_document() -> None:
    for service in openapi.SERVICES:
        ids = [op["operationId"] for _, _, op in openapi.operations(openapi.served_document(service))]
        assert len(ids) == len(set(ids)), f"{service}: duplicate operationIds"
