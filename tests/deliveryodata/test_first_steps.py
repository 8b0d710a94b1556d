"""Issue 18, the lobby and proctor side: an unknown control is 404, messages show JSON values, AddTime names
Minutes, every change of an attempt sets LastModifiedDateTime, the lobby URL's lifetime is a bounded option."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.test import Client

from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.deliveryodata.config import ConfigError, load_config
from mocks.deliveryodata.service import Service

T, C = "t", "400449"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode(), "X-Examrig-Tenant": T}
TENANT = {"X-Examrig-Tenant": T}
NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


@pytest.fixture
def service(tmp_path: Path) -> Service:
    svc = Service(Runtime.create(Settings(seed=1, data_dir=str(tmp_path)), db="sqlite://"))
    svc.clock.freeze(T, NOW)
    svc.model.seed(T, C, "participants", [{"ID": 987654321}])
    svc.model.seed(T, C, "assessments", [{"ID": "1234567890876543", "Language": "en-US"}])
    return svc


def _local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def attempt(service: Service, *, list_id: int | None = None) -> dict[str, Any]:
    """A locked attempt, read once: its ID and fresh lobby and proctor URLs (paths with the signed query)."""
    client = Client(service)
    body: dict[str, Any] = {"ExternalAttemptID": f"x-{list_id}", "ParticipantID": 987654321,
                            "AssessmentID": "1234567890876543", "LockRequired": True, "LockStatus": True}
    if list_id is not None:
        body["AttemptListID"] = list_id
    made = client.post(f"/deliveryodata/{C}/Attempts", json=body, headers=AUTH)
    assert made.status_code == 201, made.get_data(as_text=True)
    read = client.get(f"/deliveryodata/{C}/Attempts({made.get_json()['ID']})", headers=AUTH).get_json()
    return {"ID": read["ID"], "lobby": _local(read["ParticipantFacingQMLobbyUrl"]),
            "proctor": _local(read["ProctorFacingQMControlsWidgetUrl"])}


def control(proctor: str, action: str) -> str:
    return proctor.replace("/proctorwidget/Index/", f"/proctorwidget/{action}/")


def test_an_unknown_control_is_404_naming_it_and_a_known_one_by_get_is_405(service: Service) -> None:
    client = Client(service)
    a = attempt(service)
    for method in ("POST", "GET"):
        response = client.open(control(a["proctor"], "Reboot"), method=method, headers=TENANT)
        assert response.status_code == 404, (method, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert error["code"] == "unknown_action" and "'Reboot'" in error["message"] and error["field"] == "action"
    assert client.get(control(a["proctor"], "Unlock"), headers=TENANT).status_code == 405
    assert client.post(a["proctor"], headers=TENANT).status_code == 405  # Index is read with GET
    assert client.get(a["proctor"], headers=TENANT).get_json()["LockStatus"] is True  # nothing was changed
    assert client.post(control(a["proctor"], "Unlock"), headers=TENANT).get_json()["LockStatus"] is False


def test_an_unknown_control_through_the_list_url_and_the_page_is_404_too(service: Service) -> None:
    client = Client(service)
    made = client.post(f"/deliveryodata/{C}/AttemptLists", json={"ExternalAttemptListID": "l-1"}, headers=AUTH)
    list_id = made.get_json()["ID"]
    a = attempt(service, list_id=list_id)
    url = _local(client.get(f"/deliveryodata/{C}/AttemptLists({list_id})", headers=AUTH)
                 .get_json()["ProctorFacingQMControlsUrl"])
    path, _, query = url.partition("?")
    bogus = f"{path.replace('/Index/', '/Reboot/')}/{a['ID']}?{query}"
    response = client.post(bogus, headers=TENANT)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown_action"
    assert client.get(f"{path.replace('/Index/', '/Unlock/')}/{a['ID']}?{query}", headers=TENANT).status_code == 405
    # a browser's form post to the widget's page gets the 404 as a page, and a GET of a control changes nothing
    page = client.post(control(a["proctor"], "Reboot"), data={"csrf": "x"}, headers=TENANT)
    assert page.status_code == 404 and page.mimetype == "text/html"
    html = client.get(control(a["proctor"], "Unlock"), headers={**TENANT, "Accept": "text/html"})
    assert html.status_code == 405
    assert client.get(a["proctor"], headers=TENANT).get_json()["LockStatus"] is True


@pytest.mark.parametrize(("body", "shown"), [
    ({"Session": True}, "true"), ({"Session": None, "UnlockCode": 5}, "5"), ({"Session": ["s"]}, '["s"]'),
    ({"Session": None, "UnlockCode": {"a": None}}, '{"a": null}')])
def test_lobby_errors_show_json_values(service: Service, body: dict[str, Any], shown: str) -> None:
    a = attempt(service)
    response = Client(service).post(f"/lobby/{C}/lobby/Start/{a['ID']}", json=body, headers=TENANT)
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert f"value {shown} " in message, message
    for python in ("True", "None", "'"):
        assert python not in message.replace("'Edm.String'", "").replace("'Session'", "").replace(
            "'UnlockCode'", ""), message


@pytest.mark.parametrize(("minutes", "shown"), [(None, "null"), ("ten", '"ten"'), (True, "true"), (0, "0"),
                                                (2**31, "2147483648")])
def test_add_time_refusals_name_minutes_as_the_wire_has_it(service: Service, minutes: Any, shown: str) -> None:
    client = Client(service)
    a = attempt(service)
    client.post(control(a["proctor"], "Unlock"), headers=TENANT)
    session = client.get(a["lobby"], headers=TENANT).get_json()["Session"]
    client.post(control(a["proctor"], "Unlock"), headers=TENANT)  # entering re-locked it
    assert client.post(f"/lobby/{C}/lobby/Start/{a['ID']}", json={"Session": session}, headers=TENANT)\
        .status_code == 200
    response = client.post(control(a["proctor"], "AddTime"), json={"Minutes": minutes}, headers=TENANT)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == "Minutes" and "'Minutes'" in error["message"] and f"value {shown} " in error["message"]
    assert "minutes" not in error["message"].replace("Minutes", "")


def test_odata_refusals_show_json_values_too(service: Service) -> None:
    response = Client(service).post(f"/deliveryodata/{C}/Attempts", headers=AUTH, json={
        "ExternalAttemptID": "v-1", "ParticipantID": "lots", "AssessmentID": "1234567890876543"})
    message = response.get_json()["odata.error"]["message"]["value"]
    assert response.status_code == 400 and 'value "lots" ' in message, message


def test_every_change_of_an_attempt_sets_last_modified(service: Service) -> None:
    client = Client(service)
    a = attempt(service)

    def modified() -> str:
        found: str = client.get(f"/deliveryodata/{C}/Attempts({a['ID']})", headers=AUTH)\
            .get_json()["LastModifiedDateTime"]
        return found

    assert modified() == "2026-03-02T09:00:00Z"
    service.clock.freeze(T, NOW + timedelta(seconds=3))
    session = client.get(a["lobby"], headers=TENANT).get_json()["Session"]
    assert modified() == "2026-03-02T09:00:00Z"  # entering a locked lobby changes nothing
    service.clock.freeze(T, NOW + timedelta(seconds=5))
    client.post(control(a["proctor"], "Unlock"), headers=TENANT)
    assert modified() == "2026-03-02T09:00:05Z"
    service.clock.freeze(T, NOW + timedelta(seconds=9))
    started = client.post(f"/lobby/{C}/lobby/Start/{a['ID']}", json={"Session": session}, headers=TENANT)
    assert started.status_code == 200 and started.get_json()["ResultID"] is not None
    assert modified() == "2026-03-02T09:00:09Z"
    state = client.get(f"/_examrig/state/attempts/{a['ID']}", headers=TENANT).get_json()
    assert state["attempt"]["LastModifiedDateTime"] == "2026-03-02T09:00:09Z"


def test_the_lobby_url_lifetime_is_a_bounded_option_and_the_expiry_says_so(tmp_path: Path) -> None:
    assert load_config({}, "s").lobby_ttl == 60
    assert load_config({"lobby_url_ttl": 600}, "s").lobby_ttl == 600
    assert load_config({"lobby_url_ttl": "900"}, "s").lobby_ttl == 900  # as `--option deliveryodata.…=900` gives it
    for bad in (0, -5, 86401, "soon", True, float("inf"), float("nan")):
        with pytest.raises(ConfigError) as caught:
            load_config({"lobby_url_ttl": bad}, "s")
        assert "lobby_url_ttl" in str(caught.value) and "True" not in str(caught.value)

    svc = Service(Runtime.create(Settings(seed=1, data_dir=str(tmp_path)), db="sqlite://"),
                  {"lobby_url_ttl": 600})
    svc.clock.freeze(T, NOW)
    svc.model.seed(T, C, "participants", [{"ID": 987654321}])
    svc.model.seed(T, C, "assessments", [{"ID": "1234567890876543", "Language": "en-US"}])
    client = Client(svc)
    first, second = attempt(svc), None
    svc.clock.freeze(T, NOW + timedelta(seconds=599))
    assert client.get(first["lobby"], headers=TENANT).status_code == 200  # 60 s would be long gone
    second = client.get(f"/deliveryodata/{C}/Attempts({first['ID']})", headers=AUTH).get_json()
    svc.clock.freeze(T, NOW + timedelta(seconds=599 + 601))
    expired = client.get(_local(second["ParticipantFacingQMLobbyUrl"]), headers=TENANT)
    assert expired.status_code == 403
    message = expired.get_json()["error"]["message"]
    assert "valid for 600 seconds" in message and "lobby_url_ttl" in message, message


def test_serve_refuses_a_lobby_lifetime_out_of_bounds_in_one_line_exit_2(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from conformance import cli
    code = cli.main(["serve", "deliveryodata", "--port", "0", "--data-dir", str(tmp_path), "--db", "sqlite://",
                     "--option", "deliveryodata.lobby_url_ttl=100000"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "lobby_url_ttl" in err and "at most 86400" in err and "Traceback" not in err
