"""Generators: deterministic by seed, and valid against our schemas and the official ones."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from contracts.generate import (
    TRT_KINDS,
    generate_combined_trts,
    generate_participants,
    generate_testpackage,
    generate_trt,
    read_package,
)
from contracts.transform import to_thss_upload
from contracts.validate import validate

PROFILE = {"machine": "trt-strict", "partial": "trt-strict", "combined": "trt-strict", "scored": "trt"}


def _both(official: dict[str, Any], doc: bytes, schema: str) -> None:
    result = validate(doc, schema)
    assert result.valid, result.errors[:3]
    assert official[schema].validate(etree.fromstring(doc).getroottree()), official[
        schema
    ].error_log.last_error


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", TRT_KINDS)
def test_generated_trts_valid_ours_and_official(official: dict[str, Any], kind: str, seed: int) -> None:
    doc = generate_trt(seed, kind=kind, items=4 + seed * 3)
    _both(official, doc, PROFILE[kind])
    _both(official, to_thss_upload(doc, "http://tis.example/ItemScoringCallbackRcv.axd"), "thss-upload")


@pytest.mark.parametrize("combined", [False, True])
def test_generated_packages_valid_ours_and_official(official: dict[str, Any], combined: bool) -> None:
    for seed in range(4):
        _both(official, generate_testpackage(seed, items=5 + seed, combined=combined), "testpackage")


def test_deterministic_by_seed() -> None:
    assert generate_trt(7, kind="scored") == generate_trt(7, kind="scored")
    assert generate_trt(7) != generate_trt(8)
    assert generate_testpackage("x") == generate_testpackage("x")
    assert generate_participants(3, 5) == generate_participants(3, 5)
    assert generate_participants(3, 5) != generate_participants(4, 5)


def test_machine_trt_is_the_transmitter_shape() -> None:
    root = etree.fromstring(generate_trt(1, kind="machine", items=20))
    opp = root.find("Opportunity")
    assert opp.get("oppId") == "0" and opp.get("database") == "exam"
    assert opp.findall("Score") == []
    for item in opp.iter("Item"):
        hand = item.get("format") in ("ER", "WER", "SA")
        assert item.get("scoreStatus") == ("NOTSCORED" if hand else "SCORED")
        assert (item.get("score") == "-1") == hand


def test_partial_trt_leaves_hand_scored_and_eq_items_unscored() -> None:
    root = etree.fromstring(generate_trt(2, kind="partial", items=15))
    unscored = {i.get("format") for i in root.iter("Item") if i.get("scoreStatus") == "NOTSCORED"}
    assert "EQ" in unscored and unscored & {"ER", "WER", "SA"}
    assert {i.get("scoreStatus") for i in root.iter("Item")} == {"SCORED", "NOTSCORED"}


def test_scored_trt_has_opportunity_scores_and_hand_score_trees() -> None:
    root = etree.fromstring(generate_trt(3, kind="scored", items=15))
    labels = [s.get("measureLabel") for s in root.iter("Score")]
    for label in ("Attempted", "ThetaScore", "ScaleScore", "PerformanceLevel", "ItemCount", "RawScore"):
        assert label in labels
    assert all(i.get("scoreStatus") == "SCORED" for i in root.iter("Item"))
    hand = [i for i in root.iter("Item") if i.get("format") in ("ER", "WER", "SA")]
    assert hand and all(i.find("ScoreInfo/SubScoreList/ScoreInfo") is not None for i in hand)
    assert '"scorerID"' in hand[0].findtext("ScoreInfo/ScoreRationale/Message")


def test_trts_match_their_package() -> None:
    package = generate_testpackage(11, items=9)
    info = read_package(package)
    root = etree.fromstring(generate_trt(5, kind="machine", package=package))
    keys = [(int(i.get("bankKey")), int(i.get("key")), i.get("format")) for i in root.iter("Item")]
    assert keys == [(it.bank_key, it.key, it.format) for seg in info.tests[0].segments for it in seg.items]
    assert root.find("Test").get("testId") == info.tests[0].id


def test_package_carries_scoring_data() -> None:
    root = etree.fromstring(generate_testpackage(4, items=10))
    rules = {r.get("name") for r in root.iter("Rule")}
    assert {"SBACTheta", "ScaleScore", "TestPerformanceLevel", "RawScore", "ItemCount"} <= rules
    assert len(root.findall(".//PerformanceLevel")) == 4
    props = {p.get("name") for p in root.iter("Property")}
    assert {"slope", "intercept"} <= props
    params = {p.get("measurementParameter") for p in root.iter("ItemScoreParameter")}
    assert {"a", "b", "c", "b0"} <= params
    assert root.find(".//Item[@handScored='true']/TeacherHandScoring") is not None


def test_combined_components_share_merge_keys(official: dict[str, Any]) -> None:
    package = generate_testpackage(9, items=6, combined=True)
    info = read_package(package)
    assert info.combined and len(info.tests) == 2
    docs = generate_combined_trts(9, package=package)
    roots = [etree.fromstring(d) for d in docs]
    assert [r.find("Test").get("testId") for r in roots] == [t.id for t in info.tests]
    for attr in ("opportunity", "windowId"):
        assert len({r.find("Opportunity").get(attr) for r in roots}) == 1
    assert len({r.find("Examinee").get("key") for r in roots}) == 1
    for doc in docs:
        _both(official, doc, "trt-strict")


def test_participants_have_odata_names_and_unique_ids() -> None:
    people = generate_participants(1, 200)
    assert len(people) == 200 and len({p["ID"] for p in people}) == 200
    first = people[0]
    for key in ("ID", "Name", "FirstName", "LastName", "PrimaryEmail", "RegistrationDateTime", "Blocked"):
        assert key in first
    assert isinstance(first["ID"], int) and 0 < first["ID"] < 2**31
    assert first["RegistrationDateTime"].endswith("Z") and "@" in first["PrimaryEmail"]


def test_unknown_kind_and_component() -> None:
    with pytest.raises(ValueError, match="unknown TRT kind"):
        generate_trt(1, kind="nope")
    with pytest.raises(ValueError, match="no component 2"):
        generate_trt(1, component=2)
