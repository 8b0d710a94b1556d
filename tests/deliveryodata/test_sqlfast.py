"""The precompiled hot-path statements give what SQLAlchemy gives, on a file database and in memory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mocks.core.clock import Clock
from mocks.core.ids import IdSource
from mocks.core.store import IntegrityError, Store
from mocks.deliveryodata import errors as e
from mocks.deliveryodata.config import load_config
from mocks.deliveryodata.models import DeliveryOData
from mocks.deliveryodata.sqlfast import read_one

T, C = "t", "400449"
NOW = datetime(2026, 3, 2, 9, 0, 12, 345000, tzinfo=UTC)


def _model(url: str) -> DeliveryOData:
    store = Store(url)
    clock = Clock()
    clock.freeze(T, NOW)
    model = DeliveryOData(store, clock, IdSource(3), load_config({}, "secret"))
    store.create_all()
    model.seed(T, C, "participants", [{"ID": 1}])
    model.seed(T, C, "assessments", [{"ID": "100000001", "IsSecure": True}])
    return model


@pytest.fixture(params=["file", "memory"])
def model(request: pytest.FixtureRequest, tmp_path: Path) -> DeliveryOData:
    return _model(f"sqlite:///{tmp_path / 'f.db'}" if request.param == "file" else "sqlite://")


def test_launch_read_matches_sqlalchemy(model: DeliveryOData) -> None:
    created = model.create_attempt(T, C, {"ExternalAttemptID": "x-1", "ParticipantID": 1, "AssessmentID": "100000001",
                                          "UnlockCode": "AB12", "LockRequired": True})
    fast = read_one(model.store, model._prep("launch"), {"t": T, "c": C, "k": created["ID"]})
    a = model.t["Attempts"]
    with model.store.read() as conn:
        slow = conn.execute(select(a).where(a.c.tenant == T, a.c["ID"] == created["ID"])).mappings().one()
    assert fast is not None
    # the entity's properties in the CSDL's order (the row is the entity), then the two launch flags; the
    # table's own columns (tenant, customer, _session) are not read
    props = list(model.csdl.set_type("Attempts").properties)
    assert list(fast) == [*props, "IsSecure", "RequireQSB"]
    assert {k: fast[k] for k in props} == {k: slow[k] for k in props}
    # types as SQLAlchemy's processors give them: booleans, datetimes, Int64
    assert fast["LockRequired"] is True and fast["IsSecure"] is True and fast["RequireQSB"] is None
    assert isinstance(fast["LastModifiedDateTime"], datetime) and fast["AssessmentID"] == 100000001
    assert read_one(model.store, model._prep("launch"), {"t": T, "c": C, "k": 999}) is None
    assert read_one(model.store, model._prep("launch"), {"t": "other", "c": C, "k": created["ID"]}) is None


def test_counter_and_inserts_run_in_the_callers_transaction(model: DeliveryOData) -> None:
    first = model.create_attempt(T, C, {"ExternalAttemptID": "x-1", "ParticipantID": 1, "AssessmentID": "100000001"})
    second = model.create_attempt(T, C, {"ExternalAttemptID": "x-2", "ParticipantID": 1, "AssessmentID": "100000001"})
    assert (first["ID"], second["ID"]) == (1, 2)
    # a failed POST rolls back its counter step and rows: the next attempt takes the next number
    with pytest.raises(e.Duplicate):
        model.create_attempt(T, C, {"ExternalAttemptID": "x-2", "ParticipantID": 1, "AssessmentID": "100000001"})
    third = model.create_attempt(T, C, {"ExternalAttemptID": "x-3", "ParticipantID": 1, "AssessmentID": "100000001"})
    assert third["ID"] == 3
    assert [r["Event"] for r in model.audit_rows(T, C, 3)] == ["AttemptCreated"]


def test_dbapi_integrity_errors_surface_as_sqlalchemys(model: DeliveryOData) -> None:
    model.create_attempt(T, C, {"ExternalAttemptID": "x-1", "ParticipantID": 1, "AssessmentID": "100000001"})
    row = {p: None for p in model.csdl.set_type("Attempts").properties}
    row.update(ID=50, ExternalAttemptID="x-1", ParticipantID=1, AssessmentID=100000001, LockStatus=False,
               LockRequired=False, Disabled=False, LastModifiedDateTime=NOW)
    with pytest.raises(IntegrityError), model.store.begin() as conn:
        model._prep("insert_attempt").run(conn, {**row, "tenant": T, "customer": C, "_session": None})
