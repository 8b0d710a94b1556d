"""Steps about the proctoru mock: clock, form requests with the Authorization-Token, reservations, deliveryodata."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import responses
from pytest_bdd import given, parsers, then, when

from conformance.outcomes import unsupported
from conformance.targets import Rig
from mocks.core.server import bind, start, stop
from mocks.core.tls import self_signed
from mocks.proctoru.models import DEFAULT_TOKEN

PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
DOD_BASE = "https://qm.proctoru-stub.test"
DOD_ROOT = f"{DOD_BASE}/deliveryodata/400449"


def _pu(context: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = context.setdefault("proctoru", {"aliases": {}})
    return state


def _form(context: dict[str, Any], docstring: str) -> dict[str, str]:
    """``key=value`` lines (or ``;;``-separated); ``$alias`` is a remembered reservation number; ``\\n`` a newline."""
    aliases = _pu(context)["aliases"]
    form: dict[str, str] = {}
    for line in docstring.replace(";;", "\n").splitlines():
        if not line.strip():
            continue
        key, sep, value = line.strip().partition("=")
        assert sep, f"form line {line!r} is not key=value"
        value = PLACEHOLDER.sub(lambda m: str(aliases[m.group(1)]), value.strip())
        form[key.strip()] = value.replace("\\n", "\n")
    return form


def _send(rig: Rig, tenant: str, context: dict[str, Any], method: str, endpoint: str, form: dict[str, str],
          *, token: str | None = DEFAULT_TOKEN, where: str = "body") -> requests.Response:
    now = _pu(context).get("now")
    if now is not None and "time_sent" not in form:
        form = {"time_sent": now.replace(tzinfo=None).isoformat(timespec="microseconds"), **form}
    headers = {"Authorization-Token": token} if token is not None else {}
    path = f"/api/{endpoint}"
    kwargs: dict[str, Any] = {}
    if where == "query":
        path += "?" + urlencode(form)
    elif where == "json":
        kwargs["json"] = form
    else:
        kwargs["data"] = form
    response = rig.request("proctoru", method, path, tenant=tenant, headers=headers, **kwargs)
    context["response"] = response
    return response


@given(parsers.parse('the proctoru clock is at "{instant}"'))
def proctoru_clock(rig: Rig, tenant: str, context: dict[str, Any], instant: str) -> None:
    """Freeze the scenario tenant's clock."""
    response = rig.admin("proctoru", "POST", "clock", tenant=tenant, json={"set": instant})
    assert response.status_code == 200, response.text
    _pu(context)["now"] = datetime.fromisoformat(instant.replace("Z", "+00:00"))


@given(parsers.parse("the proctoru clock advances {minutes:d} minutes"))
@when(parsers.parse("the proctoru clock advances {minutes:d} minutes"))
def proctoru_advance(rig: Rig, tenant: str, context: dict[str, Any], minutes: int) -> None:
    """Move the frozen clock on (time_sent follows it)."""
    response = rig.admin("proctoru", "POST", "clock", tenant=tenant, json={"advance": minutes * 60})
    assert response.status_code == 200, response.text
    state = _pu(context)
    state["now"] = state["now"] + timedelta(minutes=minutes)


@given("proctoru has the seed:")
def proctoru_seed(rig: Rig, tenant: str, docstring: str) -> None:
    """Seed institutions or availability (JSON)."""
    response = rig.admin("proctoru", "POST", "seed", tenant=tenant, json=json.loads(docstring))
    assert response.status_code == 201, response.text


@given(parsers.parse('a proctoru reservation "{alias}" made with:'))
@when(parsers.parse('a proctoru reservation "{alias}" is made with:'))
def proctoru_reservation(rig: Rig, tenant: str, context: dict[str, Any], alias: str, docstring: str) -> None:
    """addAdHocProcess that must succeed; its reservation_no is remembered as ``$alias``."""
    response = _send(rig, tenant, context, "POST", "addAdHocProcess", _form(context, docstring))
    body = response.json()
    assert body["response_code"] == 1, body
    _pu(context)["aliases"][alias] = body["data"]["reservation_no"]


@when(parsers.parse('the proctoru client sends {method} "{endpoint}" with:'))
def proctoru_send(rig: Rig, tenant: str, context: dict[str, Any], method: str, endpoint: str,
                  docstring: str) -> None:
    """A form-encoded body (also on GET, as the xBlock sends it)."""
    _send(rig, tenant, context, method, endpoint, _form(context, docstring))


@when(parsers.parse('the proctoru client sends {method} "{endpoint}" with the parameters in the {where}:'))
def proctoru_send_where(rig: Rig, tenant: str, context: dict[str, Any], method: str, endpoint: str, where: str,
                        docstring: str) -> None:
    """The parameters in the query string, a JSON body or a form body."""
    _send(rig, tenant, context, method, endpoint, _form(context, docstring), where=where)


@when(parsers.parse('the proctoru client sends {method} "{endpoint}" with token "{token}" and:'))
def proctoru_send_token(rig: Rig, tenant: str, context: dict[str, Any], method: str, endpoint: str, token: str,
                        docstring: str) -> None:
    """With a given Authorization-Token."""
    _send(rig, tenant, context, method, endpoint, _form(context, docstring), token=token)


@when(parsers.parse('the proctoru client sends {method} "{endpoint}" with token "{token}"'))
def proctoru_send_token_only(rig: Rig, tenant: str, context: dict[str, Any], method: str, endpoint: str,
                             token: str) -> None:
    """With a given Authorization-Token and no parameters."""
    _send(rig, tenant, context, method, endpoint, {}, token=token)


@when(parsers.parse('the proctoru client sends {method} "{endpoint}" without a token'))
def proctoru_send_no_token(rig: Rig, tenant: str, context: dict[str, Any], method: str, endpoint: str) -> None:
    """Without the Authorization-Token header."""
    _send(rig, tenant, context, method, endpoint, {}, token=None)


@then("the proctoru answer is a success")
def proctoru_success(context: dict[str, Any]) -> None:
    """HTTP 200, response_code 1, empty message, a ``Z`` time_sent."""
    response: requests.Response = context["response"]
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"time_sent", "response_code", "message", "data"}, body
    assert body["response_code"] == 1 and body["message"] == "", body
    assert body["time_sent"].endswith("Z"), body


@then(parsers.parse('the proctoru answer is error {code:d} "{message}"'))
def proctoru_error(context: dict[str, Any], code: int, message: str) -> None:
    """HTTP 200 with response_code ``code``, data null and exactly ``message``."""
    response: requests.Response = context["response"]
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["response_code"] == code and body["data"] is None, body
    assert body["message"] == message, f"message {body['message']!r}, expected {message!r}"


@then(parsers.parse('the proctoru answer names the field "{field}"'))
def proctoru_error_field(context: dict[str, Any], field: str) -> None:
    """The offending field is named."""
    assert context["response"].json().get("field") == field, context["response"].text


@then(parsers.parse("the proctoru answer data has {count:d} items"))
def proctoru_count(context: dict[str, Any], count: int) -> None:
    """``data`` is a list of ``count`` items."""
    data = context["response"].json()["data"]
    assert isinstance(data, list) and len(data) == count, data


@then(parsers.parse('the proctoru answer data items have the fields "{fields}"'))
def proctoru_item_fields(context: dict[str, Any], fields: str) -> None:
    """Every item of ``data`` carries at least these fields."""
    wanted = {f.strip() for f in fields.split(",")}
    data = context["response"].json()["data"]
    assert data, "no items"
    for item in data:
        assert wanted <= set(item), f"missing {sorted(wanted - set(item))} in {item}"


@then(parsers.parse('the proctoru answer data field "{path}" is "{value}"'))
def proctoru_data_field(context: dict[str, Any], path: str, value: str) -> None:
    """A field under ``data`` (dotted; list indexes allowed), compared as text; ``$alias`` allowed."""
    data: Any = context["response"].json()["data"]
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    expected = PLACEHOLDER.sub(lambda m: str(_pu(context)["aliases"][m.group(1)]), value)
    shown = data if isinstance(data, str) else json.dumps(data)
    assert shown == expected, f"{path}: {shown!r}, expected {expected!r}"


@then(parsers.parse('the proctoru answer data lists the reservations "{aliases}"'))
def proctoru_lists(context: dict[str, Any], aliases: str) -> None:
    """``data`` is exactly these reservations (by reservation_no / ReservationNo), in order."""
    known = _pu(context)["aliases"]
    wanted = [known[a.strip()] for a in aliases.split(",") if a.strip()]
    data = context["response"].json()["data"]
    got = [item.get("reservation_no", item.get("ReservationNo")) for item in data]
    assert got == wanted, f"listed {got}, expected {wanted}"


@then(parsers.parse('the proctoru reservation "{alias}" is {status}'))
def proctoru_status(rig: Rig, tenant: str, context: dict[str, Any], alias: str, status: str) -> None:
    """The reservation's lifecycle status (admin state)."""
    number = _pu(context)["aliases"][alias]
    response = rig.admin("proctoru", "GET", f"state/reservations/{number}", tenant=tenant)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == status, response.json()


@then(parsers.parse('the proctoru reservation "{alias}" has the deliveryodata link "{status}"'))
def proctoru_link(rig: Rig, tenant: str, context: dict[str, Any], alias: str, status: str) -> None:
    """The link outcome recorded on the reservation."""
    number = _pu(context)["aliases"][alias]
    state = rig.admin("proctoru", "GET", f"state/reservations/{number}", tenant=tenant).json()
    context["proctoru_link"] = state["deliveryodata"]
    assert state["deliveryodata"]["status"] == status, state["deliveryodata"]


# -- deliveryodata stood in for by `responses` -------------------------------------------------


@pytest.fixture
def deliveryodata_stub(rig: Rig) -> Iterator[responses.RequestsMock]:
    """Points proctoru's deliveryodata peer at a `responses` stub for one scenario."""
    if not rig.is_mock("proctoru"):
        unsupported("the deliveryodata link is observed through the proctoru mock's own peer, not a target")
    topology = rig.runtime.topology
    saved = topology.get("deliveryodata")
    topology["deliveryodata"] = DOD_BASE
    with responses.RequestsMock(assert_all_requests_are_fired=False) as stub:
        stub.add_passthru(re.compile(r"https?://(127\.0\.0\.1|localhost|\[::1\])"))
        yield stub
    if saved is None:
        topology.pop("deliveryodata", None)
    else:
        topology["deliveryodata"] = saved


@given(parsers.parse("a deliveryodata stub with attempt {attempt:d}"))
def deliveryodata_attempt(deliveryodata_stub: responses.RequestsMock, context: dict[str, Any], attempt: int) -> None:
    """Appointments POST 201, Attempts(id) GET 200 with a proctor widget URL, PATCH 204."""
    widget = f"https://qm.proctoru-stub.test/lobby/400449/proctorwidget/Index/{attempt}?role=proctor&signature=ab"
    deliveryodata_stub.add(responses.POST, f"{DOD_ROOT}/Appointments", status=201,
                           json={"ID": 7, "AttemptID": attempt})
    deliveryodata_stub.add(responses.GET, f"{DOD_ROOT}/Attempts({attempt})", status=200,
                           json={"ID": attempt, "ProctorFacingQMControlsWidgetUrl": widget})
    deliveryodata_stub.add(responses.PATCH, f"{DOD_ROOT}/Attempts({attempt})", status=204)
    context["dod_stub"] = deliveryodata_stub
    context["dod_widget"] = widget


@given("the deliveryodata stub is down")
def deliveryodata_down(deliveryodata_stub: responses.RequestsMock, context: dict[str, Any]) -> None:
    """Every call answers 503."""
    for method in (responses.POST, responses.GET, responses.PATCH):
        deliveryodata_stub.add(method, re.compile(re.escape(DOD_ROOT) + ".*"), status=503)
    context["dod_stub"] = deliveryodata_stub


@given("the deliveryodata stub forgets its calls")
def deliveryodata_forget(context: dict[str, Any]) -> None:
    """Start counting calls afresh."""
    context["dod_stub"].calls.reset()
    context["dod_stub"].reset()  # also forgets the passthrough, which the HTTP mode needs for the rig
    context["dod_stub"].add_passthru(re.compile(r"https?://(127\.0\.0\.1|localhost|\[::1\])"))


@then(parsers.parse("deliveryodata received, in order: {calls}"))
def deliveryodata_calls(context: dict[str, Any], calls: str) -> None:
    """The stub saw exactly these method + path calls."""
    stub: responses.RequestsMock = context["dod_stub"]
    got = [f"{c.request.method} {c.request.url.replace(DOD_ROOT, '')}" for c in stub.calls]  # type: ignore[union-attr]
    wanted = [c.strip() for c in calls.split(",")]
    assert got == wanted, f"deliveryodata saw {got}"


@then("deliveryodata received no call")
def deliveryodata_no_calls(context: dict[str, Any]) -> None:
    """The stub saw nothing."""
    stub: responses.RequestsMock = context["dod_stub"]
    assert len(stub.calls) == 0, [c.request.url for c in stub.calls]  # type: ignore[union-attr]


@then("deliveryodata received the Appointment, the Basic credentials and the candidate URL")
def deliveryodata_bodies(context: dict[str, Any]) -> None:
    """The Appointment names the attempt and reservation; the PATCH carries the begin's url."""
    stub: responses.RequestsMock = context["dod_stub"]
    post, _get, patch = (c.request for c in stub.calls)  # type: ignore[union-attr]
    appointment = json.loads(post.body or b"{}")
    begun_url = context["response"].json()["data"]["url"]
    assert appointment["AttemptID"] == 12 and appointment["AppointmentStartUtc"].endswith("Z"), appointment
    assert appointment["ExternalID"] == str(context["proctoru"]["aliases"]["r1"]), appointment
    assert post.headers["Authorization"] == "Basic ZXhhbXJpZzpleGFtcmln", post.headers
    assert json.loads(patch.body or b"{}") == {"ParticipantFacingProctorSystemWidgetUrl": begun_url}
    assert context["proctoru_link"]["proctor_widget_url"] == context["dod_widget"]



# -- examrig's own deliveryodata mock as the peer ------------------------------------------------


def _reservation_state(rig: Rig, tenant: str, context: dict[str, Any], alias: str) -> dict[str, Any]:
    number = _pu(context)["aliases"][alias]
    response = rig.admin("proctoru", "GET", f"state/reservations/{number}", tenant=tenant)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


@given("proctoru reaches examrig's deliveryodata mock")
def proctoru_real_deliveryodata(rig: Rig) -> None:
    """Both are examrig's mocks, and proctoru's deliveryodata peer is the deliveryodata of this run."""
    if not (rig.is_mock("proctoru") and rig.is_mock("deliveryodata")):
        unsupported("the link is observed through both mocks' admin doors, not a target's")
    peer = rig.runtime.topology.get("deliveryodata", "").rstrip("/")
    assert peer == rig.url("deliveryodata"), f"proctoru's deliveryodata peer is {peer!r}"


@given(parsers.parse('a proctoru reservation "{alias}" for the deliveryodata attempt made with:'))
def proctoru_reservation_for_attempt(rig: Rig, tenant: str, context: dict[str, Any], alias: str,
                                     docstring: str) -> None:
    """addAdHocProcess carrying the scenario's deliveryodata attempt (``deliveryodata_attempt_id``)."""
    form = {**_form(context, docstring), "deliveryodata_attempt_id": str(context["attempt"])}
    body = _send(rig, tenant, context, "POST", "addAdHocProcess", form).json()
    assert body["response_code"] == 1, body
    _pu(context)["aliases"][alias] = body["data"]["reservation_no"]


@then(parsers.parse('the deliveryodata answer holds the proctoru {what} of "{alias}" in "{path}"'))
def deliveryodata_holds(rig: Rig, tenant: str, context: dict[str, Any], what: str, alias: str, path: str) -> None:
    """A field of deliveryodata's last JSON answer is the reservation's ``candidate URL`` or ``reservation number``."""
    state = _reservation_state(rig, tenant, context, alias)
    expected = {"candidate URL": state["session_url"], "reservation number": str(state["reservation_no"])}[what]
    assert expected, state
    data: Any = context["response"].json()
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    assert data == expected, f"{path}: {data!r}, expected {expected!r}"


@given(parsers.parse('the proctor holds the proctor widget URL proctoru obtained for "{alias}"'))
def proctoru_proctor_widget(rig: Rig, tenant: str, context: dict[str, Any], alias: str) -> None:
    """The ProctorFacingQMControlsWidgetUrl proctoru kept on the reservation, for the scenario's attempt."""
    link = _reservation_state(rig, tenant, context, alias)["deliveryodata"]
    url = link["proctor_widget_url"]
    assert isinstance(url, str) and f"/proctorwidget/Index/{context['attempt']}?" in url, link
    assert "role=proctor" in url, url
    context["proctor_url"] = url


@then(parsers.parse('the proctoru reservation "{alias}" deliveryodata error contains "{text}"'))
def proctoru_link_error(rig: Rig, tenant: str, context: dict[str, Any], alias: str, text: str) -> None:
    """Why the link failed, as recorded on the reservation."""
    link = _reservation_state(rig, tenant, context, alias)["deliveryodata"]
    assert text in (link["error"] or ""), link


# -- HTTPS ---------------------------------------------------------------------------------------


@given("the proctoru mock is also served over HTTPS with a generated self-signed certificate")
def proctoru_https(rig: Rig, context: dict[str, Any], tmp_path: Path, cleanups: list[Callable[[], None]]) -> None:
    """The run's proctoru app (same state) on a loopback HTTPS port, with ``mocks.core.tls.self_signed``."""
    if not rig.is_mock("proctoru"):
        unsupported("HTTPS is examrig's way of serving its own proctoru mock, not a target")
    cert, key = self_signed(tmp_path)
    served = bind("proctoru", rig.apps["proctoru"], "127.0.0.1", 0, threads=2, tls=(str(cert), str(key)))
    start(served)
    cleanups.append(lambda: stop(served))
    _pu(context)["https"] = (served.url, cert)


@when(parsers.parse('the proctoru client sends {method} "{endpoint}" over HTTPS trusting the certificate with:'))
def proctoru_send_https(tenant: str, context: dict[str, Any], method: str, endpoint: str, docstring: str) -> None:
    """A form request to the HTTPS URL, verifying the server against the generated certificate only."""
    url, cert = _pu(context)["https"]
    assert url.startswith("https://127.0.0.1:"), url
    form = _form(context, docstring)
    now = _pu(context).get("now")
    if now is not None:
        form.setdefault("time_sent", now.replace(tzinfo=None).isoformat(timespec="microseconds"))
    context["response"] = requests.request(method, f"{url}/api/{endpoint}", data=form, verify=str(cert),
                                           headers={"Authorization-Token": DEFAULT_TOKEN,
                                                    "X-Examrig-Tenant": tenant}, timeout=30)


@then("a client trusting only the system certificates cannot reach the proctoru HTTPS URL")
def proctoru_https_untrusted(tenant: str, context: dict[str, Any]) -> None:
    """The certificate is self-signed: default verification refuses it."""
    url, _cert = _pu(context)["https"]
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{url}/api/getTimeZoneList", headers={"Authorization-Token": DEFAULT_TOKEN}, timeout=30)


@then("a plain HTTP request to the proctoru HTTPS port gets no proctoru answer")
def proctoru_https_plain(context: dict[str, Any]) -> None:
    """Only TLS is spoken there."""
    url, _cert = _pu(context)["https"]
    try:
        response = requests.get(url.replace("https://", "http://", 1) + "/api/getTimeZoneList", timeout=30)
    except requests.exceptions.ConnectionError:
        return
    assert response.status_code == 400 and "response_code" not in response.text, response.text[:200]


# -- moveReservation, autoLogin ------------------------------------------------------------------


@then(parsers.parse('the proctoru answer\'s reservation_no is remembered as "{alias}"'))
def proctoru_remember(context: dict[str, Any], alias: str) -> None:
    """Keep ``data.reservation_no`` of the last answer as ``$alias``."""
    number = context["response"].json()["data"]["reservation_no"]
    assert isinstance(number, int), number
    _pu(context)["aliases"][alias] = number


@then(parsers.parse('the proctoru answer data url is the order URL of "{alias}"'))
def proctoru_order_url(context: dict[str, Any], alias: str) -> None:
    """``…/students/order?login_token=…&reservation_no=<Ruby base64 of the number, newline %0A>`` (the fixture's)."""
    number = _pu(context)["aliases"][alias]
    url = context["response"].json()["data"]["url"]
    encoded = base64.b64encode(str(number).encode()).decode().replace("=", "%3D") + "%0A"
    assert url.startswith("https://demo.proctoru.com/students/order?login_token="), url
    assert url.endswith(f"&reservation_no={encoded}"), url


@then(parsers.parse('the proctoru answer data field "{path}" starts with "{prefix}"'))
def proctoru_data_prefix(context: dict[str, Any], path: str, prefix: str) -> None:
    """A text field under ``data`` starts with ``prefix`` and goes on."""
    data: Any = context["response"].json()["data"]
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    assert isinstance(data, str) and data.startswith(prefix) and len(data) > len(prefix), data
