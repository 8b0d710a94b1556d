"""The real TRTs and test packages of ../shared/data/tis: loaded, accepted, processed."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree  # type: ignore[import-untyped]

from mocks.tis.processing import MSG_FAIL_VALIDATION
from tests.tis.conftest import Harness

TRTS = ("negative-ICA-ELA-G6-exam-errors.RDW.xml", "partially-scored-MATH-G7.IRP-good-tds-report.xml",
        "scored-IAB-ELA-G6-ReadLit.status-scored.RDW.xml", "scored-IAB-MATH-G4.status-completed.RDW.xml",
        "scored-IAB-MATH-G6-EE.RDW.xml", "scored-combined-ICA-ELA-G6.RDW.xml", "scored-combined-ICA-MATH-G4.RDW.xml",
        "small-ICA-G11-scored.RDW.xml", "status-reset-IAB-MATH-G4.RDW.xml", "summative-ELA-G3-external-vendor.RDW.xml")

PACKAGES = {  # what TIS's v4 loader answers to each package file
    "legacy-administration-Perf-MATH-3.TIS-unit-test.xml": (500, "<testspecification xmlns=''> was not expected."),
    "legacy-administration-combined-MATH-3.TIS-unit-test.xml": (500, "<testspecification xmlns=''> was not expected."),
    "legacy-scoring-combined-MATH-3.TIS-unit-test.xml": (500, "<testspecification xmlns=''> was not expected."),
    "v4-ELA-11-Perf-THSS.thss-test-specification-example-1.xml": (201, ""),
    "v4-combined-MATH-11.TESTPACKAGE-SAMPLE-VALID.xml": (201, ""),
    "v4-combined-MATH-11.test-specification-example-1.xml": (201, ""),
    "v4draft-combined-MATH-11-scoring-rules.TIS-unit-test.xml": (500, "Value cannot be null. Parameter name: "
                                                                      "TestPackage@id"),
}


def bridge_package(trt: bytes) -> bytes:
    """A v4 package naming the TRT's test, segments and items, without scoring rules (the real package is not in
    ../shared): TIS can then validate, merge and route the TRT; its existing scores are kept, never recomputed."""
    root = etree.fromstring(trt)
    test, opp = root.find("Test"), root.find("Opportunity")
    m = re.fullmatch(r"\((.+?)\)(.+)-(\d{4}-\d{4})", test.get("name"))
    assert m is not None, test.get("name")
    publisher, test_id, year = m.groups()
    items = opp.findall("Item")
    bank = Counter(i.get("bankKey") for i in items).most_common(1)[0][0]  # a v4 package has one bank
    pkg = etree.Element("TestPackage", id=test_id, publisher=publisher, academicYear=year, bankKey=bank,
                        subject=test.get("subject") or "", version="1")
    etree.SubElement(pkg, "Blueprint").append(etree.Element("BlueprintElement", id=test_id, type="test"))
    segments = etree.SubElement(etree.SubElement(pkg, "Test", id=test_id), "Segments")
    seg_ids = [s.get("id") for s in opp.findall("Segment")] or sorted({i.get("segmentId") for i in items})
    for n, seg_id in enumerate(seg_ids, start=1):
        seg = etree.SubElement(segments, "Segment", id=seg_id, position=str(n), algorithmType="fixedform")
        group = etree.SubElement(etree.SubElement(etree.SubElement(seg, "SegmentForms"), "SegmentForm", id=seg_id),
                                 "ItemGroup", id=seg_id)
        for item in items:
            if item.get("segmentId") == seg_id:
                etree.SubElement(group, "Item", id=item.get("key"), type=item.get("format"))
    text: bytes = etree.tostring(pkg, xml_declaration=True, encoding="utf-8")
    return text


def _scores(doc: bytes) -> list[tuple[str, str, str, str]]:
    opp = etree.fromstring(doc).find("Opportunity")
    return [(s.get("measureOf"), s.get("measureLabel"), s.get("value"), s.get("standardError") or "")
            for s in opp.findall("Score")]


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_real_packages_load_as_the_v4_loader_answers(harness: Harness, shared_data: Path, name: str) -> None:
    r = harness.load_package((shared_data / "tis" / "testpackage" / name).read_bytes())
    status, message = PACKAGES[name]
    assert r.status_code == status, r.text
    if status == 500:
        assert r.json()["Message"] == message


REJECTED = {  # the samples TIS's own rules reject, with the rule
    # two ExamineeAttribute rows with the same context and name (the duplicate-examinee-data rule, §4.2)
    "small-ICA-G11-scored.RDW.xml": "SemanticRuleFailed",
    # Opportunity@key="1000000000" is not a GUID: TestFromXML fails, QASYSTEM/Unknown, no acknowledgement
    "summative-ELA-G3-external-vendor.RDW.xml": "QASYSTEM/Unknown",
}


@pytest.mark.parametrize("name", TRTS)
def test_real_trt_is_accepted_and_processed(harness: Harness, shared_data: Path, name: str) -> None:
    trt = (shared_data / "tis" / "trt" / name).read_bytes()
    key = str(etree.fromstring(trt).find("Opportunity").get("key")).lower()
    if re.fullmatch(r"[0-9a-f-]{36}", key):
        harness.submitted(trt)
    assert harness.post_trt(trt).status_code == 200
    assert harness.tis.process_pending(harness.tenant) == 0  # its test is not loaded: it waits in source
    assert [f["location"] for f in harness.tis.model.files(harness.tenant, key)] == ["source"]
    assert harness.load_package(bridge_package(trt)).status_code == 201
    assert harness.tis.process_pending(harness.tenant) == 1
    opp = harness.tis.model.opportunity(harness.tenant, key)
    assert opp is not None
    if name in REJECTED:
        assert [f["location"] for f in opp["files"]] == ["reject"]
        assert [v["rule"] for v in opp["validation"]] == [REJECTED[name]], opp["validation"]
        assert not harness.dw_posts and not harness.thss_uploads
        acks = harness.acks()
        if REJECTED[name] == "QASYSTEM/Unknown":
            assert acks == []
        else:
            assert acks == [{"oppKey": key, "success": False, "error": MSG_FAIL_VALIDATION, "trt": None}]
        return
    assert opp["validation"] == []
    assert [f["location"] for f in opp["files"]] == ["archive", "destination"]
    final = opp["files"][-1]["contents"]
    # the opportunity scores the TRT carried are kept as they were (existing scores are never overwritten)
    assert _scores(final.encode("utf-8")) == _scores(trt) != []
    assert "completeness=" not in final and "validity=" not in final  # attributes TIS does not model
    assert harness.acks() == [{"oppKey": key, "success": True, "trt": None}]
    if name.startswith("partially-scored"):  # NOTSCORED ER/WER/SA items go to THSS; the opp waits in handscoring
        assert opp["statuses"] == ["handscoring"] and len(harness.thss_uploads) == 1
        assert {i["itemType"] for i in opp["itemScores"]} == {"ER", "WER", "SA"}
    else:
        assert not harness.thss_uploads
        assert len(harness.dw_posts) == 1
