"""proctoru client rules over hand-made journals: the xBlock's flow passes, each deviation fails its rule."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from conformance.client import RULES, evaluate
from tests.client.journals import Journal

REQUIREMENTS = ("PUC-AUTH-001", "PUC-TIME-001", "PUC-TIME-002", "PUC-FORM-001", "PUC-RES-001", "PUC-RES-002",
                "PUC-BEGIN-001", "PUC-ERR-001")
FORM = {"Authorization-Token": "<redacted>", "Content-Type": "application/x-www-form-urlencoded"}
NOW = "2026-12-01T10:00:00.000Z"
SENT = "2026-12-01T10:00:00.123456"  # the xBlock's naive utcnow().isoformat()
OK = {"time_sent": NOW, "response_code": 1, "message": "", "data": None}


def call(j: Journal, name: str, *, data: object = None, code: int = 1, message: str = "",
         headers: dict[str, str] | None = None, ts: str = NOW, **params: str) -> None:
    body = urlencode({"time_sent": SENT, **params})
    j.add("POST", f"/api/{name}", body=body, headers=FORM if headers is None else headers, ts=ts,
          response={**OK, "response_code": code, "message": message, "data": data})


def flow(j: Journal) -> Journal:
    call(j, "getTimeZoneList", data=[])
    call(j, "addAdHocProcess", student_id="7", reservation_id="a" * 40, data={"reservation_no": 555, "url": "u"})
    call(j, "getStudentReservationList", student_id="7", data=[{"reservation_no": 555}])
    call(j, "beginReservation", student_id="7", reservation_id="a" * 40, reservation_no="555", data={"url": "u"})
    return j


def verdicts(j: Journal) -> dict[str, str]:
    return {r.requirements[0]: r.outcome for r in evaluate(j.entries, ["proctoru"])}


def test_the_learner_flow_passes() -> None:
    got = verdicts(flow(Journal("proctoru")))
    assert {k for k, v in got.items() if v == "passed"} == set(REQUIREMENTS) - {"PUC-ERR-001"}
    assert got["PUC-ERR-001"] == "not-exercised"
    assert len(got) == len(RULES["proctoru"])


def _stale(j: Journal) -> None:
    flow(j)
    call(j, "getTimeZoneList", data=[], ts="2026-12-01T10:06:00Z")  # arrives 6 min after its time_sent


def _no_token(j: Journal) -> None:
    flow(j)
    call(j, "getTimeZoneList", data=[], headers={"Content-Type": "application/x-www-form-urlencoded"})


def _no_time_sent(j: Journal) -> None:
    flow(j)
    j.add("GET", "/api/getTimeZoneList", headers=FORM, response=OK)


def _json_body(j: Journal) -> None:
    flow(j)
    j.add("POST", "/api/getTimeZoneList", body={"time_sent": SENT},
          headers={**FORM, "Content-Type": "application/json"}, response=OK)


def _fresh_id_after_reschedule(j: Journal) -> None:
    # the xBlock's known bug: the reschedule keeps ProctorU's reservation, the begin sends a new random id
    call(j, "addAdHocProcess", student_id="7", reservation_id="a" * 40, data={"reservation_no": 555})
    call(j, "beginReservation", student_id="7", reservation_id="b" * 40, reservation_no="555", data={"url": "u"})


def _foreign(j: Journal) -> None:
    flow(j)
    call(j, "removeReservation", student_id="7", reservation_no="999", code=2,
         message="Reservation Not found : Error count 0 of 50")


def _early(j: Journal) -> None:
    call(j, "addAdHocProcess", student_id="7", reservation_id="a" * 40, data={"reservation_no": 555})
    call(j, "beginReservation", student_id="7", reservation_id="a" * 40, reservation_no="555", code=2,
         message="Reservation is in the future : Error count 0 of 50")


def _blind_retry(j: Journal) -> None:
    flow(j)
    for _ in range(2):
        call(j, "editStudent", student_id="7", code=2, message="Student Not found : Error count 0 of 50")


@pytest.mark.parametrize(("variant", "broken"), [
    (_stale, {"PUC-TIME-002"}),
    (_no_token, {"PUC-AUTH-001"}),
    (_no_time_sent, {"PUC-TIME-001"}),
    (_json_body, {"PUC-FORM-001"}),
    (_fresh_id_after_reschedule, {"PUC-RES-002"}),
    (_foreign, {"PUC-RES-001"}),
    (_early, {"PUC-BEGIN-001"}),
    (_blind_retry, {"PUC-ERR-001"}),
])
def test_each_deviation_fails_exactly_its_rule(variant: Callable[[Journal], None], broken: set[str]) -> None:
    j = Journal("proctoru")
    variant(j)
    assert {k for k, v in verdicts(j).items() if v == "failed"} == broken


def test_freshness_is_judged_by_the_real_clock_of_the_exchange() -> None:
    """The journal's ts is the wall clock, so a tester advancing the mock's clock cannot make a call stale."""
    j = Journal("proctoru")
    call(j, "getTimeZoneList", data=[], ts="2026-12-01T10:04:59Z")
    assert verdicts(j)["PUC-TIME-002"] == "passed"
