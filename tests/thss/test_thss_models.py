"""Unit tests of the THSS model (no server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from lxml import etree  # type: ignore[import-untyped]

from contracts.validate import validate
from features.steps.thss import thss_trt
from mocks.core.clock import Clock
from mocks.core.ids import IdSource
from mocks.core.store import Store
from mocks.thss.models import DimensionScore, InputError, Thss, rubric_samples, score_response_xml
from tests.dbs import store_url

T = "t1"
OPP = "71a3ee01-f215-4ccd-b74d-df1097a01a0c"
RUBRIC = ('<rubriclist><rubric scorepoint="2"><name>R2</name></rubric><samplelist maxval="2" minval="2">'
          '<sample purpose="Exemplar" scorepoint="2"><samplecontent><![CDATA[<p>Path C is best</p>]]>'
          '</samplecontent></sample></samplelist><samplelist maxval="1" minval="1"><sample scorepoint="1">'
          '<samplecontent><![CDATA[<p>Path C</p>]]></samplecontent></sample></samplelist>'
          '<samplelist><sample scorepoint="0"><samplecontent><![CDATA[<p>NA</p>]]></samplecontent></sample>'
          '</samplelist></rubriclist>')


def make(seed: int = 3) -> Thss:
    store = Store(store_url())
    clock = Clock()
    clock.freeze(T, datetime(2024, 1, 1, tzinfo=UTC))
    model = Thss(store, clock, IdSource(seed), {})
    store.create_all()
    return model


def item(key: str, max_score: int = 2, passage: str | None = None, rubric: str = "",
         dims: list[dict[str, object]] | None = None) -> dict[str, object]:
    return {"itemId": key, "bankKey": "200", "maxScore": str(max_score), "HandScored": "1", "scoreType": "R",
            "Passage": passage, "rubriclist": rubric, "dimensions": dims or []}


def test_passage_rule_takes_scored_siblings() -> None:
    m = make()
    m.submit_items(T, [item("1", passage="P9"), item("2", passage="P9"), item("3")])
    result = m.import_file(T, "f.xml", thss_trt(OPP, "200-1:SA:NOTSCORED;200-2:SA:SCORED;200-3:SA:SCORED"))
    assert result.success
    assert sorted(r["itemId"] for r in m.queue(T)) == [1, 2]


def test_not_hand_scored_is_ignored() -> None:
    m = make()
    m.submit_items(T, [{**item("1"), "HandScored": "0"}])
    m.import_file(T, "f.xml", thss_trt(OPP, "200-1:SA:NOTSCORED"))
    assert m.queue(T) == []


def random_scores(seed: int) -> list[int]:
    m = make(seed)
    m.submit_items(T, [item(str(k), max_score=10) for k in range(1, 6)])
    m.set_policies(T, [{"itemType": "SA", "kind": "random"}])
    m.import_file(T, "f.xml", thss_trt(OPP, ";".join(f"200-{k}:SA:NOTSCORED" for k in range(1, 6))))
    out = []
    for tenant, key in m.due():
        delivery = m.claim_policy(tenant, key)
        assert delivery is not None
        root = etree.fromstring(delivery.body)
        out.append(int(root.find("Score/ScoreInfo").get("scorePoint")))
    return out


def test_random_policy_is_reproducible_and_in_range() -> None:
    first, again = random_scores(11), random_scores(11)
    assert first == again and len(first) == 5 and all(0 <= s <= 10 for s in first)
    assert len(set(first)) > 1


def test_rubric_policy_uses_the_best_matching_sample() -> None:
    assert rubric_samples(RUBRIC) == [(2, "path c is best"), (1, "path c")]
    m = make()
    m.submit_items(T, [item("1", rubric=RUBRIC), item("2", rubric=RUBRIC), item("3", rubric=RUBRIC)])
    m.set_policies(T, [{"itemType": "SA", "kind": "rubric", "default": 0}])
    m.import_file(T, "f.xml", thss_trt(OPP, "200-1:SA:NOTSCORED:I think Path C is best.;"
                                            "200-2:SA:NOTSCORED:path c;200-3:SA:NOTSCORED:no idea"))
    scores = {}
    for tenant, key in m.due():
        delivery = m.claim_policy(tenant, key)
        assert delivery is not None
        root = etree.fromstring(delivery.body)
        token = json.loads(root.findtext("Score/ContextToken"))
        scores[token["itemID"]] = int(root.find("Score/ScoreInfo").get("scorePoint"))
    assert scores == {1: 2, 2: 1, 3: 0}


def valid_response(xml: str) -> None:
    """THSS's callback body is a valid ``itemscore-response`` (and pure ASCII, as THSS encodes it)."""
    verdict = validate(xml.encode("ascii"), "itemscore-response")
    assert verdict.valid, verdict.errors


def test_single_dimension_with_condition_code_has_overall_rationale() -> None:
    xml = score_response_xml([DimensionScore("Correct Answer", 0, "B")], True, "T1", '{"a":1}')
    valid_response(xml)
    root = etree.fromstring(xml.encode())
    info = root.find("Score/ScoreInfo")
    assert info.get("maxScore") is None and root.find("Score/ScoreLatency") is None
    assert json.loads(info.findtext("ScoreRationale/Message")) == {"conditionCode": "B"}
    initial = info.find("SubScoreList/ScoreInfo")
    assert initial.get("scoreDimension") == "Initial"
    assert json.loads(initial.findtext("ScoreRationale/Message")) == {"scorerID": "T1", "conditionCode": "B"}


def test_na_condition_is_written_as_none() -> None:
    xml = score_response_xml([DimensionScore("X", 1, "NA")], True, "T1", "{}")
    valid_response(xml)
    root = etree.fromstring(xml.encode())
    assert root.find("Score/ScoreInfo/ScoreRationale") is None
    assert "conditionCode" not in root.findtext("Score/ScoreInfo/SubScoreList/ScoreInfo/ScoreRationale/Message")


def test_multi_dimension_and_guide_forms_are_valid_responses() -> None:
    dims = [DimensionScore("Organization/Purpose", 3, None), DimensionScore("Evidence/Elaboration", 2, "B"),
            DimensionScore("Conventions & <more>", 1, None)]
    xml = score_response_xml(dims, False, 'T "1"', '{"oppKey":"]]>"}')
    valid_response(xml)
    root = etree.fromstring(xml.encode())
    assert root.find("Score/ScoreInfo").get("scorePoint") == "6"
    assert [d.get("scoreDimension") for d in root.findall("Score/ScoreInfo/SubScoreList/ScoreInfo")] == [
        "Organization/Purpose", "Evidence/Elaboration", "Conventions & <more>"]
    assert json.loads(root.findtext("Score/ContextToken")) == {"oppKey": "]]>"}
    guide = score_response_xml([DimensionScore("X", 2, None)], True, "T1", "tok", max_score=2, latency=0)
    valid_response(guide)
    assert etree.fromstring(guide.encode()).findtext("Score/ScoreLatency") == "0"


def test_policy_deliveries_are_valid_responses() -> None:
    m = make()
    dims = [{"description": d, "minPoints": "0", "maxPoints": "4", "conditions": [{"code": "B"}]}
            for d in ("Organization/Purpose", "Evidence/Elaboration", "Conventions")]
    m.submit_items(T, [item("1", max_score=10, dims=dims), item("2")])
    m.set_policies(T, [{"itemType": "SA", "kind": "random"}])
    m.import_file(T, "f.xml", thss_trt(OPP, "200-1:SA:NOTSCORED;200-2:SA:NOTSCORED"))
    bodies = []
    for tenant, key in m.due():
        delivery = m.claim_policy(tenant, key)
        assert delivery is not None
        bodies.append(delivery.body.decode("ascii"))
    assert len(bodies) == 2
    for body in bodies:
        valid_response(body)
    nested = sorted(len(etree.fromstring(b.encode()).findall("Score/ScoreInfo/SubScoreList/ScoreInfo/SubScoreList"))
                    for b in bodies)
    assert nested == [0, 3]  # the single-dimension item has its Initial read directly under Overall


def test_finish_without_2xx_resets_to_tentative_and_records() -> None:
    m = make()
    m.submit_items(T, [item("1")])
    m.import_file(T, "f.xml", thss_trt(OPP, "200-1:SA:NOTSCORED:caf\u00e9"))
    row = m.queue(T)[0]
    delivery = m.claim_manual(T, row["id"], {"score": 2})
    delivery.body.decode("ascii")
    assert m.queue(T)[0]["status"] == "sending"
    assert m.finish(delivery, 503, "callback answered 503") == "tentative"
    assert m.queue(T)[0]["status"] == "tentative"
    again = m.claim_manual(T, row["id"], {"score": 1})
    assert m.finish(again, 200, None) == "sent"
    assert [c["status"] for c in m.callback_log(T)] == [503, 200]


@pytest.mark.parametrize(("payload", "field"), [
    ([{"itemId": "1", "bankKey": "200", "maxScore": "-1"}], "[0].maxScore"),
    ([{"itemId": "1", "bankKey": "200", "maxScore": "2", "HandScored": "yes"}], "[0].HandScored"),
    ([{"itemId": "1", "bankKey": "200", "maxScore": "2",
       "dimensions": [{"description": "d", "minPoints": "3", "maxPoints": "1"}]}], "[0].dimensions[0].maxPoints"),
    ("nope", "body"),
])
def test_item_config_errors_name_the_field(payload: object, field: str) -> None:
    with pytest.raises(InputError) as exc:
        make().submit_items(T, payload)
    assert exc.value.field == field


@pytest.mark.parametrize(("policy", "field"), [
    ({"itemType": "SA", "kind": "magic"}, "policies[0].kind"),
    ({"itemType": "SA", "delay": -1}, "policies[0].delay"),
    ({"kind": "fixed"}, "policies[0].itemType"),
    ({"itemType": "SA", "colour": "red"}, "policies[0].colour"),
])
def test_policy_errors_name_the_field(policy: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as exc:
        make().set_policies(T, [policy])
    assert exc.value.field == field
