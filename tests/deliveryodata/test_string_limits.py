"""DOD-LEN-001 (issue 12): strings longer than their assumed limit are refused at the boundary, naming the property."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.deliveryodata.models import NAME_MAX_LENGTH, TEXT_MAX_LENGTH, URL_MAX_LENGTH, string_max_length

REQUIREMENTS = ("DOD-LEN-001",)
AUTH = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode()}
ROOT = "/deliveryodata/400449"
ATTEMPT = {"ExternalAttemptID": "len-1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543"}


@pytest.fixture
def app() -> Iterator[ServiceApp]:
    runtime = Runtime.create(db="sqlite://")
    built = registry.build("deliveryodata", runtime)
    client = Client(built)
    seeded = client.post("/_examrig/seed", json={
        "participants": [{"ID": 987654321, "Name": "ada"}],
        "assessments": [{"ID": "1234567890876543", "Language": "en-US", "IsSecure": False}]})
    assert seeded.status_code == 201, seeded.get_data(as_text=True)
    yield built
    built.stop()
    runtime.store.dispose()


def send(app: ServiceApp, method: str, path: str, body: dict[str, Any]) -> Any:
    return Client(app).open(ROOT + path, method=method, data=json.dumps(body), headers=AUTH,
                            content_type="application/json")


def refusal(response: Any) -> str:
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    message: str = response.get_json()["odata.error"]["message"]["value"]
    return message


def test_the_limits_are_the_documented_ones() -> None:
    assert string_max_length("ParticipantFacingProctorSystemWidgetUrl") == URL_MAX_LENGTH == 4096
    assert string_max_length("ExternalAttemptID") == 64 and string_max_length("Name") == NAME_MAX_LENGTH == 256
    assert string_max_length("ExternalAppointmentData") == TEXT_MAX_LENGTH == 4000


def test_a_two_megabyte_widget_url_is_refused_and_not_stored(app: ServiceApp) -> None:
    created = send(app, "POST", "/Attempts", ATTEMPT)
    assert created.status_code == 201
    key = created.get_json()["ID"]
    url = "https://proctor.example/" + "a" * (2 * 1024 * 1024)
    message = refusal(send(app, "PATCH", f"/Attempts({key})", {"ParticipantFacingProctorSystemWidgetUrl": url}))
    assert message == ("The field ParticipantFacingProctorSystemWidgetUrl must be a string with a maximum length "
                       "of 4096.")
    stored = Client(app).get(f"{ROOT}/Attempts({key})", headers=AUTH).get_json()
    assert stored["ParticipantFacingProctorSystemWidgetUrl"] is None
    # at the limit it is taken
    exact = "https://proctor.example/" + "a" * (URL_MAX_LENGTH - len("https://proctor.example/"))
    assert send(app, "PATCH", f"/Attempts({key})",
                {"ParticipantFacingProctorSystemWidgetUrl": exact}).status_code == 204
    stored = Client(app).get(f"{ROOT}/Attempts({key})", headers=AUTH).get_json()
    assert stored["ParticipantFacingProctorSystemWidgetUrl"] == exact


@pytest.mark.parametrize(("path", "body", "field", "limit"), [
    ("/Attempts", {**ATTEMPT, "ParticipantSystemCheckUrl": "h" * 4097}, "ParticipantSystemCheckUrl", 4096),
    ("/Attempts", {**ATTEMPT, "Language": "e" * 36}, "Language", 35),
    ("/AttemptLists", {"ExternalAttemptListID": "l" * 65}, "ExternalAttemptListID", 64),
    ("/Appointments", {"AttemptID": 1, "AppointmentStartUtc": "2026-03-02T09:00:00Z", "ExternalAppointmentData":
                       "d" * 4001}, "ExternalAppointmentData", 4000),
    ("/Appointments", {"AttemptID": 1, "AppointmentStartUtc": "2026-03-02T09:00:00Z", "TimeZoneID": "z" * 129},
     "TimeZoneID", 128),
])
def test_each_kind_of_string_is_bounded_at_post(app: ServiceApp, path: str, body: dict[str, Any], field: str,
                                                limit: int) -> None:
    message = refusal(send(app, "POST", path, body))
    assert message == f"The field {field} must be a string with a maximum length of {limit}."
    listed = Client(app).get(f"{ROOT}{path}", headers=AUTH).get_json()
    assert listed["value"] == []


def test_seed_data_is_bounded_too(app: ServiceApp) -> None:
    response = Client(app).post("/_examrig/seed", json={"participants": [{"ID": 5, "Name": "n" * 257}]})
    assert response.status_code == 400
    assert "Name" in response.get_data(as_text=True) and "256" in response.get_data(as_text=True)
