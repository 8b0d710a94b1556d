"""The ProctorU model without a server: scheduling rules, the lifecycle, errors, seeding."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mocks.core.clock import Clock
from mocks.core.ids import IdSource
from mocks.core.store import Store
from mocks.proctoru import errors
from mocks.proctoru.models import AdHoc, Institution, Options, ProctorU, SeedError
from tests.dbs import store_url

T = "t1"
NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
INST = Institution("examrig", "tok", "test")
ADA = AdHoc(student_id="42", first_name="Ada", last_name="Lovelace", email="ada@example.org",
            time_zone_id="Romance Standard Time", start=NOW + timedelta(days=1), duration=60, reservation_id="r-1")


@pytest.fixture
def pu() -> ProctorU:
    store = Store(store_url())
    clock = Clock()
    clock.freeze(T, NOW)
    model = ProctorU(store, clock, IdSource(7), Options())
    store.create_all()
    return model


def _advance(pu: ProctorU, **delta: float) -> None:
    pu.clock.advance(T, timedelta(**delta).total_seconds())


def test_schedule_then_list_then_begin_then_end(pu: ProctorU) -> None:
    made = pu.add_adhoc(T, INST, ADA)
    assert made["reservation_id"] == "r-1" and made["reservation_no"] == 907886100
    listed = pu.student_reservations(T, INST, "42")
    assert [r["reservation_no"] for r in listed] == [907886100]
    assert listed[0]["start_date"] == "2026-11-22T08:00:00Z"
    with pytest.raises(errors.ReservationInFuture):
        pu.begin(T, INST, "42", "r-1", 907886100)
    _advance(pu, days=1, minutes=-15)
    begun = pu.begin(T, INST, "42", "r-1", 907886100)
    assert begun.url.startswith("https://") and begun.reservation["status"] == "started"
    assert pu.begin(T, INST, "42", None, 907886100).url == begun.url
    _advance(pu, minutes=74)
    assert pu.reservation(T, 907886100)["status"] == "started"  # type: ignore[index]
    _advance(pu, minutes=1)
    assert pu.reservation(T, 907886100)["status"] == "ended"  # type: ignore[index]
    assert pu.student_reservations(T, INST, "42") == []


def test_start_given_with_an_offset_is_stored_in_utc(pu: ProctorU) -> None:
    paris = datetime.fromisoformat("2026-11-22T09:00:00+01:00")
    pu.add_adhoc(T, INST, replace(ADA, start=paris))
    assert pu.student_reservations(T, INST, "42")[0]["start_date"] == "2026-11-22T08:00:00Z"


@pytest.mark.parametrize(("change", "error"), [
    ({"reservation_id": "r-1"}, errors.ReservationIdExists),
    ({"reservation_id": "r-2", "start": NOW + timedelta(days=1, minutes=59)}, errors.Overlap),
    ({"reservation_id": "r-2", "start": NOW - timedelta(seconds=1)}, errors.StartInPast),
    ({"reservation_id": "r-2", "time_zone_id": "Mars Standard Time"}, errors.TimeZoneNotFound),
    ({"reservation_id": "r-2", "reservation_no": 1}, errors.ReservationNotFound),
])
def test_second_reservation_refusals(pu: ProctorU, change: dict[str, object], error: type[Exception]) -> None:
    pu.add_adhoc(T, INST, ADA)
    with pytest.raises(error):
        pu.add_adhoc(T, INST, replace(ADA, **change))  # type: ignore[arg-type]


def test_back_to_back_reservations_do_not_overlap(pu: ProctorU) -> None:
    pu.add_adhoc(T, INST, ADA)
    second = pu.add_adhoc(T, INST, replace(ADA, reservation_id="r-2", start=NOW + timedelta(days=1, hours=1)))
    assert second["reservation_no"] == 907886101


def test_reservation_ids_are_per_institution(pu: ProctorU) -> None:
    pu.add_adhoc(T, INST, ADA)
    other = Institution("other", "tok2", "other")
    assert pu.add_adhoc(T, other, ADA)["reservation_id"] == "r-1"


def test_reschedule_keeps_number_and_first_reservation_id(pu: ProctorU) -> None:
    made = pu.add_adhoc(T, INST, ADA)
    moved = pu.add_adhoc(T, INST, replace(ADA, start=NOW + timedelta(days=2), reservation_no=made["reservation_no"]))
    assert moved["reservation_no"] == made["reservation_no"] and moved["reservation_id"] == "r-1"
    state = pu.reservation(T, made["reservation_no"])
    assert state is not None and state["start_date"] == "2026-11-23T08:00:00Z" and state["reschedules"] == 1


def test_strict_reservation_id_matching_and_lenient_option(pu: ProctorU) -> None:
    made = pu.add_adhoc(T, INST, replace(ADA, start=NOW + timedelta(minutes=5)))
    with pytest.raises(errors.ReservationNotFound):
        pu.begin(T, INST, "42", "a-fresh-random-id", made["reservation_no"])
    pu.options = replace(pu.options, strict_reservation_id=False)
    assert pu.begin(T, INST, "42", "a-fresh-random-id", made["reservation_no"]).url


def test_cancel_twice_and_unknown(pu: ProctorU) -> None:
    made = pu.add_adhoc(T, INST, ADA)
    assert pu.remove(T, INST, "42", made["reservation_no"]) == {"onaccount": "30.00"}
    with pytest.raises(errors.ReservationCancelled):
        pu.remove(T, INST, "42", made["reservation_no"])
    with pytest.raises(errors.ReservationCancelled):
        pu.begin(T, INST, "42", "r-1", made["reservation_no"])
    with pytest.raises(errors.ReservationNotFound):
        pu.remove(T, INST, "42", 5)
    with pytest.raises(errors.StudentNotFound):
        pu.remove(T, INST, "nobody", made["reservation_no"])


def test_no_show_after_fifteen_minutes(pu: ProctorU) -> None:
    made = pu.add_adhoc(T, INST, replace(ADA, start=NOW + timedelta(minutes=30)))
    _advance(pu, minutes=45)
    assert pu.student_reservations(T, INST, "42")
    _advance(pu, seconds=1)
    assert pu.student_reservations(T, INST, "42") == []
    with pytest.raises(errors.ReservationNotFound):
        pu.begin(T, INST, "42", "r-1", made["reservation_no"])
    assert pu.activity(T, INST, None, NOW, NOW + timedelta(days=1))[0]["ProctorNotes"] == "no show"


def test_slots_skip_past_and_full_capacity(pu: ProctorU) -> None:
    pu.seed(T, {"availability": [{"start": "2026-11-21T09:00:00Z", "end": "2026-11-21T11:00:00Z", "capacity": 1}]})
    slots = pu.available_times(T, INST, time_zone_id="UTC", start=NOW.replace(hour=0), duration=60)
    assert [s["start_date"] for s in slots] == ["2026-11-21T09:00:00Z", "2026-11-21T09:15:00Z",
                                                 "2026-11-21T09:30:00Z", "2026-11-21T09:45:00Z",
                                                 "2026-11-21T10:00:00Z"]
    pu.add_adhoc(T, INST, replace(ADA, start=NOW + timedelta(hours=1, minutes=30)))
    slots = pu.available_times(T, INST, time_zone_id="UTC", start=NOW.replace(hour=0), duration=60)
    assert slots == []


def test_local_start_date_carries_the_zone_offset(pu: ProctorU) -> None:
    slots = pu.available_times(T, INST, time_zone_id="Romance Standard Time",
                               start=datetime.fromisoformat("2026-11-22T00:00:00+01:00"), duration=30)
    assert slots[0] == {"start_date": "2026-11-21T23:00:00Z", "local_start_date": "2026-11-22T00:00:00+01:00",
                        "fee": 30.0, "fee_premium": 0, "fee_discount": 0}
    assert len(slots) == 96


def test_edit_student_and_profile(pu: ProctorU) -> None:
    with pytest.raises(errors.StudentNotFound):
        pu.edit_student(T, INST, "42", {"city": "Paris"})
    pu.add_adhoc(T, INST, ADA)
    assert pu.edit_student(T, INST, "42", {"city": "Paris"})["city"] == "Paris"
    with pytest.raises(errors.TimeZoneNotFound):
        pu.edit_student(T, INST, "42", {"time_zone_id": "Nowhere"})
    assert pu.student_profile(T, INST, "42")["time_zone_id"] == "Romance Standard Time"


def test_stale_request_threshold(pu: ProctorU) -> None:
    pu.check_fresh(T, NOW - timedelta(seconds=300))
    pu.check_fresh(T, (NOW + timedelta(seconds=299)).replace(tzinfo=None))
    with pytest.raises(errors.StaleRequest):
        pu.check_fresh(T, NOW - timedelta(seconds=301))


def test_error_count_grows_within_the_window(pu: ProctorU) -> None:
    assert [pu.note_error(T, "examrig") for _ in range(3)] == [0, 1, 2]
    _advance(pu, hours=1, seconds=1)
    assert pu.note_error(T, "examrig") == 0


def test_tenants_do_not_meet(pu: ProctorU) -> None:
    pu.clock.freeze("t2", NOW)
    pu.add_adhoc(T, INST, ADA)
    assert pu.student_reservations("t2", INST, None) == []


def test_seed_institutions_and_errors(pu: ProctorU) -> None:
    assert pu.seed(T, {"institutions": [{"token": "abc", "institution": "uni"}]}) == {"institutions": 1,
                                                                                       "availability": 0}
    found = pu.institution(T, "abc")
    assert found is not None and found.id == "uni"
    assert pu.institution("t2", "abc") is None
    with pytest.raises(SeedError) as info:
        pu.seed(T, {"availability": [{"start": "2026-11-21T10:00:00Z", "end": "2026-11-21T09:00:00Z"}]})
    assert info.value.field == "availability[0].end"


def test_a_move_renumbers_keeps_the_link_and_frees_the_old_slot(pu: ProctorU) -> None:
    first = pu.add_adhoc(T, INST, replace(ADA, attempt_id=12))["reservation_no"]
    later = NOW + timedelta(days=2)
    moved = pu.move(T, INST, first, later, "r-1")
    assert moved["reservation_no"] == first + 1 and moved["reservation_id"] == "r-1"
    assert moved["url"].endswith("&reservation_no=OTA3ODg2MTAx%0A")  # base64("907886101\n")
    assert pu.reservation(T, first) is None
    state = pu.reservation(T, moved["reservation_no"])
    assert state is not None and state["start_date"] == "2026-11-23T08:00:00Z" and state["reschedules"] == 1
    assert state["deliveryodata"]["attempt_id"] == 12
    # the old time is free again for the student
    assert pu.add_adhoc(T, INST, replace(ADA, reservation_id="r-2"))["reservation_no"] == first + 2
    with pytest.raises(errors.Overlap):
        pu.move(T, INST, first + 2, later + timedelta(minutes=30), None)
    with pytest.raises(errors.ReservationNotFound):
        pu.move(T, INST, moved["reservation_no"], later, "r-other")


def test_a_move_checks_the_institution_and_the_status(pu: ProctorU) -> None:
    number = pu.add_adhoc(T, INST, ADA)["reservation_no"]
    with pytest.raises(errors.ReservationNotForInstitution):
        pu.move(T, Institution("uni", "tok2", "other"), number, NOW + timedelta(days=2), None)
    with pytest.raises(errors.StartInPast):
        pu.move(T, INST, number, NOW - timedelta(minutes=1), None)
    pu.remove(T, INST, "42", number)
    with pytest.raises(errors.ReservationCancelled):
        pu.move(T, INST, number, NOW + timedelta(days=2), None)


def test_auto_login_updates_only_when_asked(pu: ProctorU) -> None:
    pu.add_adhoc(T, INST, ADA)
    first = pu.auto_login(T, INST, "42", {"email": "new@example.org"}, apply=False)["url"]
    assert pu.student_profile(T, INST, "42")["email"] == "ada@example.org"
    second = pu.auto_login(T, INST, "42", {"email": "new@example.org"}, apply=True)["url"]
    assert pu.student_profile(T, INST, "42")["email"] == "new@example.org"
    assert first.startswith("https://demo.proctoru.com/session/auto_login?token=") and first != second
    with pytest.raises(errors.AutoLoginStudentNotFound):
        pu.auto_login(T, INST, "99", {}, apply=False)
    with pytest.raises(errors.TimeZoneNotFound):
        pu.auto_login(T, INST, "42", {"time_zone_id": "Mars"}, apply=True)
