"""Every response a scenario gets from a mock is checked against the mock's OpenAPI document (as OData is against CSDL).

A fixture-setup hook puts a response hook on the rig's ``requests`` session: each response
from one of examrig's mocks (an integrator's target is not judged here) is matched to
its documented operation; an undocumented status, an undocumented content type or a
JSON body that departs from the documented schema fails the scenario with the path and
the reason. Responses of a tenant with fault rules are not checked (an injected fault's
status and body are the scenario's, not the contract's), nor are deliveryodata's OData
paths (the CSDL checks them: features/steps/deliveryodata.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from conformance.targets import Rig
from contracts.openapi import served_document
from contracts.openapi.responses import ResponseChecker


@functools.cache
def checker(service: str) -> ResponseChecker:
    """The checker of one service's served document (built once per run)."""
    return ResponseChecker(served_document(service))


def _service_of(rig: Rig, url: str) -> tuple[str, str] | None:
    """(service, path within it) of a URL one of the rig's mocks serves."""
    for name, base in rig.urls.items():
        if rig.is_mock(name) and (url == base or url.startswith(base + "/") or url.startswith(base + "?")):
            return name, urlsplit(url).path[len(urlsplit(base).path):] or "/"
    return None


def _faulted(rig: Rig, service: str, tenant: str | None) -> bool:
    app = rig.apps.get(service)
    return app is not None and bool(app.faults.rules(tenant or "default"))


def check(rig: Rig, response: requests.Response) -> list[str]:
    """The contract problems of one response (empty when conforming, not a mock's, or under a fault rule)."""
    request = response.request
    found = _service_of(rig, response.url or (request.url if request is not None else "") or "")
    if found is None or request is None:
        return []
    service, path = found
    tenant = request.headers.get("X-Examrig-Tenant")
    if _faulted(rig, service, tenant):
        return []
    return checker(service).check(request.method or "GET", path, response.status_code,
                                  response.headers.get("Content-Type"), response.content)


def _hook(rig: Rig) -> Any:
    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        found = check(rig, response)
        if found:
            raise AssertionError("response departs from the mock's OpenAPI document:\n  " + "\n  ".join(found)
                                 + f"\n{response.text[:600]}")
        return response
    hook.examrig_openapi = True  # type: ignore[attr-defined]
    return hook


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Iterator[Any]:
    """Once the ``rig`` fixture exists, every response its session gets is checked (pytest-bdd asks for step
    fixtures while the scenario runs, so an autouse fixture cannot see that a scenario will use the rig)."""
    result = yield
    if fixturedef.argname == "rig" and isinstance(result, Rig):
        hooks = result.session.hooks.setdefault("response", [])
        if not any(getattr(h, "examrig_openapi", False) for h in hooks):
            hooks.append(_hook(result))
    return result
