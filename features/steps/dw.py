"""Steps about the data warehouse receivers (the dw mock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from lxml import etree
from pytest_bdd import given, parsers, then, when

from conformance.targets import Rig


@when(parsers.parse('TIS posts the sample TRT "{name}" to dw "{path}"'))
def post_sample(rig: Rig, tenant: str, context: dict[str, Any], shared_data: Path, name: str, path: str) -> None:
    """A real TRT as TIS sends it to a DW (application/xml, no charset)."""
    data = (shared_data / "tis" / "trt" / name).read_bytes()
    context["response"] = rig.request("dw", "POST", path, tenant=tenant, data=data,
                                      headers={"Content-Type": "application/xml"})


@given(parsers.parse('a dw loader token for an openam user with roles "{roles}"'))
def loader_token(rig: Rig, tenant: str, context: dict[str, Any], roles: str) -> None:
    """Seed a user in openam (same tenant) and get a token the way an RDW client would."""
    body = {"clients": [{"client_id": "rdw", "client_secret": "s"}],
            "users": [{"username": "loader@example.org", "password": "pw", "mail": "loader@example.org",
                       "roles": [r for r in roles.split(",") if r]}]}
    assert rig.admin("openam", "POST", "seed", tenant=tenant, json=body).status_code == 201
    form = urlencode({"grant_type": "password", "username": "loader@example.org", "password": "pw",
                      "client_id": "rdw", "client_secret": "s"})
    response = rig.request("openam", "POST", "/auth/oauth2/access_token?realm=/sbac", tenant=tenant,
                           data=form.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text
    context["dw_token"] = response.json()["access_token"]


@when(parsers.parse('I import the sample TRT "{name}" into dw'))
def import_sample(rig: Rig, tenant: str, context: dict[str, Any], shared_data: Path, name: str) -> None:
    """``POST /exams/imports`` with the raw XML and the scenario's bearer token."""
    data = (shared_data / "tis" / "trt" / name).read_bytes()
    _import(rig, tenant, context, data=data, headers={"Content-Type": "application/xml"})


def _import(rig: Rig, tenant: str, context: dict[str, Any], **kwargs: Any) -> None:
    headers = dict(kwargs.pop("headers", {}))
    if "dw_token" in context:
        headers["Authorization"] = f"Bearer {context['dw_token']}"
    context["response"] = rig.request("dw", "POST", "/exams/imports", tenant=tenant, headers=headers, **kwargs)
    if context["response"].status_code == 202:
        context.setdefault("import_ids", []).append(context["response"].json()["id"])


@when(parsers.parse('I import the sample TRT "{name}" into dw as multipart part "{part}"'))
def import_multipart(rig: Rig, tenant: str, context: dict[str, Any], shared_data: Path, name: str, part: str) -> None:
    """The multipart form of the import."""
    data = (shared_data / "tis" / "trt" / name).read_bytes()
    _import(rig, tenant, context, files={part: (name, data, "application/xml")})


@when("I import into dw the body:")
def import_text(rig: Rig, tenant: str, context: dict[str, Any], docstring: str) -> None:
    """A raw body as given."""
    _import(rig, tenant, context, data=docstring.encode(), headers={"Content-Type": "text/plain"})


@then("both dw imports are the same record")
def same_record(context: dict[str, Any]) -> None:
    """De-duplication by MD5 returned the first import."""
    ids = context["import_ids"]
    assert len(ids) == 2 and ids[0] == ids[1], ids


@then(parsers.parse('the dw import has status "{status}"'))
def import_status(rig: Rig, tenant: str, context: dict[str, Any], status: str) -> None:
    """The warehouse's verdict on the last import (admin state)."""
    rid = context["import_ids"][-1]
    record = rig.admin("dw", "GET", f"state/receipts/{rid}", tenant=tenant).json()
    assert record["status"] == status, record


@then(parsers.parse('the dw holds {count:d} receipts for "{receiver}" with status "{status}"'))
def receipts(rig: Rig, tenant: str, count: int, receiver: str, status: str) -> None:
    """What was received, accepted or refused, by receiver."""
    rows = rig.admin("dw", "GET", f"state/receipts/{receiver}", tenant=tenant).json()["receipts"]
    assert len(rows) == count and all(r["status"] == status for r in rows), rows


@then(parsers.parse('the dw admin door shows the "{receiver}" receipt refused with "{status}" and the message '
                    '"{text}"'))
def receipt_messages(rig: Rig, tenant: str, receiver: str, status: str, text: str) -> None:
    """examrig's admin door (DW-ADM-001): what a receiver refused, with its status and the warehouse's messages."""
    rows = rig.admin("dw", "GET", f"state/receipts/{receiver}", tenant=tenant).json()["receipts"]
    assert len(rows) == 1 and rows[0]["status"] == status, rows
    assert any(text in m for m in rows[0]["messages"]), rows[0]["messages"]


@then(parsers.parse('the dw refusal names "{text}"'))
def refusal_names(context: dict[str, Any], text: str) -> None:
    """The 400 message lists the warehouse's check."""
    assert text in context["response"].json()["message"], context["response"].text


@given(parsers.parse('the dw knows only the items "{items}"'))
def dw_items(rig: Rig, tenant: str, items: str) -> None:
    """Seed the warehouse's item catalogue."""
    response = rig.admin("dw", "POST", "seed", tenant=tenant, json={"items": items.split(",")})
    assert response.status_code == 201, response.text


@when(parsers.parse('TIS posts the sample TRT "{name}" to dw "{path}" with the "{label}" score of "{measure}" '
                    'set to "{value}"'))
def post_edited_sample(rig: Rig, tenant: str, context: dict[str, Any], shared_data: Path, name: str, path: str,
                       label: str, measure: str, value: str) -> None:
    """A real TRT with one opportunity Score value changed (the score must exist in the sample)."""
    root = etree.fromstring((shared_data / "tis" / "trt" / name).read_bytes())
    scores = [s for s in root.find("Opportunity").findall("Score")
              if s.get("measureOf") == measure and s.get("measureLabel") == label]
    assert len(scores) == 1, f"{name} has {len(scores)} {label} scores of {measure}"
    scores[0].set("value", value)
    context["response"] = rig.request("dw", "POST", path, tenant=tenant, data=etree.tostring(root),
                                      headers={"Content-Type": "application/xml"})


@given("a dw loader token that openam does not know")
def unknown_token(context: dict[str, Any]) -> None:
    """A well-formed GUID no openam issued."""
    context["dw_token"] = "00000000-0000-4000-8000-000000000000"


@then(parsers.parse('the dw exam "{opp_key}" is {state}'))
def exam_state(rig: Rig, tenant: str, opp_key: str, state: str) -> None:
    """The warehouse's exam for an opportunity key: ``live`` or ``deleted`` (admin state)."""
    response = rig.admin("dw", "GET", f"state/exams/{opp_key}", tenant=tenant)
    assert response.status_code == 200, response.text
    assert response.json()["deleted"] is (state == "deleted"), response.json()
