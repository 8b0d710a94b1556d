"""Generic HTTP steps shared by every service's scenarios."""

from __future__ import annotations

import json
from typing import Any

import requests
from pytest_bdd import parsers, then, when

from conformance.outcomes import unsupported
from conformance.targets import Rig


def _send(rig: Rig, tenant: str, context: dict[str, Any], method: str, service: str, path: str,
          **kwargs: Any) -> requests.Response:
    context["since"] = _journal_next(rig, service, tenant)
    response = rig.request(service, method, path, tenant=tenant, **kwargs)
    context["response"] = response
    return response


def _journal_next(rig: Rig, service: str, tenant: str) -> int | None:
    if not rig.is_mock(service):
        return None
    stats = rig.admin(service, "GET", "health", tenant=tenant).json()
    return int(stats["journal"]["next_seq"])


@when(parsers.parse('I {method} to {service} "{path}" with JSON:'))
def send_json(rig: Rig, tenant: str, context: dict[str, Any], method: str, service: str, path: str,
              docstring: str) -> None:
    """Send ``docstring`` as an application/json body."""
    _send(rig, tenant, context, method, service, path, data=docstring.encode("utf-8"),
          headers={"Content-Type": "application/json"})


@when(parsers.parse('I {method} to {service} "{path}" with content type "{content_type}" and body:'))
def send_body(rig: Rig, tenant: str, context: dict[str, Any], method: str, service: str, path: str,
              content_type: str, docstring: str) -> None:
    """Send ``docstring`` with an explicit content type."""
    _send(rig, tenant, context, method, service, path, data=docstring.encode("utf-8"),
          headers={"Content-Type": content_type})


@when(parsers.parse('I {method} to {service} "{path}" with content type "{content_type}" and no body'))
def send_no_body(rig: Rig, tenant: str, context: dict[str, Any], method: str, service: str, path: str,
                 content_type: str) -> None:
    """Send an empty body."""
    _send(rig, tenant, context, method, service, path, data=b"", headers={"Content-Type": content_type})


@then(parsers.parse("the response status is {status:d}"))
def response_status(context: dict[str, Any], status: int) -> None:
    """The last response had ``status``."""
    response: requests.Response = context["response"]
    assert response.status_code == status, \
        f"expected {status}, got {response.status_code}: {response.text[:500]}"


@then("the response body is empty")
def response_body_empty(context: dict[str, Any]) -> None:
    """The last response had no body."""
    response: requests.Response = context["response"]
    assert response.content == b"", f"expected an empty body, got {response.text[:300]!r}"


def _json_path(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, list):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise AssertionError(f"no '{part}' in {json.dumps(data)[:300]}")
    return data


@then(parsers.parse('the response JSON field "{path}" is "{value}"'))
def response_json_field(context: dict[str, Any], path: str, value: str) -> None:
    """A field of the JSON body equals ``value`` (compared as text)."""
    actual = _json_path(context["response"].json(), path)
    shown = json.dumps(actual) if not isinstance(actual, str) else actual
    assert shown == value, f"{path}: expected {value!r}, got {shown!r}"


@then(parsers.parse('the response JSON field "{path}" contains "{value}"'))
def response_json_field_contains(context: dict[str, Any], path: str, value: str) -> None:
    """A text field of the JSON body contains ``value``."""
    actual = _json_path(context["response"].json(), path)
    assert value in str(actual), f"{path}: {actual!r} does not contain {value!r}"


@then(parsers.parse('the {service} journal shows {count:d} {direction} request to "{path}" answered {status:d}'))
def journal_has(rig: Rig, tenant: str, context: dict[str, Any], service: str, count: int, direction: str,
                path: str, status: int) -> None:
    """The mock journaled exactly ``count`` matching exchanges since the last request step."""
    if not rig.is_mock(service):
        unsupported(f"{service} is a third-party target: it has no examrig journal to check")
    body = {"count": count, "direction": "in" if direction == "inbound" else "out", "path": path,
            "status": status, "since": context.get("since")}
    result = rig.admin(service, "POST", "journal/verify", tenant=tenant, json=body).json()
    assert result["verdict"] == "pass", f"journal check {result['verdict']}: {result}"


@then(parsers.parse('the response text is "{text}"'))
def response_text(context: dict[str, Any], text: str) -> None:
    """The whole body, as text."""
    actual = context["response"].text
    assert actual == text, f"expected {text!r}, got {actual[:300]!r}"
