"""The model calls behind the lobby and delivery pages: ``lobby_status`` (the pages' polling read) and ``finish``."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from mocks.deliveryodata import errors as e
from mocks.deliveryodata.models import FINISHED_BY_USER
from tests.deliveryodata.test_pause_time import LIMIT, NOW, C, Exam, T, make

REQUIREMENTS = ("DOD-PAGE-001",)


def test_lobby_status_before_and_after_the_start() -> None:
    exam = Exam(make(), locked=True, start=False)
    waiting = exam.model.lobby_status(T, C, exam.key, exam.session)
    assert (waiting["LockStatus"], waiting["ResultID"], waiting["ResultStatus"], waiting["SecondsLeft"]) == \
        (True, None, None, None)
    assert (waiting["AssessmentName"], waiting["TimeLimit"], waiting["ParticipantName"]) == ("Maths", LIMIT, "ada")
    assert "Session" not in waiting  # the polling read never hands the session out again
    exam.proctor("Unlock")
    assert exam.model.lobby_status(T, C, exam.key, exam.session)["LockStatus"] is False
    started = exam.start()
    running = exam.model.lobby_status(T, C, exam.key, exam.session)
    assert (running["ResultID"], running["ResultStatus"], running["SecondsLeft"]) == \
        (started["ResultID"], 1, LIMIT * 60)


@pytest.mark.parametrize("session", [None, "", "not-the-session"])
def test_lobby_status_needs_the_lobby_session(session: str | None) -> None:
    exam = Exam(make())
    with pytest.raises(e.SessionInvalid):
        exam.model.lobby_status(T, C, exam.key, session)


def test_lobby_status_of_an_unknown_attempt_is_not_found() -> None:
    with pytest.raises(e.EntityNotFound):
        make().lobby_status(T, C, 99, "whatever")


def test_finish_completes_the_result() -> None:
    model = make()
    exam = Exam(model)
    exam.advance(754)
    state = model.finish(T, C, exam.key, exam.session)
    assert state["ResultStatus"] == FINISHED_BY_USER == 5
    result = model.get(T, C, "Results", exam.result)
    assert (result["Status"], result["StillGoing"], result["TimeTaken"]) == (5, False, 754)
    finished = result["WhenFinished"]  # naive from SQLite, aware from PostgreSQL: UTC either way
    assert (finished if finished.tzinfo else finished.replace(tzinfo=UTC)) == NOW + timedelta(seconds=754)
    audit = model.audit_rows(T, C, exam.key)[-1]
    assert (audit["Event"], audit["Actor"], audit["ResultStatus"]) == ("Finished", "participant", 5)
    exam.advance(60)
    assert exam.left() == LIMIT * 60 - 754  # the time stops at WhenFinished
    with pytest.raises(e.AttemptStateConflict) as again:
        model.finish(T, C, exam.key, exam.session)
    assert (again.value.status, again.value.field) == (409, "Status")


@pytest.mark.parametrize("action", ["Pause", "Terminate"])
def test_finish_is_refused_unless_in_progress(action: str) -> None:
    exam = Exam(make())
    exam.proctor(action)
    with pytest.raises(e.AttemptStateConflict) as refused:
        exam.model.finish(T, C, exam.key, exam.session)
    assert (refused.value.status, refused.value.field) == (409, "Status")
    assert exam.model.get(T, C, "Results", exam.result)["Status"] == (6 if action == "Pause" else 7)


def test_finish_needs_a_start_and_the_session() -> None:
    exam = Exam(make(), start=False)
    model = exam.model
    with pytest.raises(e.AttemptStateConflict) as not_started:
        model.finish(T, C, exam.key, exam.session)
    assert not_started.value.field == "ResultID"
    exam.start()
    with pytest.raises(e.SessionInvalid):
        model.finish(T, C, exam.key, "someone-else")
    with pytest.raises(e.EntityNotFound):
        model.finish(T, C, 99, exam.session)
    assert model.lobby_status(T, C, exam.key, exam.session)["ResultStatus"] == 1
