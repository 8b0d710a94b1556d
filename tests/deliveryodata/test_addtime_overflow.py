"""Issue 12: AddTime Minutes and Results ExtraTime past Int32 on a started attempt: a 400 naming it, nothing kept."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.test import Client

from mocks import registry
from mocks.core.app import Runtime, ServiceApp

AUTH = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode()}
ROOT = "/deliveryodata/400449"
PAST_INT32 = 2**31  # 2147483648: ExtraTime is an Edm.Int32


@pytest.fixture
def started() -> Iterator[tuple[ServiceApp, dict[str, Any]]]:
    """An attempt whose participant entered the lobby and started: its result is in progress."""
    runtime = Runtime.create(db="sqlite://")
    app = registry.build("deliveryodata", runtime)
    client = Client(app)
    assert client.post("/_examrig/seed", json={
        "participants": [{"ID": 987654321, "Name": "ada"}],
        "assessments": [{"ID": "1234567890876543", "Language": "en-US", "IsSecure": False}]}).status_code == 201
    created = client.post(f"{ROOT}/Attempts", headers=AUTH, content_type="application/json", data=json.dumps(
        {"ExternalAttemptID": "t-1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543"}))
    assert created.status_code == 201, created.get_data(as_text=True)
    # the signed URLs are written on GET (each read signs afresh)
    attempt = client.get(f"{ROOT}/Attempts({created.get_json()['ID']})", headers=AUTH).get_json()
    lobby = urlsplit(attempt["ParticipantFacingQMLobbyUrl"])
    entered = client.get(lobby.path, query_string=lobby.query)
    assert entered.status_code == 200, entered.get_data(as_text=True)
    start = client.post(f"/lobby/400449/lobby/Start/{attempt['ID']}", json={"Session": entered.get_json()["Session"]})
    assert start.status_code == 200, start.get_data(as_text=True)
    yield app, {**attempt, "ResultID": start.get_json()["ResultID"]}
    app.stop()
    runtime.store.dispose()


def extra_time(app: ServiceApp, result_id: int) -> Any:
    return Client(app).get(f"{ROOT}/Results({result_id})", headers=AUTH).get_json()["ExtraTime"]


def add_time(app: ServiceApp, attempt: dict[str, Any], minutes: object) -> Any:
    widget = urlsplit(attempt["ProctorFacingQMControlsWidgetUrl"])
    return Client(app).post(f"/lobby/400449/proctorwidget/AddTime/{attempt['ID']}", query_string=widget.query,
                            json={"Minutes": minutes})


def test_the_proctor_control_refuses_minutes_past_int32(started: tuple[ServiceApp, dict[str, Any]]) -> None:
    app, attempt = started
    refused = add_time(app, attempt, PAST_INT32)
    assert refused.status_code == 400 and "minutes" in refused.get_data(as_text=True).lower()
    assert extra_time(app, attempt["ResultID"]) == 0
    # the sum is held inside Int32 too: 5 minutes, then the largest Int32, is refused and 5 stays
    assert add_time(app, attempt, 5).status_code == 200
    assert add_time(app, attempt, 2**31 - 1).status_code == 400
    assert extra_time(app, attempt["ResultID"]) == 5


@pytest.mark.parametrize("value", [PAST_INT32, -1, str(PAST_INT32)])
def test_odata_results_extra_time_past_int32_is_refused(started: tuple[ServiceApp, dict[str, Any]],
                                                        value: object) -> None:
    app, attempt = started
    response = Client(app).patch(f"{ROOT}/Results({attempt['ResultID']})", headers=AUTH,
                                 content_type="application/json", data=json.dumps({"ExtraTime": value}))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "ExtraTime" in response.get_json()["odata.error"]["message"]["value"]
    assert extra_time(app, attempt["ResultID"]) == 0
    served = Client(app).patch(f"{ROOT}/Results({attempt['ResultID']})", headers=AUTH,
                               content_type="application/json", data=json.dumps({"ExtraTime": 2**31 - 1}))
    assert served.status_code == 204 and extra_time(app, attempt["ResultID"]) == 2**31 - 1
