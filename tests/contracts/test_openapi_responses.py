"""The response checker behind the scenarios' OpenAPI check: it passes conforming answers and names every departure."""

from __future__ import annotations

import json

import pytest

from contracts.openapi import served_document
from contracts.openapi.responses import ResponseChecker

SPRING = {"timestamp": "2026-01-01T00:00:00.000+00:00", "status": 400, "error": "Bad Request",
          "message": "Required request body is missing", "path": "/tis", "field": "body"}


@pytest.fixture(scope="module")
def tds() -> ResponseChecker:
    return ResponseChecker(served_document("tds"))


def test_conforming_error_passes(tds: ResponseChecker) -> None:
    assert tds.check("POST", "/tis", 400, "application/json; charset=utf-8", json.dumps(SPRING).encode()) == []


def test_missing_required_property_is_named(tds: ResponseChecker) -> None:
    body = {k: v for k, v in SPRING.items() if k != "path"}
    problems = tds.check("POST", "/tis", 400, "application/json", json.dumps(body).encode())
    assert len(problems) == 1 and "'path' is a required property" in problems[0] and "POST /tis" in problems[0]


def test_wrong_type_is_named_with_its_location(tds: ResponseChecker) -> None:
    problems = tds.check("POST", "/tis", 400, "application/json", json.dumps({**SPRING, "status": "400"}).encode())
    assert any(p.startswith("POST /tis -> 400 (/tis): status:") for p in problems), problems


def test_undocumented_status(tds: ResponseChecker) -> None:
    problems = tds.check("POST", "/tis", 418, "application/json", b"{}")
    assert problems and "status 418 is not documented" in problems[0]


def test_undocumented_content_type(tds: ResponseChecker) -> None:
    problems = tds.check("POST", "/tis", 400, "text/html", b"<p>no</p>")
    assert problems and "content type text/html is not documented" in problems[0]


def test_body_where_none_is_documented(tds: ResponseChecker) -> None:
    problems = tds.check("POST", "/tis", 200, "application/json", b"{}")
    assert problems and "declares none" in problems[0]


def test_not_json_under_a_json_type(tds: ResponseChecker) -> None:
    problems = tds.check("POST", "/tis", 400, "application/json", b"{nope")
    assert problems and "body is not JSON" in problems[0]


def test_undocumented_request_has_nothing_to_check(tds: ResponseChecker) -> None:
    assert tds.check("GET", "/nowhere", 404, "application/json", b"{}") == []


def test_path_templates_and_admin_door_resolve() -> None:
    dw = ResponseChecker(served_document("dw"))
    assert dw.find("POST", "/dw1/services/xml") is not None
    assert dw.find("GET", "/exams/imports/12") is not None
    assert dw.find("GET", "/_examrig/health") is not None
    assert dw.find("GET", "/_examrig/state/imports/12") is not None
    bad = dw.check("GET", "/_examrig/health", 200, "application/json", b'{"status": "ok"}')
    assert bad and "required property" in bad[0]


def test_proctoru_envelope_any_of() -> None:
    pu = ResponseChecker(served_document("proctoru"))
    ok = {"time_sent": "2026-01-01T00:00:00Z", "response_code": 1, "message": "", "data": {"url": "https://x"}}
    assert pu.check("POST", "/api/beginReservation", 200, "application/json", json.dumps(ok).encode()) == []
    missing_url = {**ok, "data": {}}
    assert pu.check("POST", "/api/beginReservation", 200, "application/json", json.dumps(missing_url).encode())
    error = {"time_sent": "2026-01-01T00:00:00.000Z", "response_code": 2, "message": "x : Error count 1 of 50",
             "data": None}
    assert pu.check("GET", "/api/autoLogin/", 200, "application/json", json.dumps(error).encode()) == []


def test_scenario_hook_checks_rig_responses_and_skips_faulted_tenants(monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.targets import Rig
    from features.steps import openapi_responses

    rig = Rig(mode="inprocess")
    try:
        response = rig.request("tds", "POST", "/tis", tenant="t1", data=b"",
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert openapi_responses.check(rig, response) == []
        doc = served_document("tds")
        doc["components"]["schemas"]["SpringError"]["required"].append("nosuch")
        monkeypatch.setattr(openapi_responses, "checker", lambda service: ResponseChecker(doc))
        problems = openapi_responses.check(rig, response)
        assert problems and "'nosuch' is a required property" in problems[0]
        hook = openapi_responses._hook(rig)
        with pytest.raises(AssertionError, match="departs from the mock's OpenAPI document"):
            hook(response)
        rig.admin("tds", "POST", "faults", tenant="t1", json={"kind": "status", "status": 418, "route": "nosuch"})
        assert openapi_responses.check(rig, response) == []  # a tenant under fault rules is not judged
    finally:
        rig.close()
