"""WER item resolution (D and C dimensions) and the stored ScoreInfo, against the real scored TRTs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]

from contracts.generate import generate_testpackage, generate_trt
from mocks.tis.resolution import ResolutionError, resolve_wer, round_half_away, stored_score_info
from tests.tis.conftest import Harness


def _thss_wer(op: int, ev: int, conv: int) -> etree._Element:
    def dim(name: str, point: int) -> str:
        return (f'<ScoreInfo scorePoint="{point}" scoreDimension="{name}" scoreStatus="Scored"><SubScoreList>'
                f'<ScoreInfo scorePoint="{point}" scoreDimension="Initial" scoreStatus="Scored"><ScoreRationale>'
                f'<Message>{{"scorerID":"T1","conditionCode":"B"}}</Message></ScoreRationale></ScoreInfo>'
                "</SubScoreList></ScoreInfo>")
    return etree.fromstring(f'<ScoreInfo scorePoint="{op + ev + conv}" scoreDimension="Overall" scoreStatus="Scored">'
                            f"<SubScoreList>{dim('Organization/Purpose', op)}{dim('Evidence/Elaboration', ev)}"
                            f"{dim('Conventions', conv)}</SubScoreList></ScoreInfo>")


def _dims(info: etree._Element) -> dict[str, str]:
    return {str(c.get("scoreDimension")): str(c.get("scorePoint")) for c in info.find("SubScoreList")}


@pytest.mark.parametrize(("value", "expected"), [(2.5, 3), (1.5, 2), (2.0, 2), (0.5, 1), (-0.5, -1), (3.49, 3)])
def test_round_half_away_from_zero(value: float, expected: int) -> None:
    assert round_half_away(value) == expected


@pytest.mark.parametrize(("op", "ev", "conv", "d", "overall"), [(3, 2, 2, "3", "5"), (1, 2, 0, "2", "2"),
                                                                  (4, 4, 2, "4", "6"), (0, 0, 0, "0", "0")])
def test_wer_resolution_adds_d_and_c(op: int, ev: int, conv: int, d: str, overall: str) -> None:
    info = resolve_wer(_thss_wer(op, ev, conv))
    assert list(_dims(info)) == ["Organization/Purpose", "Evidence/Elaboration", "Conventions", "D", "C"]
    assert _dims(info)["D"] == d and _dims(info)["C"] == str(conv)
    assert info.get("scorePoint") == overall and info.get("scoreStatus") == "Scored"
    c = info.find("SubScoreList")[4]
    (final,) = c.find("SubScoreList")
    assert final.get("scoreDimension") == "Final"
    assert json.loads(final.find("ScoreRationale/Message").text) == {"scorerID": "SBACItemResolutionRuleWER",
                                                                     "conditionCode": "B"}
    (d_final,) = info.find("SubScoreList")[3].find("SubScoreList")
    assert (d_final.get("scoreDimension"), d_final.get("scorePoint")) == ("Final", d)


def test_wer_resolution_refuses_a_missing_dimension() -> None:
    info = _thss_wer(1, 1, 1)
    sub = info.find("SubScoreList")
    sub.remove(sub[2])
    with pytest.raises(ResolutionError, match="Conventions"):
        resolve_wer(info)
    with pytest.raises(ResolutionError, match="Overall"):
        resolve_wer(etree.fromstring('<ScoreInfo scorePoint="1" scoreDimension="Initial" scoreStatus="Scored"/>'))


def test_stored_score_info_writes_max_score_zero_in_ise_order() -> None:
    text = stored_score_info(etree.fromstring('<ScoreInfo scoreStatus="Scored" scoreDimension="Overall" '
                                             'scorePoint="2"/>'))
    assert text == '<ScoreInfo scorePoint="2" maxScore="0" scoreDimension="Overall" scoreStatus="Scored"/>'


def test_resolution_reproduces_every_wer_item_of_the_real_trts(shared_data: Path) -> None:
    """Strip D and C from each real WER ScoreInfo, resolve again: the same D, C and Overall come back."""
    checked = 0
    for path in sorted((shared_data / "tis" / "trt").glob("*.xml")):
        root = etree.parse(str(path)).getroot()
        for item in root.iter("Item"):
            info = item.find("ScoreInfo")
            if item.get("format") != "WER" or info is None or "D" not in _dims(info):
                continue
            expected = (_dims(info), info.get("scorePoint"), item.get("score"))
            sub = info.find("SubScoreList")
            for child in list(sub):
                if child.get("scoreDimension") in ("D", "C"):
                    sub.remove(child)
            got = resolve_wer(info)
            assert (_dims(got), got.get("scorePoint"), item.get("score")) == expected, path.name
            assert float(got.get("scorePoint")) == float(item.get("score"))
            checked += 1
    assert checked >= 1


def test_daemon_resolves_wer_and_logs_an_unresolvable_one(harness: Harness) -> None:
    pkg = generate_testpackage(41, items=8)
    assert harness.load_package(pkg).status_code == 201
    trt = generate_trt(41, package=pkg)
    key = harness.submitted(trt)
    harness.post_trt(trt)
    harness.tis.process_pending(harness.tenant)
    upload = harness.thss_uploads[0]
    harness.score_all(upload, points=1)
    harness.tis.process_pending(harness.tenant)
    opp = harness.tis.model.opportunity(harness.tenant, key)
    assert opp is not None and opp["statuses"][-1] == "scored"
    final = etree.fromstring(opp["files"][-1]["contents"].encode())
    wer = [i for i in final.iter("Item") if i.get("format") == "WER"]
    assert wer
    for item in wer:  # 1,1,1: D = 1, C = 1, Overall 2
        assert item.get("score") == "2"
        assert _dims(item.find("ScoreInfo"))["D"] == "1" and item.find("ScoreInfo").get("maxScore") == "0"
    # a WER score with the Initial read only cannot be resolved: logged, not stored
    body = ('<ItemScoreResponse><Score><ScoreInfo scorePoint="1" scoreDimension="Overall" scoreStatus="Scored">'
            '<SubScoreList><ScoreInfo scorePoint="1" scoreDimension="Initial" scoreStatus="Scored"/></SubScoreList>'
            '</ScoreInfo><ContextToken>{"oppKey":"' + key + '","itemBank":' + wer[0].get("bankKey") + ',"itemID":'
            + wer[0].get("key") + ',"itemType":"WER"}</ContextToken></Score></ItemScoreResponse>')
    r = harness.session.post("http://tis.examrig.internal/ItemScoringCallbackRcv.axd", data=body.encode(),
                             headers={"X-Examrig-Tenant": harness.tenant})
    assert r.status_code == 200 and r.content == b""
    assert "dimension Conventions missing" in harness.tis.model.daemon_rejections(harness.tenant)[-1]
