"""The published proctoru-xblock 1.0.0 API client driven through its learner flow, judged by the client rules.

The package is installed at test time exactly as tests/proctoru/test_xblock_interop.py does (its fixtures are
reused); the mock's journal of the flow is then evaluated with the same engine, aggregation and writers as
``examrig check --client proctoru``. The verdicts asserted are what the xBlock really does, including the known
bug of beginning a rescheduled reservation with a fresh reservation_id (PUC-RES-002). docs/client-conformance.md
shows the report.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance.client import evaluate
from conformance.client_check import _client_catalogue
from conformance.reports import WRITERS
from conformance.verdicts import Run, aggregate
from mocks.proctoru.service import Service
from tests.proctoru import xblock_stubs
from tests.proctoru.test_xblock_interop import _student_data, api, served, xblock_dir  # noqa: F401  (fixtures)

REQUIREMENTS = ("PUC-RES-002", "PUC-BEGIN-001")
EXPECTED = {
    "PUC-AUTH-001": "pass", "PUC-TIME-001": "pass", "PUC-TIME-002": "pass", "PUC-FORM-001": "pass",
    "PUC-RES-001": "pass", "PUC-ERR-001": "pass",
    # the known bug: after a reschedule the xBlock begins with a fresh random reservation_id
    "PUC-RES-002": "fail",
    # it begins before the window opens and handles the refusal ("Please wait"): a SHOULD, non-strict
    "PUC-BEGIN-001": "non-strict",
}


def test_the_xblock_learner_flow_as_the_client_rules_see_it(api: Any, served: tuple[Service, str, Path],  # noqa: F811
                                                             tmp_path: Path) -> None:
    app = served[0]
    since = app.journal.next_seq
    user = xblock_stubs.make_user(77, "grace", "Grace Hopper", "grace@example.org")
    assert api.get_time_zones()["response_code"] == 1
    now = datetime.now(UTC)
    listing = api.get_schedule_info_avl_timeslist({
        "time_sent": now.replace(tzinfo=None).isoformat(), "duration": 30, "time_zone_id": "Romance Standard Time",
        "start_date": now.replace(minute=0, second=0, microsecond=0).isoformat(), "takeitnow": "N", "isadhoc": "Y"})
    slots = [s["local_start_date"] for s in listing["data"]]
    soon, later = slots[0], slots[8]
    first_id = "c" * 40
    booked = api.add_adhoc_process(_student_data(user, later, first_id))
    number = booked["data"]["reservation_no"]
    assert api.get_student_reservation_list(user.id)
    assert api.begin_reservation(user.id, first_id, number)["response_code"] == 2  # too early: "Please wait"
    moved = api.add_adhoc_process(_student_data(user, soon, first_id, reservation_no=number))
    assert moved["response_code"] == 1
    # what the xBlock's reschedule handler then stores and sends: a fresh random reservation_id
    assert api.begin_reservation(user.id, "d" * 40, number)["response_code"] == 2
    assert api.begin_reservation(user.id, first_id, number)["response_code"] == 1

    window = app.journal.query(since=since)
    run = Run(started=now.isoformat(timespec="seconds"), label="client-proctoru-xblock", mode="client",
              services=["proctoru"], targets={"proctoru": served[1]})
    run.scenarios = evaluate(window.entries, ["proctoru"], overflow={"proctoru": window.overflow})
    aggregate(run, _client_catalogue(), {}, services=["proctoru"])
    verdicts = {r.id: r.verdict for r in run.requirements}
    assert verdicts == EXPECTED, verdicts
    bug = next(s for s in run.scenarios if s.requirements == ["PUC-RES-002"])
    # the evidence: the reschedule that kept the id, then the begin with the fresh one, each with a curl line
    assert [x.url.rsplit("/", 1)[-1] for x in bug.exchanges] == ["addAdHocProcess", "beginReservation"]
    assert "d" * 40 in bug.exchanges[1].request_body and bug.exchanges[1].curl.startswith("curl ")
    report = WRITERS["md"](run, tmp_path)
    assert "PUC-RES-002" in report.read_text("utf-8")
