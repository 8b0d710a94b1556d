"""Steps about the deliveryodata OData service, its signed lobby and proctor URLs (every JSON answer CSDL-checked)."""

from __future__ import annotations

import base64
import json
import re
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from pytest_bdd import given, parsers, then, when

from conformance.targets import Rig
from contracts.odata.csdl import CsdlModel, check_json_light, parse

SVC = "deliveryodata"
CUSTOMER = "400449"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode()}
_SERVED: dict[str, CsdlModel] = {}
STANDARD_SEED: dict[str, Any] = {
    "participants": [{"ID": 987654321, "Name": "ada.lovelace", "FirstName": "Ada", "LastName": "Lovelace",
                      "Details1": "from-participant", "Details2": "dept-2"}],
    "assessments": [
        {"ID": "1234567890876543", "Name": "Proctored exam", "Language": "en-US,fr-FR", "IsSecure": False},
        {"ID": "9788463565326947", "Name": "Secure exam", "Language": "en-US", "IsSecure": True}],
    "testCenters": [{"ID": 7, "Name": "Heathrow"}],
    "monitoringTypes": [{"ID": 5, "Name": "UNMONITORED", "SystemCheckUrl": "about:blank"}],
}


def served_csdl(rig: Rig, tenant: str) -> CsdlModel:
    """The CSDL the service serves at ``$metadata`` (fetched once per run)."""
    if SVC not in _SERVED:
        response = rig.request(SVC, "GET", f"/deliveryodata/{CUSTOMER}/$metadata", tenant=tenant, headers=AUTH)
        assert response.status_code == 200, response.text
        _SERVED[SVC] = parse(response.text)
    return _SERVED[SVC]


def conforms(rig: Rig, tenant: str, response: requests.Response) -> None:
    """Every JSON answer of the OData service follows the served CSDL (and carries DataServiceVersion)."""
    if "json" not in response.headers.get("Content-Type", ""):
        return
    problems = check_json_light(served_csdl(rig, tenant), response.json(),
                                root=f"{rig.url(SVC)}/deliveryodata/{CUSTOMER}/")
    assert not problems, f"response departs from the served CSDL: {problems}\n{response.text[:600]}"
    assert response.headers.get("DataServiceVersion") == "3.0", dict(response.headers)


def _path(context: dict[str, Any], path: str) -> str:
    """``{attempt}``, ``{result}``, ``{list}``, ``{appointment}`` replaced by the scenario's IDs."""
    for name in ("attempt", "result", "list", "appointment"):
        if name in context:
            path = path.replace("{" + name + "}", str(context[name]))
    return path


def odata(rig: Rig, tenant: str, context: dict[str, Any], method: str, path: str, *, auth: dict[str, str] | None = None,
          body: str | None = None, headers: dict[str, str] | None = None) -> requests.Response:
    """Send to the OData service, keep the response, check it against the CSDL."""
    hdrs = {**(AUTH if auth is None else auth), **(headers or {})}
    if body is not None:
        hdrs.setdefault("Content-Type", "application/json")
        body = _path(context, body)
    response = rig.request(SVC, method, _path(context, path), tenant=tenant, headers=hdrs,
                           data=body.encode("utf-8") if body is not None else None)
    context["response"] = response
    if path.startswith("/deliveryodata/"):
        conforms(rig, tenant, response)
    return response


def _absolute(rig: Rig, tenant: str, context: dict[str, Any], method: str, url: str,
              payload: dict[str, Any] | None = None) -> requests.Response:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    response = rig.request(SVC, method, path, tenant=tenant, json=payload)
    context["response"] = response
    assert "json" in response.headers.get("Content-Type", ""), response.text[:300]
    data = response.json()
    if response.status_code < 300:
        assert {"AttemptID", "LockStatus", "LockRequired", "ResultStatus"} <= set(data) or "Attempts" in data, data
    else:
        assert set(data) == {"error"} and {"code", "message"} <= set(data["error"]), data
    return response


# -- givens ------------------------------------------------------------------------------------------


@given("a deliveryodata customer with the standard seed")
def standard_seed(rig: Rig, tenant: str) -> None:
    """Participant 987654321, assessments 1234567890876543 (en-US, fr-FR) and 9788463565326947 (secure), ..."""
    response = rig.admin(SVC, "POST", "seed", tenant=tenant, json=STANDARD_SEED)
    assert response.status_code == 201, response.text


@given(parsers.parse('the deliveryodata clock is frozen at "{instant}"'))
def frozen_clock(rig: Rig, tenant: str, instant: str) -> None:
    """Freeze the tenant's clock."""
    response = rig.admin(SVC, "POST", "clock", tenant=tenant, json={"set": instant, "frozen": True})
    assert response.status_code == 200, response.text


@given(parsers.parse('a locked deliveryodata attempt "{external}"'))
def locked_attempt(rig: Rig, tenant: str, context: dict[str, Any], external: str) -> None:
    """POST a proctored attempt (LockRequired and LockStatus true) and remember its ID."""
    body = json.dumps({"ExternalAttemptID": external, "ParticipantID": 987654321, "AssessmentID": "1234567890876543",
                       "LockRequired": True, "LockStatus": True})
    response = odata(rig, tenant, context, "POST", f"/deliveryodata/{CUSTOMER}/Attempts", body=body)
    assert response.status_code == 201, response.text
    context["attempt"] = response.json()["ID"]
    context.setdefault("attempts", {})[external] = response.json()["ID"]


@given(parsers.parse('a deliveryodata attempt "{external}" with JSON:'))
def attempt_with(rig: Rig, tenant: str, context: dict[str, Any], external: str, docstring: str) -> None:
    """POST an attempt built from participant 987654321, assessment 1234567890876543 and the docstring."""
    body = {"ExternalAttemptID": external, "ParticipantID": 987654321, "AssessmentID": "1234567890876543",
            **json.loads(_path(context, docstring))}
    response = odata(rig, tenant, context, "POST", f"/deliveryodata/{CUSTOMER}/Attempts", body=json.dumps(body))
    assert response.status_code == 201, response.text
    context["attempt"] = response.json()["ID"]
    context.setdefault("attempts", {})[external] = response.json()["ID"]


# -- OData requests ----------------------------------------------------------------------------------


@when(parsers.parse('I {method} to deliveryodata "{path}" as the API user with JSON:'))
@given(parsers.parse('I {method} to deliveryodata "{path}" as the API user with JSON:'))
def send_api_json(rig: Rig, tenant: str, context: dict[str, Any], method: str, path: str, docstring: str) -> None:
    """An authenticated request with a JSON body."""
    odata(rig, tenant, context, method, path, body=docstring)


@when(parsers.parse('I {method} deliveryodata "{path}" as the API user'))
@given(parsers.parse('I {method} deliveryodata "{path}" as the API user'))
def send_api(rig: Rig, tenant: str, context: dict[str, Any], method: str, path: str) -> None:
    """An authenticated request without a body."""
    odata(rig, tenant, context, method, path)


@when(parsers.parse('I GET deliveryodata "{path}" with credentials "{user}:{password}"'))
def send_with_credentials(rig: Rig, tenant: str, context: dict[str, Any], path: str, user: str, password: str) -> None:
    """A request with the given Basic credentials."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    odata(rig, tenant, context, "GET", path, auth={"Authorization": f"Basic {token}"})


@when(parsers.parse('I GET deliveryodata "{path}" without credentials'))
def send_anonymous(rig: Rig, tenant: str, context: dict[str, Any], path: str) -> None:
    """A request without an Authorization header."""
    odata(rig, tenant, context, "GET", path, auth={})


@when(parsers.parse('two deliveryodata POSTs of attempt "{external}" race'))
def racing_posts(rig: Rig, tenant: str, context: dict[str, Any], external: str) -> None:
    """Two POSTs with one ExternalAttemptID sent at once from two threads."""
    body = json.dumps({"ExternalAttemptID": external, "ParticipantID": 987654321, "AssessmentID": "1234567890876543"})
    barrier = threading.Barrier(2)
    out: list[requests.Response] = []

    def post() -> None:
        barrier.wait()
        out.append(rig.request(SVC, "POST", f"/deliveryodata/{CUSTOMER}/Attempts", tenant=tenant,
                               headers={**AUTH, "Content-Type": "application/json"}, data=body))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    context["race"] = out
    for response in out:
        conforms(rig, tenant, response)


@when("I GET the deliveryodata attempt entity")
@given("I GET the deliveryodata attempt entity")
def get_attempt(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """Read the attempt's entity URL and keep its fresh lobby and proctor URLs."""
    response = odata(rig, tenant, context, "GET", f"/deliveryodata/{CUSTOMER}/Attempts({{attempt}})")
    assert response.status_code == 200, response.text
    data = response.json()
    context["lobby_url"] = data["ParticipantFacingQMLobbyUrl"]
    context["proctor_url"] = data["ProctorFacingQMControlsWidgetUrl"]


# -- behind the signed URLs -----------------------------------------------------------------------------


def _lobby(context: dict[str, Any]) -> str:
    url: str = context["lobby_url"]
    if url.startswith("qmsb:url="):
        encoded = url[len("qmsb:url="):].split("&sig=")[0]
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    return url


@when("the participant opens the lobby URL")
@given("the participant opens the lobby URL")
def open_lobby(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """Follow the participant-facing lobby URL."""
    response = _absolute(rig, tenant, context, "GET", _lobby(context))
    if response.status_code == 200:
        context["session"] = response.json()["Session"]


@when(parsers.parse('the participant opens the lobby URL with "{param}" changed to "{value}"'))
def open_tampered(rig: Rig, tenant: str, context: dict[str, Any], param: str, value: str) -> None:
    """Follow a lobby URL with one signed parameter altered."""
    parts = urlsplit(_lobby(context))
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query[param] = value
    url = parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()
    _absolute(rig, tenant, context, "GET", url)


@when("the participant presents the proctor URL at the lobby")
def proctor_url_at_lobby(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """A participant who got hold of the proctor URL tries to enter the lobby with it."""
    proctor = urlsplit(context["proctor_url"])
    lobby = urlsplit(_lobby(context))
    _absolute(rig, tenant, context, "GET", lobby._replace(query=proctor.query).geturl())


@when("the participant uses the lobby URL for a proctor control")
def lobby_url_as_proctor(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """A participant tries to unlock the lobby with their own signed URL."""
    lobby = urlsplit(_lobby(context))
    url = f"{lobby.scheme}://{lobby.netloc}/lobby/{CUSTOMER}/proctorwidget/Unlock/{context['attempt']}?{lobby.query}"
    _absolute(rig, tenant, context, "POST", url)


@when("the participant starts the assessment")
@given("the participant starts the assessment")
def start(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """Press start in the lobby."""
    _start(rig, tenant, context, None)


@when(parsers.parse('the participant starts the assessment with unlock code "{code}"'))
def start_with_code(rig: Rig, tenant: str, context: dict[str, Any], code: str) -> None:
    """Start without the proctor, with an unlock code."""
    _start(rig, tenant, context, code)


def _start(rig: Rig, tenant: str, context: dict[str, Any], code: str | None) -> None:
    parts = urlsplit(_lobby(context))
    url = f"{parts.scheme}://{parts.netloc}/lobby/{CUSTOMER}/lobby/Start/{context['attempt']}"
    payload: dict[str, Any] = {"Session": context.get("session", "none")}
    if code is not None:
        payload["UnlockCode"] = code
    response = _absolute(rig, tenant, context, "POST", url, payload)
    if response.status_code == 200:
        context["result"] = response.json()["ResultID"]


@when(parsers.parse('the proctor does "{action}"'))
@given(parsers.parse('the proctor does "{action}"'))
def proctor_action(rig: Rig, tenant: str, context: dict[str, Any], action: str) -> None:
    """A proctor control through the proctor widget URL (``Index`` reads the state)."""
    _proctor(rig, tenant, context, action, None)


@when(parsers.parse('the proctor adds {minutes:d} minutes'))
def proctor_add_time(rig: Rig, tenant: str, context: dict[str, Any], minutes: int) -> None:
    """The add-time control."""
    _proctor(rig, tenant, context, "AddTime", {"Minutes": minutes})


def _proctor(rig: Rig, tenant: str, context: dict[str, Any], action: str, payload: dict[str, Any] | None) -> None:
    parts = urlsplit(context["proctor_url"])
    if action == "Index":
        _absolute(rig, tenant, context, "GET", context["proctor_url"])
        return
    url = f"{parts.scheme}://{parts.netloc}{parts.path.replace('/Index/', f'/{action}/')}?{parts.query}"
    _absolute(rig, tenant, context, "POST", url, payload)


@when(parsers.parse("the deliveryodata clock advances {seconds:d} seconds"))
@given(parsers.parse("the deliveryodata clock advances {seconds:d} seconds"))
def advance(rig: Rig, tenant: str, seconds: int) -> None:
    """Move the frozen clock on."""
    assert rig.admin(SVC, "POST", "clock", tenant=tenant, json={"advance": seconds}).status_code == 200


# -- thens -------------------------------------------------------------------------------------------


@then("the deliveryodata answer is an odata.error")
def odata_error_shape(context: dict[str, Any]) -> None:
    """The v3 JSON Light error body {code, message {lang, value}} (DOD-FMT-003), whatever its words."""
    data = context["response"].json()
    error = data["odata.error"]
    assert isinstance(error["code"], str) and error["message"]["lang"] == "en-US", data
    assert isinstance(error["message"]["value"], str) and error["message"]["value"], data


@then(parsers.parse('the deliveryodata error message contains "{text}"'))
def odata_error(context: dict[str, Any], text: str) -> None:
    """The odata.error message names what was wrong."""
    data = context["response"].json()
    assert text in data["odata.error"]["message"]["value"], data


@then(parsers.parse('the lobby error code is "{code}"'))
def lobby_error(context: dict[str, Any], code: str) -> None:
    """The error code behind a signed URL."""
    data = context["response"].json()
    assert data["error"]["code"] == code, data


@then(parsers.parse('the response header "{name}" contains "{value}"'))
def header_contains(context: dict[str, Any], name: str, value: str) -> None:
    """A response header contains ``value``."""
    actual = context["response"].headers.get(name, "")
    assert value in actual, f"{name}: {actual!r}"


@then(parsers.parse("exactly one racing POST was answered 201 and the other {status:d}"))
def race_outcome(context: dict[str, Any], status: int) -> None:
    """One winner, one refusal."""
    codes = sorted(r.status_code for r in context["race"])
    assert codes == sorted([201, status]), codes


@then(parsers.parse('the deliveryodata feed "{path}" has {count:d} entities'))
def feed_count(rig: Rig, tenant: str, context: dict[str, Any], path: str, count: int) -> None:
    """A feed's first page holds ``count`` entities."""
    response = odata(rig, tenant, context, "GET", path)
    assert len(response.json()["value"]) == count, response.text[:500]


@then(parsers.parse('the session audit log of the attempt lists "{events}"'))
def audit_events(rig: Rig, tenant: str, context: dict[str, Any], events: str) -> None:
    """``SessionAuditLogs(id)/$value`` (CSV) holds exactly these events, in order."""
    response = odata(rig, tenant, context, "GET", f"/deliveryodata/{CUSTOMER}/SessionAuditLogs({{attempt}})/$value")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv"), response.text
    lines = response.text.strip().splitlines()
    assert lines[0].startswith("Sequence,Timestamp,AttemptID,ResultID,Event,Actor"), lines[0]
    actual = [line.split(",")[4] for line in lines[1:]]
    assert actual == events.split(","), actual


@then(parsers.parse('the deliveryodata JSON field "{path}" is {value}'))
def json_value(context: dict[str, Any], path: str, value: str) -> None:
    """A field of the JSON body equals the JSON ``value`` (type included; ``{attempt}`` etc. substituted)."""
    data: Any = context["response"].json()
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    assert data == json.loads(_path(context, value)), f"{path}: {data!r} != {value}"


@then(parsers.parse('the deliveryodata JSON field "{path}" starts with "{prefix}"'))
def json_prefix(context: dict[str, Any], path: str, prefix: str) -> None:
    """A text field starts with ``prefix``."""
    data: Any = context["response"].json()
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    assert isinstance(data, str) and data.startswith(prefix), data


# -- appointments, attempt lists, paging ----------------------------------------------------------------


@given(parsers.parse('a deliveryodata appointment for the attempt starting "{start}"'))
def appointment(rig: Rig, tenant: str, context: dict[str, Any], start: str) -> None:
    """POST an appointment of the current attempt and remember its ID as ``{appointment}``."""
    body = json.dumps({"AttemptID": context["attempt"], "AppointmentStartUtc": start})
    response = odata(rig, tenant, context, "POST", f"/deliveryodata/{CUSTOMER}/Appointments", body=body)
    assert response.status_code == 201, response.text
    context["appointment"] = response.json()["ID"]


@when("I remember the deliveryodata appointment")
def remember_appointment(context: dict[str, Any]) -> None:
    """The last answer's entity ID becomes ``{appointment}``."""
    context["appointment"] = context["response"].json()["ID"]


@given(parsers.parse('an open deliveryodata attempt list "{external}" at test center {center:d}'))
def open_list(rig: Rig, tenant: str, context: dict[str, Any], external: str, center: int) -> None:
    """POST an open AttemptList at ``center`` and remember its ID as ``{list}``."""
    body = json.dumps({"ExternalAttemptListID": external, "TestCenterID": center, "Open": True})
    response = odata(rig, tenant, context, "POST", f"/deliveryodata/{CUSTOMER}/AttemptLists", body=body)
    assert response.status_code == 201, response.text
    context["list"] = response.json()["ID"]
    context.setdefault("lists", {})[external] = response.json()["ID"]


@given(parsers.parse('a deliveryodata attempt list "{external}"'))
def closed_list(rig: Rig, tenant: str, context: dict[str, Any], external: str) -> None:
    """POST a closed AttemptList without a test center (its ID kept under its external ID)."""
    body = json.dumps({"ExternalAttemptListID": external})
    response = odata(rig, tenant, context, "POST", f"/deliveryodata/{CUSTOMER}/AttemptLists", body=body)
    assert response.status_code == 201, response.text
    context.setdefault("lists", {})[external] = response.json()["ID"]


@when(parsers.parse('the proctor presents the controls URL of list "{external}" for list "{other}"'))
def list_url_elsewhere(rig: Rig, tenant: str, context: dict[str, Any], external: str, other: str) -> None:
    """One list's signed parameters on another list's controls path."""
    parts = urlsplit(context["list_urls"][external])
    path = parts.path.replace(f"/Index/{context['lists'][external]}", f"/Index/{context['lists'][other]}")
    _absolute(rig, tenant, context, "GET", f"{parts.scheme}://{parts.netloc}{path}?{parts.query}")


@when(parsers.parse('I GET the deliveryodata attempt list entity "{external}"'))
def get_list(rig: Rig, tenant: str, context: dict[str, Any], external: str) -> None:
    """Read the list's entity URL and keep its fresh controls URL."""
    key = context["lists"][external]
    response = odata(rig, tenant, context, "GET", f"/deliveryodata/{CUSTOMER}/AttemptLists({key})")
    assert response.status_code == 200, response.text
    context.setdefault("list_urls", {})[external] = response.json()["ProctorFacingQMControlsUrl"]


@when(parsers.parse('the proctor opens the controls URL of list "{external}"'))
def open_list_controls(rig: Rig, tenant: str, context: dict[str, Any], external: str) -> None:
    """GET the list's controls URL: the state of every attempt of the list."""
    _absolute(rig, tenant, context, "GET", context["list_urls"][external])


@when(parsers.parse('the proctor does "{action}" on attempt "{attempt}" through the controls URL of list "{external}"'))
def list_control(rig: Rig, tenant: str, context: dict[str, Any], action: str, attempt: str, external: str) -> None:
    """A control on one attempt through a list's controls URL (the attempt need not belong to the list)."""
    parts = urlsplit(context["list_urls"][external])
    list_id = context["lists"][external]
    path = parts.path.replace(f"/attemptlist/Index/{list_id}",
                              f"/attemptlist/{action}/{list_id}/{context['attempts'][attempt]}")
    _absolute(rig, tenant, context, "POST", f"{parts.scheme}://{parts.netloc}{path}?{parts.query}")


@then(parsers.parse('the controls answer lists the attempts "{externals}"'))
def list_controls_attempts(context: dict[str, Any], externals: str) -> None:
    """The list controls state holds exactly these attempts, in ID order."""
    data = context["response"].json()
    expected = [context["attempts"][x] for x in externals.split(",")]
    assert [a["AttemptID"] for a in data["Attempts"]] == expected, data


@given(parsers.parse('{count:d} deliveryodata attempts with ExternalAttemptIDs prefixed "{prefix}"'))
def many_attempts(rig: Rig, tenant: str, context: dict[str, Any], count: int, prefix: str) -> None:
    """POST ``count`` attempts (ExternalAttemptID ``prefix-1`` ...)."""
    for n in range(1, count + 1):
        body = json.dumps({"ExternalAttemptID": f"{prefix}-{n}", "ParticipantID": 987654321,
                           "AssessmentID": "1234567890876543"})
        response = rig.request(SVC, "POST", f"/deliveryodata/{CUSTOMER}/Attempts", tenant=tenant,
                               headers={**AUTH, "Content-Type": "application/json",
                                        "Prefer": "return-no-content"}, data=body)
        assert response.status_code == 204, response.text


@when(parsers.parse('I follow the deliveryodata feed "{path}" to its end'))
def follow_feed(rig: Rig, tenant: str, context: dict[str, Any], path: str) -> None:
    """GET a feed and every ``odata.nextLink`` after it (each page CSDL-checked); keep pages and entities."""
    pages: list[dict[str, Any]] = []
    url: str | None = path
    while url is not None:
        assert len(pages) < 50, "odata.nextLink never ends"
        parts = urlsplit(url)
        response = odata(rig, tenant, context, "GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        assert response.status_code == 200, response.text[:500]
        data = response.json()
        pages.append(data)
        url = data.get("odata.nextLink")
        if url is not None:
            assert url.startswith(f"{rig.url(SVC)}/deliveryodata/{CUSTOMER}/"), url
    context["pages"] = pages


@then(parsers.parse("the deliveryodata pages held {sizes} entities"))
def page_sizes(context: dict[str, Any], sizes: str) -> None:
    """Entities per followed page, e.g. ``100,5``."""
    assert [len(p["value"]) for p in context["pages"]] == [int(x) for x in sizes.split(",")], \
        [len(p["value"]) for p in context["pages"]]


@then(parsers.parse('the deliveryodata pages listed {last:d} attempts prefixed "{prefix}" once each'))
def pages_cover(context: dict[str, Any], prefix: str, last: int) -> None:
    """Across the pages, every attempt exactly once, none missing, none repeated."""
    seen = [e["ExternalAttemptID"] for p in context["pages"] for e in p["value"]]
    assert sorted(seen) == sorted(f"{prefix}-{n}" for n in range(1, last + 1)), seen
    ids = [int(e["ID"]) for p in context["pages"] for e in p["value"]]
    assert ids == sorted(ids), "server-driven paging keeps the key order"


@then(parsers.parse('every deliveryodata page has "odata.count" {count}'))
def pages_count(context: dict[str, Any], count: str) -> None:
    """``$inlinecount=allpages`` on every page, as a string."""
    assert [p.get("odata.count") for p in context["pages"]] == [json.loads(count)] * len(context["pages"])


# -- seeding ----------------------------------------------------------------------------------------


@when("I seed deliveryodata with JSON:")
@given("I seed deliveryodata with JSON:")
def seed_json(rig: Rig, tenant: str, context: dict[str, Any], docstring: str) -> None:
    """``POST /_examrig/seed`` with the docstring; the answer is kept."""
    context["response"] = rig.admin(SVC, "POST", "seed", tenant=tenant, json=json.loads(docstring))


@when(parsers.parse('I keep the deliveryodata feed "{path}"'))
def keep_feed(rig: Rig, tenant: str, context: dict[str, Any], path: str) -> None:
    """Remember a feed's entities to compare later."""
    response = odata(rig, tenant, context, "GET", path)
    assert response.status_code == 200, response.text[:500]
    context["kept"] = response.json()["value"]


@then(parsers.parse('the deliveryodata feed "{path}" is {verdict} the kept one'))
def compare_feed(rig: Rig, tenant: str, context: dict[str, Any], path: str, verdict: str) -> None:
    """The feed now equals (``the same as``) or differs from (``not the same as``) the kept entities."""
    response = odata(rig, tenant, context, "GET", path)
    assert response.status_code == 200, response.text[:500]
    same = response.json()["value"] == context["kept"]
    assert same == (verdict == "the same as"), (verdict, response.json()["value"][:2], context["kept"][:2])


# -- the lobby's pages (docs/pages.md; capability deliveryodata.pages) -----------------------------------------------


def _page_cookie(context: dict[str, Any]) -> dict[str, str]:
    """The lobby session as the pages carry it: the cookie a browser gets on entering the lobby."""
    return {"Cookie": f"examrig_lobby_{context['attempt']}={context['session']}"}


@when("the participant finishes on the delivery page")
def finish_on_page(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """The delivery page's Finish form, with the token the page carries (read from the page as a browser would)."""
    page = rig.request(SVC, "GET", f"/lobby/{CUSTOMER}/page/Delivery/{context['attempt']}", tenant=tenant,
                       headers={**_page_cookie(context), "Accept": "text/html"}, allow_redirects=False)
    assert page.status_code == 200, page.text[:300]
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found is not None, page.text[:300]
    context["response"] = rig.request(SVC, "POST", f"/lobby/{CUSTOMER}/page/Finish/{context['attempt']}",
                                      tenant=tenant, headers={**_page_cookie(context), "Accept": "text/html"},
                                      data={"csrf": found.group(1)}, allow_redirects=False)


@then(parsers.parse("the delivery page reports {seconds:d} seconds left"))
def page_seconds_left(rig: Rig, tenant: str, context: dict[str, Any], seconds: int) -> None:
    """The delivery page's polling endpoint (the lobby session's cookie) reports this time left."""
    response = rig.request(SVC, "GET", f"/lobby/{CUSTOMER}/page/LobbyState/{context['attempt']}", tenant=tenant,
                           headers={**_page_cookie(context), "Accept": "application/json"})
    assert response.status_code == 200, response.text[:300]
    assert response.json()["SecondsLeft"] == seconds, response.json()
