"""deliveryodata client rules over hand-made journals: the reference flow passes, each deviation fails its rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.client import RULES, evaluate
from conformance.client.engine import run_rule
from tests.client.journals import Journal

REQUIREMENTS = ("DOC-ATT-001", "DOC-ATT-002", "DOC-ATT-003", "DOC-ATT-004", "DOC-RETRY-001", "DOC-RETRY-002",
                "DOC-URL-001", "DOC-URL-002", "DOC-URL-003", "DOC-PATCH-001", "DOC-FILTER-001", "DOC-PAGE-001",
                "DOC-AUTH-001")
ROOT = "/deliveryodata/600001"
GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
CREATE = {"ExternalAttemptID": GUID, "ParticipantID": 987654321, "AssessmentID": "9962000009962",
          "LockRequired": True, "LockStatus": True}
LOBBY = "/lobby/600001/lobby/SystemCheck/17?sig=abc&exp=1"
WIDGET = "/lobby/600001/proctorwidget/Index/17?sig=def&exp=1"


def entity(lobby: str = LOBBY) -> dict[str, object]:
    return {"ID": 17, "ParticipantFacingQMLobbyUrl": "http://127.0.0.1:1" + lobby,
            "ProctorFacingQMControlsWidgetUrl": "http://127.0.0.1:1" + WIDGET}


def flow(j: Journal, create: dict[str, object] | None = None) -> Journal:
    """The proctoring flow of qm-proctoring-exams.rst: create, PATCH the widget URL, read, launch."""
    j.add("GET", f"{ROOT}/Assessments?$filter=ID%20eq%209962000009962L", response={"value": []})
    j.add("POST", f"{ROOT}/Attempts", body=create or CREATE, status=201,
          response={"ID": 17, "ParticipantFacingQMLobbyUrl": None})
    j.add("PATCH", f"{ROOT}/Attempts(17)", body={"ParticipantFacingProctorSystemWidgetUrl": "https://v/x"}, status=204)
    j.add("GET", f"{ROOT}/Attempts(17)", response=entity())
    j.add("GET", LOBBY, headers={})
    return j


def verdicts(j: Journal) -> dict[str, str]:
    return {r.requirements[0]: r.outcome for r in evaluate(j.entries, ["deliveryodata"])}


def test_the_reference_flow_passes_or_is_not_exercised() -> None:
    got = verdicts(flow(Journal("deliveryodata")))
    assert {k for k, v in got.items() if v == "passed"} == {
        "DOC-ATT-001", "DOC-ATT-002", "DOC-ATT-003", "DOC-ATT-004", "DOC-URL-001", "DOC-URL-002", "DOC-URL-003",
        "DOC-PATCH-001", "DOC-AUTH-001", "DOC-FILTER-001"}
    # the flow meets no fault, duplicate or second page
    assert {k for k, v in got.items() if v == "not-exercised"} == {"DOC-RETRY-001", "DOC-RETRY-002", "DOC-PAGE-001"}
    assert len(got) == len(RULES["deliveryodata"])


def _reused_lobby(j: Journal) -> None:
    flow(j)
    j.add("GET", LOBBY, headers={})


def _integer_id(j: Journal) -> None:
    flow(j, {**CREATE, "ExternalAttemptID": "42"})


def _new_id_on_retry(j: Journal) -> None:
    j.add("POST", f"{ROOT}/Attempts", body=CREATE, status=503)
    flow(j, {**CREATE, "ExternalAttemptID": "3f2504e0-0000-0000-0000-000000000000"})


def _patch_assessment(j: Journal) -> None:
    flow(j)
    j.add("PATCH", f"{ROOT}/Attempts(17)", body={"AssessmentID": "1L"}, status=400)


def _no_l_suffix(j: Journal) -> None:
    flow(j)
    j.add("GET", f"{ROOT}/Attempts?$filter=AssessmentID%20eq%209962000009962", status=400)


def _lobby_from_collection(j: Journal) -> None:
    j.add("POST", f"{ROOT}/Attempts", body=CREATE, status=201, response={"ID": 17})
    j.add("GET", "/lobby/600001/lobby/SystemCheck/17?sig=guessed", headers={})


def _duplicate_then_new(j: Journal) -> None:
    j.add("POST", f"{ROOT}/Attempts", body=CREATE, status=409,
          response={"error": {"message": "ExternalAttemptID already exists"}})
    j.add("POST", f"{ROOT}/Attempts", body={**CREATE, "ExternalAttemptID": GUID + "-2"}, status=201)


def _no_credentials(j: Journal) -> None:
    flow(j)
    j.add("GET", f"{ROOT}/Attempts(17)", headers={}, response=entity())


def _unlocked(j: Journal) -> None:
    flow(j, {**CREATE, "LockRequired": False})


def _second_create(j: Journal) -> None:
    flow(j)
    j.add("POST", f"{ROOT}/Attempts", body=CREATE, status=409, response={"error": {"message": "ExternalAttemptID"}})
    j.add("GET", f"{ROOT}/Attempts?$filter=ExternalAttemptID%20eq%20'{GUID}'", response={"value": []})


def _page_dropped(j: Journal) -> None:
    flow(j)
    j.add("GET", f"{ROOT}/Attempts", response={"value": [], "odata.nextLink": f"http://x{ROOT}/Attempts?$skip=100"})


def _expired(j: Journal) -> None:
    flow(j)
    j.entries[-1].status = 403
    j.entries[-1].response_body = '{"error": "link_expired"}'
    j.entries[-1].response_size = len(j.entries[-1].response_body)


@pytest.mark.parametrize(("variant", "broken"), [
    (_reused_lobby, {"DOC-URL-002"}),
    (_integer_id, {"DOC-ATT-003"}),
    (_new_id_on_retry, {"DOC-RETRY-001"}),
    (_patch_assessment, {"DOC-PATCH-001"}),
    (_no_l_suffix, {"DOC-FILTER-001"}),
    (_lobby_from_collection, {"DOC-URL-001"}),
    (_duplicate_then_new, {"DOC-RETRY-002"}),
    (_no_credentials, {"DOC-AUTH-001"}),
    (_unlocked, {"DOC-ATT-004"}),
    (_second_create, {"DOC-ATT-002"}),
    (_page_dropped, {"DOC-PAGE-001"}),
    (_expired, {"DOC-URL-003"}),
])
def test_each_deviation_fails_exactly_its_rule(variant: Callable[[Journal], None], broken: set[str]) -> None:
    j = Journal("deliveryodata")
    variant(j)
    got = verdicts(j)
    assert {k for k, v in got.items() if v == "failed"} == broken


def test_a_fail_carries_the_breaking_exchanges_in_order_with_a_curl_line() -> None:
    j = Journal("deliveryodata")
    _reused_lobby(j)
    result = next(r for r in evaluate(j.entries, ["deliveryodata"]) if r.requirements == ["DOC-URL-002"])
    assert [x.url for x in result.exchanges] == ["http://127.0.0.1:1" + LOBBY] * 2
    assert all(x.curl.startswith("curl -sS -X GET") and LOBBY.split("?")[0] in x.curl for x in result.exchanges)


def test_a_body_past_the_journal_limit_is_error_not_pass() -> None:
    j = flow(Journal("deliveryodata"))
    j.entries[3].response_size = 10_000  # the entity's answer was kept in part only
    rule = next(r for r in RULES["deliveryodata"] if r.requirement == "DOC-URL-001")
    finding = run_rule(rule, j.entries)
    assert finding.outcome == "error" and "limit" in finding.message


def test_overflow_makes_every_rule_error_and_an_empty_window_not_exercised() -> None:
    j = flow(Journal("deliveryodata"))
    assert {r.outcome for r in evaluate(j.entries, ["deliveryodata"], overflow={"deliveryodata": True})} == {"error"}
    assert {r.outcome for r in evaluate([], ["deliveryodata"])} == {"not-exercised"}


def test_tenants_are_judged_apart() -> None:
    a, b = flow(Journal("deliveryodata", "a")), Journal("deliveryodata", "b")
    _integer_id(b)
    for e in b.entries:
        e.seq += 100
    results = evaluate([*a.entries, *b.entries], ["deliveryodata"])
    failing = {r.id for r in results if r.outcome == "failed"}
    assert failing == {"client/deliveryodata/DOC-ATT-003[b]"}
