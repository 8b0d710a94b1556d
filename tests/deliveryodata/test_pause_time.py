"""Time left stands still while the proctor pauses: the pause record on the result, on the tenant's frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, text

from mocks.core.clock import Clock
from mocks.core.ids import IdSource
from mocks.core.store import Store
from mocks.deliveryodata import signing
from mocks.deliveryodata.config import load_config
from mocks.deliveryodata.models import PAUSE_COLUMNS, DeliveryOData, seconds_left
from tests.dbs import store_url

REQUIREMENTS = ("DOD-PAGE-002",)
T, C = "t", "400449"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIMIT = 30  # minutes: the assessment's TimeLimit


def make(store: Store | None = None) -> DeliveryOData:
    store = store or Store(store_url())
    clock = Clock()
    clock.freeze(T, NOW)
    model = DeliveryOData(store, clock, IdSource(7), load_config({}, "secret"))
    store.create_all()
    model.upgrade()
    model.seed(T, C, "participants", [{"ID": 987654321, "Name": "ada"}])
    model.seed(T, C, "assessments", [{"ID": "1234567890876543", "Name": "Maths", "TimeLimit": LIMIT}])
    return model


def _presented(url: str) -> signing.Presented:
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    return signing.Presented(query["nonce"], query["timestamp"], query["role"], query["signature"])


class Exam:
    """One attempt whose candidate is in the lobby (started unless ``start`` is false): the candidate's session and
    the proctor's signed URL."""

    def __init__(self, model: DeliveryOData, external: str = "ext-1", *, locked: bool = False,
                 start: bool = True) -> None:
        self.model = model
        att = model.create_attempt(T, C, {"ExternalAttemptID": external, "ParticipantID": 987654321,
                                          "AssessmentID": "1234567890876543", "LockRequired": locked})
        self.key = int(att["ID"])
        urls = model.attempt_with_urls(T, C, self.key, "http://h")
        self.proctor_url = _presented(urls["ProctorFacingQMControlsWidgetUrl"])
        self.session = model.enter_lobby(T, C, self.key, _presented(urls["ParticipantFacingQMLobbyUrl"]))["Session"]
        self.result = 0
        if start:
            self.start()

    def start(self) -> dict[str, Any]:
        started = self.model.start(T, C, self.key, self.session, None)
        self.result = int(started["ResultID"])
        return started

    def proctor(self, action: str, minutes: int | None = None) -> dict[str, Any]:
        return self.model.proctor(T, C, self.key, self.proctor_url, action, minutes)

    def left(self) -> int | None:
        value: int | None = self.model.lobby_status(T, C, self.key, self.session)["SecondsLeft"]
        return value

    def advance(self, seconds: float) -> None:
        self.model.clock.advance(T, seconds=seconds)


def test_time_left_stands_still_while_paused_and_falls_again_after_resume() -> None:
    exam = Exam(make())
    assert exam.left() == LIMIT * 60
    exam.advance(60)
    assert exam.left() == LIMIT * 60 - 60
    exam.proctor("Pause")
    exam.advance(300)  # five minutes paused
    assert exam.left() == LIMIT * 60 - 60
    exam.proctor("Resume")
    assert exam.left() == LIMIT * 60 - 60
    exam.advance(45)
    assert exam.left() == LIMIT * 60 - 105
    # a second pause adds to the first
    exam.proctor("Pause")
    exam.advance(600)
    exam.proctor("Resume")
    exam.advance(15)
    assert exam.left() == LIMIT * 60 - 120


def test_time_added_while_paused_counts_at_once_and_the_pause_still_holds() -> None:
    exam = Exam(make())
    exam.advance(120)
    exam.proctor("Pause")
    exam.advance(60)
    exam.proctor("AddTime", 10)
    assert exam.left() == (LIMIT + 10) * 60 - 120
    exam.advance(240)
    assert exam.left() == (LIMIT + 10) * 60 - 120
    exam.proctor("Resume")
    exam.advance(30)
    assert exam.left() == (LIMIT + 10) * 60 - 150


def test_a_pause_through_odata_counts_and_termination_stops_the_clock() -> None:
    model = make()
    exam = Exam(model)
    exam.advance(100)
    model.update_result(T, C, exam.result, {"Status": 6})  # the OData PATCH pauses as the widget does
    exam.advance(500)
    assert exam.left() == LIMIT * 60 - 100
    exam.proctor("Terminate")  # from paused: the open pause is closed at WhenFinished
    exam.advance(1000)
    assert exam.left() == LIMIT * 60 - 100
    result = model.get(T, C, "Results", exam.result)
    assert not any(name.startswith("_") for name in result)  # the pause record is not an OData property
    with model.store.read() as conn:
        row = conn.execute(model.t["Results"].select()).mappings().one()
    assert (row["_paused_at"], row["_paused_seconds"]) == (None, 500)


def test_seconds_left_without_a_start_or_a_limit_is_none_and_never_below_zero() -> None:
    result = {"WhenStarted": NOW, "WhenFinished": None, "ExtraTime": 0, "_paused_at": None, "_paused_seconds": None}
    assert seconds_left(None, LIMIT, NOW) is None
    assert seconds_left({**result, "WhenStarted": None}, LIMIT, NOW) is None
    assert seconds_left(result, None, NOW) is None
    assert seconds_left(result, 1, datetime(2026, 3, 2, 10, 0, tzinfo=UTC)) == 0


def test_an_older_database_gets_the_pause_columns(tmp_path: Any) -> None:
    store = Store(store_url(f"sqlite:///{tmp_path / 'old.db'}"))
    old = make(store)
    results = old.t["Results"].name
    for name, _kind in PAUSE_COLUMNS:  # as a database made before the pause record existed
        with store.begin() as conn:
            conn.execute(text(f'ALTER TABLE {results} DROP COLUMN "{name}"'))
    assert not {n for n, _ in PAUSE_COLUMNS} & {c["name"] for c in inspect(store.engine).get_columns(results)}
    model = make(store)  # upgrade() at start adds them
    assert {n for n, _ in PAUSE_COLUMNS} <= {c["name"] for c in inspect(store.engine).get_columns(results)}
    exam = Exam(model, "after-upgrade")
    exam.proctor("Pause")
    exam.advance(60)
    assert exam.left() == LIMIT * 60
    store.dispose()
