"""tis client rules (a TDS posting TRTs, a hand-scoring system calling back) over hand-made journals."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from conformance.client import RULES, evaluate
from tests.client.journals import Journal

REQUIREMENTS = ("TISC-TRT-001", "TISC-TRT-002", "TISC-TRT-003", "TISC-AUTH-001", "TISC-RETRY-001",
                "TISC-RETRY-002", "TISC-SCORE-001", "TISC-SCORE-002", "TISC-SCORE-003")
XML = {"Content-Type": "application/xml", "Authorization": "<redacted>"}
POST = "/api/testresult?statusCallback=http%3A%2F%2F127.0.0.1%3A9%2Ftis"
TOKEN = '{"clientName":"SBAC","oppKey":"k1","itemBank":200,"itemID":56561,"itemType":"WER"}'


def score(token: str = TOKEN) -> str:
    return (f'<ItemScoreResponse><Score><ScoreInfo scorePoint="2" scoreDimension="Overall" scoreStatus="Scored"/>'
            f"<ContextToken><![CDATA[{token}]]></ContextToken></Score></ItemScoreResponse>")


def flow(j: Journal) -> Journal:
    j.add("POST", POST, body="<TDSReport>one</TDSReport>", headers=XML)
    j.add("POST", POST, body="<TDSReport>two</TDSReport>", headers=XML)
    j.add("POST", "/thss/api/assign", direction="out", body=f"<Items><ContextToken>{TOKEN}</ContextToken></Items>")
    j.add("POST", "/ItemScoringCallbackRcv.axd", body=score(), headers={}, note='{"action": "handscored"}')
    return j


def verdicts(j: Journal) -> dict[str, str]:
    return {r.requirements[0]: r.outcome for r in evaluate(j.entries, ["tis"])}


def test_the_flow_passes() -> None:
    got = verdicts(flow(Journal("tis")))
    assert {k for k, v in got.items() if v == "passed"} == set(REQUIREMENTS) - {"TISC-RETRY-001"}
    assert got["TISC-RETRY-001"] == "not-exercised"
    assert len(got) == len(RULES["tis"])


def _invalid(j: Journal) -> None:
    flow(j)
    j.add("POST", POST, body="<TDSReport/>", headers=XML, status=400)


def _relative_callback(j: Journal) -> None:
    flow(j)
    j.add("POST", "/api/testresult?statusCallback=/tis", body="<TDSReport>3</TDSReport>", headers=XML, status=400)


def _json_type(j: Journal) -> None:
    flow(j)
    j.add("POST", POST, body="<TDSReport>3</TDSReport>", headers={**XML, "Content-Type": "application/json"})


def _no_token(j: Journal) -> None:
    flow(j)
    j.add("POST", POST, body="<TDSReport>3</TDSReport>", headers={"Content-Type": "application/xml"}, status=401)


def _given_up(j: Journal) -> None:
    flow(j)
    j.add("POST", POST, body="<TDSReport>3</TDSReport>", headers=XML, status=503)


def _resent(j: Journal) -> None:
    flow(j)
    j.add("POST", POST, body="<TDSReport>one</TDSReport>", headers=XML)


def _unreadable(j: Journal) -> None:
    flow(j)
    j.add("POST", "/ItemScoringCallbackRcv.axd", body="<nope/>", headers={}, note='{"action": "unreadable"}')


def _changed_token(j: Journal) -> None:
    # THSS's JSON token names an item TIS never sent for hand scoring: the daemon finds none waiting
    flow(j)
    j.entries[-1].request_body = score(TOKEN.replace("k1", "k2"))
    j.entries[-1].note = json.dumps({"action": "rejected",
                                     "message": "Item Scoring: Did not accept score: no item 200-56561 waiting for k2"})


def _opaque_token_changed(j: Journal) -> None:
    # an opaque token (the Item Scoring Engine's) must come back as TIS sent it
    flow(j)
    j.add("POST", "/thss/api/assign", direction="out", body="<Items><ContextToken>T0K3N</ContextToken></Items>")
    j.add("POST", "/ItemScoringCallbackRcv.axd", body=score("T0K3N-changed"), headers={},
          note='{"action": "stored"}')


def _twice(j: Journal) -> None:
    flow(j)
    j.add("POST", "/ItemScoringCallbackRcv.axd", body=score(), headers={}, note='{"action": "stored"}')


@pytest.mark.parametrize(("variant", "broken"), [
    (_invalid, {"TISC-TRT-001"}),
    (_relative_callback, {"TISC-TRT-001", "TISC-TRT-002"}),  # TIS refuses it with 400 too
    (_json_type, {"TISC-TRT-003"}),
    (_no_token, {"TISC-AUTH-001"}),
    (_given_up, {"TISC-RETRY-001"}),
    (_resent, {"TISC-RETRY-002"}),
    (_unreadable, {"TISC-SCORE-001"}),
    (_changed_token, {"TISC-SCORE-002"}),
    (_opaque_token_changed, {"TISC-SCORE-002"}),
    (_twice, {"TISC-SCORE-003"}),
])
def test_each_deviation_fails_exactly_its_rule(variant: Callable[[Journal], None], broken: set[str]) -> None:
    j = Journal("tis")
    variant(j)
    assert {k for k, v in verdicts(j).items() if v == "failed"} == broken


def test_a_retry_with_the_same_trt_passes() -> None:
    j = flow(Journal("tis"))
    j.add("POST", POST, body="<TDSReport>3</TDSReport>", headers=XML, status=503)
    j.add("POST", POST, body="<TDSReport>3</TDSReport>", headers=XML)
    assert verdicts(j)["TISC-RETRY-001"] == "passed"
