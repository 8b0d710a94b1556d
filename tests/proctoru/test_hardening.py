"""Issue 12: proctoru values at the boundary (integers, year-9999 dates, deep JSON) never reach a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from werkzeug.test import Client

from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.proctoru.models import DEFAULT_TOKEN

HEADERS = {"Authorization-Token": DEFAULT_TOKEN}


@pytest.fixture(scope="module")
def app() -> Iterator[ServiceApp]:
    runtime = Runtime.create(db="sqlite://")
    built = registry.build("proctoru", runtime)
    yield built
    built.stop()
    runtime.store.dispose()


@pytest.mark.parametrize(("form", "field"), [
    ({"time_zone_id": "Eastern Standard Time", "start_date": "9999-12-31T23:00:00Z"}, "start_date"),
    ({"time_zone_id": "Eastern Standard Time", "start_date": "0001-01-01T00:00:00Z"}, "start_date"),
    ({"time_zone_id": "Eastern Standard Time", "start_date": "2026-03-02T09:00:00Z",
      "duration": "99999999999999999999999"}, "duration"),
    ({"time_zone_id": "Eastern Standard Time", "start_date": "2026-03-02T09:00:00Z", "duration": "2147483647"},
     "duration"),
])
def test_out_of_range_values_are_refused_naming_the_field(app: ServiceApp, form: dict[str, str], field: str) -> None:
    response = Client(app).post("/api/getScheduleInfoAvailableTimesList", data=form, headers=HEADERS)
    body = response.get_json()
    assert response.status_code < 500 and body["response_code"] != 1, body
    assert body.get("field") == field, body


def test_deep_json_is_refused_in_proctorus_envelope(app: ServiceApp) -> None:
    response = Client(app).post("/api/getTimeZoneList", data=b"[" * 100_000, content_type="application/json",
                                headers=HEADERS)
    body = response.get_json()
    assert response.status_code < 500 and body["field"] == "body" and "deeper than 64" in body["message"]
