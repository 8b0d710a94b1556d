"""The published proctoru-xblock 1.0.0 API client, unmodified, against the mock over HTTPS.

The package is installed at test time (``pip install --no-deps --target``), never vendored;
only ``django.contrib.auth.models`` and ``proctoru.models`` are stood in for, and the
synthetic ``proctoru`` package keeps its ``__init__`` (the XBlock, edx-platform) from running.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.core.tls import self_signed
from mocks.proctoru.models import DEFAULT_TOKEN
from mocks.proctoru.service import Service
from tests.proctoru import xblock_stubs
from tests.proctoru.serving import serve_https

# the requirements this module checks (no scenario can: it installs a package at test time); see test_catalogue.py
REQUIREMENTS = ("PU-XBK-001",)
PACKAGE = "proctoru-xblock==1.0.0"
BLOCK = "block-v1:demo+2026+type@proctoru+block@final"


@pytest.fixture(scope="module")
def xblock_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package, installed from PyPI without its dependencies into a temporary directory."""
    target = tmp_path_factory.mktemp("proctoru-xblock")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "--no-deps", "--target", str(target), PACKAGE],
                          capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0 or not (target / "proctoru" / "api.py").is_file():
        reason = f"pip install {PACKAGE} failed: {(done.stderr or done.stdout).strip()[-800:]}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return target


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, str, Path]]:
    """The proctoru mock over HTTPS on a free loopback port, its own in-memory store, the system clock."""
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    app = Service(Runtime.create(Settings(seed=3), db="sqlite://"))
    with serve_https(app, cert, key) as url:
        yield app, url, cert


@pytest.fixture
def api(xblock_dir: Path, served: tuple[Service, str, Path], monkeypatch: pytest.MonkeyPatch) -> Any:
    """``proctoru.api.ProctoruAPI()`` configured for the mock, trusted through REQUESTS_CA_BUNDLE."""
    django_conf = pytest.importorskip("django.conf")
    for module in ("dateutil", "pytz"):
        pytest.importorskip(module)
    _app, url, cert = served
    settings = django_conf.settings
    if not settings.configured:
        settings.configure(PROCTORU_TOKEN=DEFAULT_TOKEN, PROCTORU_API=url.removeprefix("https://"))
    monkeypatch.setattr(settings, "PROCTORU_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setattr(settings, "PROCTORU_API", url.removeprefix("https://"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    package = types.ModuleType("proctoru")
    package.__path__ = [str(xblock_dir / "proctoru")]
    monkeypatch.setitem(sys.modules, "proctoru", package)
    for name, module in xblock_stubs.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    for name in ("proctoru.api", "proctoru.timezonemap"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    module_api = importlib.import_module("proctoru.api")
    assert module_api.__file__ is not None and module_api.__file__.startswith(str(xblock_dir))
    yield module_api.ProctoruAPI()
    for name in ("proctoru.api", "proctoru.timezonemap"):
        sys.modules.pop(name, None)


def _student_data(user: Any, start: str, reservation_id: str, **extra: Any) -> dict[str, Any]:
    """What the xBlock's call_addhoc handler builds (fields, lengths, hard-coded state)."""
    return {
        "time_sent": datetime.now(UTC).replace(tzinfo=None).isoformat(), "student_id": user.id,
        "last_name": user.first_name, "first_name": user.profile.name, "email": user.email,
        "address1": "12 rue de Rivoli", "city": "Paris", "country": "FR", "phone1": "+33123456789",
        "time_zone_id": "Romance Standard Time", "description": "demo 2026 - Final \n Bring a pencil",
        "notes": "Password is - password\nExam Notes - none", "duration": 30, "start_date": start,
        "takeitnow": "N", "reservation_id": reservation_id, "state": "CA", **extra,
    }


def test_the_eight_calls_and_the_learner_flow(api: Any, served: tuple[Service, str, Path]) -> None:
    app = served[0]
    user = xblock_stubs.make_user(42, "ada", "Ada Lovelace", "ada@example.org")

    # 1 getTimeZoneList (the registration form)
    zones = api.get_time_zones()
    assert zones["response_code"] == 1
    assert "Romance Standard Time" in [z["Id"] for z in zones["data"]]

    # 2 getScheduleInfoAvailableTimesList, parameters in a GET body, start with the learner's offset
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    listing = api.get_schedule_info_avl_timeslist({
        "time_sent": now.replace(tzinfo=None).isoformat(), "duration": 30,
        "time_zone_id": "Romance Standard Time", "start_date": hour.isoformat(), "takeitnow": "N", "isadhoc": "Y"})
    assert listing["response_code"] == 1
    slots = [s["local_start_date"] for s in listing["data"]]
    soon, later = slots[0], slots[8]  # the next quarter hour, and two hours on
    assert datetime.fromisoformat(soon) - now <= timedelta(minutes=15)

    # 3 addAdHocProcess: schedule two hours on; the student is created with it
    first_id = "a" * 40
    booked = api.add_adhoc_process(_student_data(user, later, first_id))
    assert booked["response_code"] == 1, booked
    number = booked["data"]["reservation_no"]
    assert api.set_exam_schedule_arrived({"user": user, "block_id": BLOCK, "reservation_id": first_id,
                                          "reservation_no": number, "is_canceled": False})
    exam = api.get_schedule_exam_arrived(user, BLOCK)
    assert exam.reservation_no == number

    # a second booking under the same reservation_id is what the xBlock reads as "already scheduled"
    again = api.add_adhoc_process(_student_data(user, later, first_id))
    assert again["response_code"] == 2 and again["message"].startswith("reservation_id_EXIST_FOR_THIS_INSTITUTION")

    # 5 getStudentReservationList: the exam-arrived check finds it
    listed = api.get_student_reservation_list(user.id)
    assert [int(r["reservation_no"]) for r in listed] == [number]

    # 6 beginReservation too early: the "please wait" branch needs the message longer than 28 characters
    early = api.begin_reservation(user.id, first_id, number)
    assert early["response_code"] == 2
    assert len(early["message"]) > 28 and early["message"][:28] == "Reservation is in the future"

    # reschedule = addAdHocProcess with reservation_no and the old reservation_id: same reservation
    moved = api.add_adhoc_process(_student_data(user, soon, first_id, reservation_no=number))
    assert moved["response_code"] == 1 and moved["data"]["reservation_no"] == number
    state = app.model.reservation("default", number)
    assert state is not None and state["reschedules"] == 1

    # the xBlock then stores a fresh random reservation_id: strict matching refuses it (the known bug)
    stale = api.begin_reservation(user.id, "b" * 40, number)
    assert stale["response_code"] == 2 and stale["message"].startswith("Reservation Not found")

    # start again with the id ProctorU kept: the session url
    begun = api.begin_reservation(user.id, first_id, number)
    assert begun["response_code"] == 1 and begun["data"]["url"].startswith("https://")
    assert api.start_exam(user, BLOCK)

    # 8 editStudent (the response is ignored by the client; the profile changes)
    assert api.edit_proctoru_user({
        "student_id": user.id, "first_name": "Augusta Ada", "last_name": "Ada", "time_sent":
        datetime.now(UTC).replace(tzinfo=None).isoformat(), "time_zone_id": "GMT Standard Time",
        "address1": "1 St James's Square", "city": "London", "country": "GB", "state": "CA", "phone1": "+4420"})
    profile = app.model.student_profile("default", app.model.institution("default", DEFAULT_TOKEN), "42")  # type: ignore[arg-type]
    assert profile["city"] == "London" and profile["time_zone_id"] == "GMT Standard Time"

    # 7 clientActivityReport (staff view), dates re-formatted by the client in the block's time zone
    day_before, day_after = (now - timedelta(days=1)).isoformat(), (now + timedelta(days=1)).isoformat()
    activity = api.get_student_activity(user.id, BLOCK, day_before, day_after, "Romance Standard Time")
    assert activity is not None and int(activity["ReservationNo"]) == number
    assert activity["ProctorNotes"] == "fulfillment started"
    assert activity["StartDate"].endswith("Romance Standard Time")

    # 4 removeReservation: cancel, then the "Already canceled!" branch
    cancelled = api.cancel_exam(user, BLOCK)
    assert cancelled["response_code"] == 1 and exam.is_canceled
    twice = api.cancel_exam(user, BLOCK)
    assert twice["response_code"] == 2 and twice["message"].startswith("Reservation Cancelled.")
    assert api.get_student_reservation_list(user.id) == []
