"""Issue 12: proctoru's stored strings are bounded by the documented limits, else by their columns' widths."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.proctoru.models import DEFAULT_TOKEN
from mocks.proctoru.views import MAX_LEN

HEADERS = {"Authorization-Token": DEFAULT_TOKEN}
FORM = {"student_id": "s-1", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
        "time_zone_id": "Eastern Standard Time", "reservation_id": "r-1", "takeitnow": "Y", "duration": "30"}


@pytest.fixture
def app() -> Iterator[ServiceApp]:
    runtime = Runtime.create(db="sqlite://")
    built = registry.build("proctoru", runtime)
    yield built
    built.stop()
    runtime.store.dispose()


@pytest.mark.parametrize(("field", "limit"), [("notes", 4000), ("state", 255), ("zipcode", 255),
                                              ("description", 255), ("first_name", 50)])
def test_a_string_over_its_limit_is_refused_naming_the_field(app: ServiceApp, field: str, limit: int) -> None:
    assert MAX_LEN[field] == limit
    client = Client(app)
    body = client.post("/api/addAdHocProcess", data={**FORM, field: "x" * (limit + 1)}, headers=HEADERS).get_json()
    assert body["response_code"] != 1 and body["field"] == field, body
    assert f"longer than {limit} characters" in body["message"]
    # nothing was booked; at the limit it is taken
    assert client.post("/api/getStudentReservationList", data={"student_id": "s-1"},
                       headers=HEADERS).get_json()["data"] in ([], None)
    taken = client.post("/api/addAdHocProcess", data={**FORM, field: "x" * limit}, headers=HEADERS).get_json()
    assert taken["response_code"] == 1, taken


def test_seeded_institutions_are_bounded_by_their_columns(app: ServiceApp) -> None:
    response = Client(app).post("/_examrig/seed", json={"institutions": [
        {"token": "t" * 101, "institution": "i"}]})
    assert response.status_code == 400 and "institutions[0].token" in response.get_data(as_text=True)
