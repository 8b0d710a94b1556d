"""Steps for the deliveryodata formats and version negotiation (formats*.feature): requests with chosen headers and
bodies, and every answer checked against the served CSDL in its own format."""

from __future__ import annotations

import json
import re
from typing import Any

import requests
from lxml import etree
from pytest_bdd import given, parsers, then, when

from conformance.targets import Rig
from contracts.odata.csdl import check_json_light
from contracts.odata.formats import check_atom, check_verbose
from features.steps.deliveryodata import AUTH, CUSTOMER, SVC, _path, served_csdl

NS = {"a": "http://www.w3.org/2005/Atom", "m": "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata",
      "d": "http://schemas.microsoft.com/ado/2007/08/dataservices", "app": "http://www.w3.org/2007/app"}
TARGET = re.compile(r"^/deliveryodata/[^/]+/+(?P<set>[A-Za-z]+)(?P<key>\(\d+L?\))?")


def _headers(text: str) -> dict[str, str]:
    """``Name: value | Name: value`` (``|`` since media types carry ``;``); ``none`` for no extra headers."""
    if text.strip() == "none":
        return {}
    out: dict[str, str] = {}
    for item in text.split("|"):
        name, _, value = item.partition(":")
        out[name.strip()] = value.strip()
    return out


def _send(rig: Rig, tenant: str, context: dict[str, Any], method: str, path: str, headers: str,
          body: str | None = None) -> requests.Response:
    hdrs = {**AUTH, **_headers(headers)}
    path = _path(context, path)
    response = rig.request(SVC, method, path, tenant=tenant, headers=hdrs,
                           data=_path(context, body).encode("utf-8") if body is not None else None)
    context["response"], context["path"] = response, path
    created = re.search(r"/Attempts\((\d+)\)$", response.headers.get("Location", ""))
    if response.status_code == 201 and created:
        context["attempt"] = int(created.group(1))
    return response


@when(parsers.parse('I {method} deliveryodata "{path}" as the API user with headers "{headers}"'))
@given(parsers.parse('I {method} deliveryodata "{path}" as the API user with headers "{headers}"'))
def send_with_headers(rig: Rig, tenant: str, context: dict[str, Any], method: str, path: str, headers: str) -> None:
    """An authenticated request with extra headers (Accept, version headers)."""
    _send(rig, tenant, context, method, path, headers)


@when(parsers.parse('I {method} to deliveryodata "{path}" as the API user with headers "{headers}" and body:'))
@given(parsers.parse('I {method} to deliveryodata "{path}" as the API user with headers "{headers}" and body:'))
def send_body_with_headers(rig: Rig, tenant: str, context: dict[str, Any], method: str, path: str, headers: str,
                           docstring: str) -> None:
    """An authenticated request with extra headers and a body (its Content-Type among the headers)."""
    _send(rig, tenant, context, method, path, headers, docstring)


def _target(context: dict[str, Any]) -> tuple[str | None, bool]:
    found = TARGET.match(context["path"].split("?")[0])
    if found is None or found.group("set") == "":
        return None, False
    return found.group("set"), bool(found.group("key"))


@then(parsers.parse("the deliveryodata answer is JSON Light with {level} following the served CSDL"))
def is_json_light(rig: Rig, tenant: str, context: dict[str, Any], level: str) -> None:
    """JSON Light at ``minimalmetadata``/``fullmetadata``/``nometadata``: the Content-Type says so; the body
    conforms."""
    response = context["response"]
    assert f"odata={level}" in response.headers["Content-Type"], response.headers["Content-Type"]
    body = response.json()
    root = f"{rig.url(SVC)}/deliveryodata/{CUSTOMER}/"
    if level == "nometadata":
        assert "odata.metadata" not in body and not any("@odata." in k for k in body), body
        entity_set, single = _target(context)
        if entity_set is not None:  # checked as minimal metadata with the context the body leaves out
            body = {"odata.metadata": f"{root}$metadata#{entity_set}{'/@Element' if single else ''}", **body}
    if level == "fullmetadata" and "value" in body and body["value"] and isinstance(body["value"][0], dict) \
            and "odata.id" in body["value"][0]:
        assert all({"odata.type", "odata.id", "odata.editLink"} <= set(e) for e in body["value"]), body["value"][:1]
    problems = check_json_light(served_csdl(rig, tenant), body, root=root)
    assert not problems, problems


@then("the deliveryodata answer is verbose JSON following the served CSDL")
def is_verbose(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """Verbose JSON (``{"d": ...}`` or ``{"error": ...}``) at the response's version, following the CSDL."""
    response = context["response"]
    assert response.headers["Content-Type"].startswith("application/json;odata=verbose"), response.headers
    version = int(response.headers["DataServiceVersion"].split(".")[0])
    entity_set, _single = _target(context)
    problems = check_verbose(served_csdl(rig, tenant), response.json(), entity_set, version)
    assert not problems, (problems, response.text[:500])


@then(parsers.parse("the deliveryodata answer is {kind} XML following the served CSDL"))
def is_xml(rig: Rig, tenant: str, context: dict[str, Any], kind: str) -> None:
    """Atom (``feed``, ``entry``), AtomPub (``service``) or ``error`` XML, following the CSDL."""
    response = context["response"]
    media = {"feed": "application/atom+xml", "entry": "application/atom+xml", "service": "application/atomsvc+xml",
             "error": "application/xml"}[kind]
    assert response.headers["Content-Type"].startswith(media), response.headers["Content-Type"]
    root = etree.fromstring(response.content)
    tag = {"feed": "{%(a)s}feed", "entry": "{%(a)s}entry", "service": "{%(app)s}service", "error": "{%(m)s}error"}[kind]
    assert root.tag == tag % NS, root.tag
    entity_set, _single = _target(context)
    problems = check_atom(served_csdl(rig, tenant), root, entity_set if kind == "feed" else None)
    assert not problems, (problems, response.text[:500])


@then(parsers.parse('the deliveryodata XML "{xpath}" is "{text}"'))
def xml_text(context: dict[str, Any], xpath: str, text: str) -> None:
    """The text of the first node an XPath (prefixes a, m, d, app) finds; ``{attempt}`` substituted."""
    found = etree.fromstring(context["response"].content).xpath(xpath, namespaces=NS)
    assert found, f"nothing at {xpath}"
    value = found[0] if isinstance(found[0], str) else found[0].text or ""
    assert value == _path(context, text), f"{xpath}: {value!r}"


@then(parsers.parse('the deliveryodata XML has {count:d} nodes at "{xpath}"'))
def xml_count(context: dict[str, Any], count: int, xpath: str) -> None:
    """How many nodes an XPath finds."""
    found = etree.fromstring(context["response"].content).xpath(xpath, namespaces=NS)
    assert len(found) == count, (len(found), context["response"].text[:400])


@then(parsers.parse('the deliveryodata answer has no "{name}"'))
def json_absent(context: dict[str, Any], name: str) -> None:
    """A member absent at the top level of a JSON body."""
    body = context["response"].json()
    assert name not in body, body


@then(parsers.parse('the deliveryodata error in any format says "{text}"'))
def error_says(context: dict[str, Any], text: str) -> None:
    """The error message, read from odata.error, verbose error or m:error, contains ``text``."""
    response = context["response"]
    if response.headers["Content-Type"].startswith("application/json"):
        body = response.json()
        message = (body.get("odata.error") or body["error"])["message"]["value"]
    else:
        message = etree.fromstring(response.content).findtext(f"{{{NS['m']}}}message") or ""
    assert text in message, message


@then(parsers.parse('the deliveryodata error message does not contain "{text}"'))
def error_lacks(context: dict[str, Any], text: str) -> None:
    """The odata.error message does not contain ``text``."""
    message = context["response"].json()["odata.error"]["message"]["value"]
    assert text not in message, message


@then(parsers.parse('the deliveryodata JSON member "{name}" is {value}'))
def member_is(context: dict[str, Any], name: str, value: str) -> None:
    """A top-level member whose name has dots (``odata.type``) equals the JSON ``value``."""
    actual = context["response"].json()[name]
    assert actual == json.loads(value), f"{name}: {actual!r}"


@then(parsers.parse('the deliveryodata JSON member "{name}" starts with "{prefix}"'))
def member_starts(context: dict[str, Any], name: str, prefix: str) -> None:
    """A top-level text member (``odata.editLink``) starts with ``prefix``."""
    actual = context["response"].json()[name]
    assert isinstance(actual, str) and actual.startswith(prefix), f"{name}: {actual!r}"
