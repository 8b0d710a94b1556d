"""Steps where the thss mock works with examrig's real tis mock (hand scoring through the rig)."""

from __future__ import annotations

from typing import Any

from lxml import etree  # type: ignore[import-untyped]
from pytest_bdd import given, parsers, then, when

from conformance.targets import Rig
from contracts.generate import generate_testpackage, generate_trt
from features.steps._documents import opportunity_key

HAND_TYPES = ("ER", "SA", "WER")  # TIS's default hand-scoring item types (docs/tis.md)


def _package(seed: int) -> bytes:
    return generate_testpackage(seed, items=8, hand_scored=True)


def _trt(seed: int) -> bytes:
    return generate_trt(seed, package=_package(seed))


def _hand_items(seed: int) -> list[tuple[str, str, str]]:
    """``(bankKey, key, format)`` of the TRT's items TIS sends to hand scoring."""
    opp = etree.fromstring(_trt(seed)).find("Opportunity")
    return [(i.get("bankKey"), i.get("key"), i.get("format")) for i in opp.findall("Item")
            if i.get("format") in HAND_TYPES and i.get("scoreStatus", "").upper() == "NOTSCORED"]


def _key(seed: int) -> str:
    return opportunity_key(_trt(seed))


@given(parsers.parse("TIS has the hand-scored test package generated from seed {seed:d} and no data warehouse"))
def tis_hand_package(rig: Rig, tenant: str, seed: int) -> None:
    """A generated package with hand-scored items; TIS's THSS target and daemon callback are the rig's (defaults)."""
    r = rig.admin("tis", "POST", "seed", tenant=tenant, json={"config": [{"dw_urls": []}]})
    assert r.status_code == 201, r.text
    r = rig.request("tis", "POST", "/api/testpackage", tenant=tenant, data=_package(seed))
    assert r.status_code == 201, r.text


@given(parsers.parse("thss hand-scores every item of the TIS TRT generated from seed {seed:d} with max score {top:d}"))
def thss_items_of(rig: Rig, tenant: str, context: dict[str, Any], seed: int, top: int) -> None:
    """Configure in thss, as the SupportTool would, the items TIS will send it."""
    items = _hand_items(seed)
    assert items, f"the TRT of seed {seed} has no hand-scored item"
    context["hand_items"] = [f"{bank}-{key}" for bank, key, _ in items]
    body = [{"itemId": key, "bankKey": bank, "maxScore": str(top), "HandScored": "1", "scoreType": fmt,
             "Passage": None, "rubriclist": "", "dimensions": []} for bank, key, fmt in items]
    r = rig.request("thss", "POST", "/api/item/submit", tenant=tenant, json=body)
    assert r.status_code == 200, r.text


@given(parsers.parse("TDS registered the hand-scored TIS TRT generated from seed {seed:d} as submitted"))
def tds_hand_submitted(rig: Rig, tenant: str, seed: int) -> None:
    """The opportunity exists at TDS (the acknowledgement's receiver)."""
    r = rig.admin("tds", "POST", "seed", tenant=tenant,
                  json={"opportunities": [{"oppKey": _key(seed), "status": "submitted"}]})
    assert r.status_code == 201, r.text


@when(parsers.parse("TDS posts the hand-scored TIS TRT generated from seed {seed:d} with its callback at tds"))
def post_hand_trt(rig: Rig, tenant: str, context: dict[str, Any], seed: int) -> None:
    """POST /api/testresult with the legacy TDS callback."""
    context["opp_key"] = _key(seed)
    context["response"] = rig.request(
        "tis", "POST", "/api/testresult", tenant=tenant, data=_trt(seed), headers={"Content-Type": "application/xml"},
        params={"statusCallback": rig.url("tds") + "/student/TIS/API/tisReply"})
    assert context["response"].status_code == 200, context["response"].text


def _tis_opp(rig: Rig, tenant: str, context: dict[str, Any]) -> dict[str, Any]:
    r = rig.admin("tis", "GET", f"state/opportunities/{context['opp_key']}", tenant=tenant)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


@then(parsers.parse('thss holds every hand-scored item of that opportunity in status "{status}"'))
def thss_holds_all(rig: Rig, tenant: str, context: dict[str, Any], status: str) -> None:
    """The upload TIS made reached thss's work queue, one assignment per hand-scored item."""
    response = rig.admin("thss", "GET", f"state/queue/{context['opp_key']}", tenant=tenant)
    assert response.status_code == 200, response.text
    rows = response.json()["assignments"]
    got = sorted(f"{r['bankKey']}-{r['itemId']}" for r in rows)
    assert got == sorted(context["hand_items"]), rows
    assert all(r["status"] == status for r in rows), rows


@then(parsers.parse('TIS has every hand-scored item of that opportunity in status "{status}"'))
def tis_items_waiting(rig: Rig, tenant: str, context: dict[str, Any], status: str) -> None:
    """TIS's item score rows for the hand-scored items."""
    rows = {i["item"]: i for i in _tis_opp(rig, tenant, context)["itemScores"]}
    for item in context["hand_items"]:
        assert rows[item]["status"] == status, rows


@then(parsers.parse('TIS stored score {score:d} with status "{status}" for every hand-scored item of that opportunity'))
def tis_scores(rig: Rig, tenant: str, context: dict[str, Any], score: int, status: str) -> None:
    """The scores thss posted, as TIS's scoring daemon stored them (admin state)."""
    opp = _tis_opp(rig, tenant, context)
    rows = {i["item"]: i for i in opp["itemScores"]}
    for item in context["hand_items"]:
        assert rows[item]["status"] == status and rows[item]["score"] == score, rows
    rejected = rig.admin("tis", "GET", "state/daemon/all", tenant=tenant).json()["rejections"]
    assert rejected == [], rejected


@then(parsers.parse('the TIS opportunity of that TRT went through the statuses "{statuses}"'))
def tis_statuses(rig: Rig, tenant: str, context: dict[str, Any], statuses: str) -> None:
    """``testopportunitystatus`` rows in order."""
    assert _tis_opp(rig, tenant, context)["statuses"] == statuses.split(","), _tis_opp(rig, tenant, context)
