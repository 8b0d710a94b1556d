"""Model tests for the Appointments rules: existing attempt, required start, types, per-area keys, delete."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.odata.csdl import load
from mocks.core.clock import Clock
from mocks.core.ids import IdSource
from mocks.core.store import Store
from mocks.deliveryodata import errors as e
from mocks.deliveryodata.config import load_config
from mocks.deliveryodata.models import DeliveryOData
from mocks.deliveryodata.odata import parse_options
from tests.dbs import store_url

T, C, OTHER = "t", "400449", "500500"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START = "2026-03-03T14:30:00Z"


def make() -> tuple[DeliveryOData, int]:
    store = Store(store_url())
    clock = Clock()
    clock.freeze(T, NOW)
    model = DeliveryOData(store, clock, IdSource(7), load_config({"customers": {C: {}, OTHER: {}}}, "secret"))
    store.create_all()
    for customer in (C, OTHER):
        model.seed(T, customer, "participants", [{"ID": 987654321}])
        model.seed(T, customer, "assessments", [{"ID": "1234567890876543"}])
    attempt = model.create_attempt(T, C, {"ExternalAttemptID": "a-1", "ParticipantID": 987654321,
                                          "AssessmentID": "1234567890876543"})
    return model, attempt["ID"]


def test_create_reads_back_with_server_id_and_typed_values() -> None:
    model, attempt = make()
    made = model.create_appointment(T, C, {"AttemptID": attempt, "AppointmentStartUtc": START, "ID": 77,
                                           "ExternalID": "pu-1", "AppointmentStart": "2026-03-03T14:30:00"})
    assert made["ID"] == 1  # ID is the server's (read-only, ignored)
    assert made["AppointmentStartUtc"] == datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
    got = model.get(T, C, "Appointments", made["ID"], [["Attempt"]])
    assert (got["AttemptID"], got["ExternalID"], got["Status"]) == (attempt, "pu-1", None)
    assert got["Attempt"]["ExternalAttemptID"] == "a-1"
    assert next(iter(got)) == "Attempt"  # expansions before the scalars
    second = model.create_appointment(T, C, {"AttemptID": attempt, "AppointmentStartUtc": START})
    assert second["ID"] == 2


@pytest.mark.parametrize(("body", "field", "error"), [
    ({"AppointmentStartUtc": START}, "AttemptID", e.Required),
    ({"AttemptID": None, "AppointmentStartUtc": START}, "AttemptID", e.Required),
    ({"AttemptID": 1}, "AppointmentStartUtc", e.Required),
    ({"AttemptID": 1, "AppointmentStartUtc": None}, "AppointmentStartUtc", e.Required),
    ({"AttemptID": 999, "AppointmentStartUtc": START}, "AttemptID", e.DanglingReference),
    ({"AttemptID": "one", "AppointmentStartUtc": START}, "AttemptID", e.InvalidValue),
    ({"AttemptID": 1, "AppointmentStartUtc": "3 March"}, "AppointmentStartUtc", e.InvalidValue),
    ({"AttemptID": 1, "AppointmentStartUtc": START, "Status": 3}, "Status", e.InvalidValue),
    ({"AttemptID": 1, "AppointmentStartUtc": START, "Room": "B"}, "Room", e.UnknownProperty),
])
def test_bad_appointments_are_refused_naming_the_field(body: dict[str, object], field: str,
                                                       error: type[Exception]) -> None:
    model, _ = make()
    with pytest.raises(error) as caught:
        model.create_appointment(T, C, body)
    assert getattr(caught.value, "field", None) == field
    assert model.query(T, C, "Appointments", parse_options({}, load(), "Appointments", single=False)).entities == []


def test_the_attempt_must_exist_in_the_same_customer_area_and_tenant() -> None:
    model, attempt = make()
    with pytest.raises(e.DanglingReference):
        model.create_appointment(T, OTHER, {"AttemptID": attempt, "AppointmentStartUtc": START})
    with pytest.raises(e.DanglingReference):
        model.create_appointment("other-tenant", C, {"AttemptID": attempt, "AppointmentStartUtc": START})


def test_delete_removes_once_and_only_in_its_area() -> None:
    model, attempt = make()
    made = model.create_appointment(T, C, {"AttemptID": attempt, "AppointmentStartUtc": START})
    with pytest.raises(e.EntityNotFound):
        model.delete_appointment(T, OTHER, made["ID"])
    with pytest.raises(e.EntityNotFound):
        model.delete_appointment("other-tenant", C, made["ID"])
    model.delete_appointment(T, C, made["ID"])
    with pytest.raises(e.EntityNotFound):
        model.get(T, C, "Appointments", made["ID"])
    with pytest.raises(e.EntityNotFound):
        model.delete_appointment(T, C, made["ID"])


def test_filter_by_attempt() -> None:
    model, attempt = make()
    other = model.create_attempt(T, C, {"ExternalAttemptID": "a-2", "ParticipantID": 987654321,
                                        "AssessmentID": "1234567890876543"})["ID"]
    for key in (attempt, other, other):
        model.create_appointment(T, C, {"AttemptID": key, "AppointmentStartUtc": START})
    opts = parse_options({"$filter": f"AttemptID eq {other}"}, load(), "Appointments", single=False)
    assert [a["AttemptID"] for a in model.query(T, C, "Appointments", opts).entities] == [other, other]
