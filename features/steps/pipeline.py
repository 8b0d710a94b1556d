"""Steps about the whole pipeline: TDS submits, TIS processes, THSS hand-scores, the DW stores, TDS hears back."""

from __future__ import annotations

import re
from typing import Any

from pytest_bdd import given, parsers, then, when

from conformance.targets import Rig
from contracts.generate import generate_combined_trts, generate_testpackage, generate_trt
from features.steps._documents import opportunity_key

HAND_TYPES = ("SA", "ER", "WER")
WER_DIMENSIONS = (("Organization/Purpose", 4), ("Evidence/Elaboration", 4), ("Conventions", 2))


def _package(kind: str, seed: int) -> bytes:
    if kind == "machine-scored":
        return generate_testpackage(seed, items=8, hand_scored=False)
    if kind == "hand-scored":
        return generate_testpackage(seed, items=8)
    if kind == "combined":
        return generate_testpackage(seed, items=6, combined=True, hand_scored=False)
    raise AssertionError(f"unknown package kind {kind}")


_key = opportunity_key


def _hand_items(trt: bytes) -> list[tuple[str, str, str]]:
    """(bank, key, format) of the items TIS sends to THSS (selected, not scored, a hand-scored type)."""
    out = []
    for m in re.finditer(rb"<Item [^>]*>", trt):
        tag = m.group(0).decode()
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        if attrs.get("format") in HAND_TYPES and attrs.get("isSelected") == "1" and \
                attrs.get("scoreStatus", "").upper() != "SCORED":
            out.append((attrs["bankKey"], attrs["key"], attrs["format"]))
    return out


@given("the pipeline TIS posts to the dw mock's imports with the openam loader account")
def tis_targets(rig: Rig, tenant: str) -> None:
    """TIS's DW target is the dw mock's RDW import endpoint; its outbound token comes from the openam mock."""
    auth = {"url": "peer:openam/", "realm": "/sbac", "username": "dw-loader@example.org", "password": "password",
            "client_id": "examrig", "client_secret": "examrig-secret"}
    r = rig.admin("tis", "POST", "seed", tenant=tenant, json={"config": [{
        "dw_urls": ["peer:dw/exams/imports"], "thss_url": "peer:thss/api/test/submit",
        "daemon_callback": "peer:tis/ItemScoringCallbackRcv.axd", "outbound_auth": auth}]})
    assert r.status_code == 201, r.text


@given(parsers.parse("the pipeline TIS has the {kind} test package generated from seed {seed:d}"))
def tis_package(rig: Rig, tenant: str, context: dict[str, Any], kind: str, seed: int) -> None:
    """POST /api/testpackage."""
    context["package"] = _package(kind, seed)
    r = rig.request("tis", "POST", "/api/testpackage", tenant=tenant, data=context["package"])
    assert r.status_code == 201, r.text


@given(parsers.parse("the thss mock hand-scores the pipeline TRT from seed {seed:d} with the fixed policy score "
                     "{score:d}"))
def thss_policy(rig: Rig, tenant: str, context: dict[str, Any], seed: int, score: int) -> None:
    """Configure the TRT's hand items at THSS (WER with its three dimensions) and a fixed policy per type."""
    trt = generate_trt(seed, package=context["package"])
    items = _hand_items(trt)
    assert items, "the generated TRT has no hand-scored items"
    body = []
    for bank, key, fmt in items:
        dims = WER_DIMENSIONS if fmt == "WER" else (("Correct Answer", 2),)
        body.append({"itemId": key, "bankKey": bank, "HandScored": "1", "scoreType": "R", "rubriclist": "",
                     "maxScore": str(sum(m for _, m in dims)), "dimensions": [
                         {"description": name, "minPoints": "0", "maxPoints": str(top), "conditions": []}
                         for name, top in dims]})
    r = rig.request("thss", "POST", "/api/item/submit", tenant=tenant, json=body)
    assert r.status_code == 200, r.text
    policies = [{"itemType": t, "kind": "fixed", "score": score} for t in HAND_TYPES]
    r = rig.admin("thss", "POST", "seed", tenant=tenant, json={"policies": policies})
    assert r.status_code == 201, r.text
    context["hand_items"] = items


def _submit(rig: Rig, tenant: str, context: dict[str, Any], trt: bytes) -> None:
    key = _key(trt)
    r = rig.admin("tds", "POST", "seed", tenant=tenant, json={"opportunities": [{"oppKey": key,
                                                                                 "status": "submitted"}]})
    assert r.status_code == 201, r.text
    r = rig.request("tis", "POST", "/api/testresult", tenant=tenant, data=trt,
                    headers={"Content-Type": "application/xml"},
                    params={"statusCallback": rig.url("tds") + "/student/TIS/API/tisReply"})
    assert r.status_code == 200 and r.content == b"", r.text
    context.setdefault("opp_keys", []).append(key)
    context["opp_key"] = key


@when(parsers.parse("TDS submits the pipeline TRT generated from seed {seed:d}"))
def submit(rig: Rig, tenant: str, context: dict[str, Any], seed: int) -> None:
    """The opportunity is submitted at TDS, and its TRT posted to TIS with TDS's callback."""
    _submit(rig, tenant, context, generate_trt(seed, package=context["package"]))


@when(parsers.parse("TDS submits component {n:d} of the pipeline combined TRTs generated from seed {seed:d}"))
def submit_component(rig: Rig, tenant: str, context: dict[str, Any], n: int, seed: int) -> None:
    """One component TRT of a combined opportunity."""
    _submit(rig, tenant, context, generate_combined_trts(seed, package=context["package"])[n - 1])


def _busy(rig: Rig, tenant: str) -> bool:
    r = rig.admin("tis", "GET", "state/queue/all", tenant=tenant)
    assert r.status_code == 200, r.text
    locations = r.json()["locations"]
    if locations.get("source") or locations.get("processing"):
        return True
    r = rig.admin("thss", "GET", "state/queue/all", tenant=tenant)
    assert r.status_code == 200, r.text
    return any(a["status"] in ("pending", "sending") for a in r.json()["assignments"])


@when("the pipeline runs until it is quiet")
def run_until_quiet(rig: Rig, tenant: str) -> None:
    """Alternate TIS passes and THSS policy passes until neither has work (bounded: no endless loop)."""
    for _ in range(12):
        if rig.is_mock("tis"):
            rig.apps["tis"].process_pending(tenant)  # type: ignore[attr-defined]
        r = rig.admin("thss", "POST", "run", tenant=tenant)
        assert r.status_code == 200, r.text
        if rig.is_mock("tis"):
            rig.apps["tis"].process_pending(tenant)  # type: ignore[attr-defined]
        if not _busy(rig, tenant):
            return
    raise AssertionError("the pipeline did not settle")


def _tis_opp(rig: Rig, tenant: str, key: str) -> dict[str, Any]:
    r = rig.admin("tis", "GET", f"state/opportunities/{key}", tenant=tenant)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def _imports(rig: Rig, tenant: str) -> list[dict[str, Any]]:
    r = rig.admin("dw", "GET", "state/receipts/imports", tenant=tenant)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["receipts"]
    return rows


@then(parsers.parse("the dw mock holds {count:d} processed import of that opportunity"))
@then(parsers.parse("the dw mock holds {count:d} processed imports of that opportunity"))
def dw_imports(rig: Rig, tenant: str, context: dict[str, Any], count: int) -> None:
    """Receipts of /exams/imports for the opportunity, every one PROCESSED (its checks passed)."""
    rows = [r for r in _imports(rig, tenant) if (r["oppKey"] or "").lower() == context["opp_key"]]
    assert len(rows) == count, _imports(rig, tenant)
    assert all(r["status"] == "PROCESSED" and r["creator"] == "dw-loader@example.org" for r in rows), rows


@then(parsers.parse('the TDS audit of that opportunity reads "{accesses}"'))
def tds_audit(rig: Rig, tenant: str, context: dict[str, Any], accesses: str) -> None:
    """The audit rows TIS's acknowledgements left at TDS, oldest first."""
    r = rig.admin("tds", "GET", f"state/opportunities/{context['opp_key']}", tenant=tenant)
    assert r.status_code == 200, r.text
    got = [a["accessType"] for a in r.json()["audit"] if a["source"] == "tisReply"]
    assert got == accesses.split(","), r.json()["audit"]


@then(parsers.parse('every pipeline TRT is "{status}" at TDS with the audit "{accesses}"'))
def tds_all(rig: Rig, tenant: str, context: dict[str, Any], status: str, accesses: str) -> None:
    """Each submitted opportunity (components of a combined test included)."""
    for key in context["opp_keys"]:
        context["opp_key"] = key
        r = rig.admin("tds", "GET", f"state/opportunities/{key}", tenant=tenant)
        assert r.status_code == 200 and r.json()["status"] == status, r.text
        tds_audit(rig, tenant, context, accesses)


@then(parsers.parse('the TIS statuses of that opportunity are "{statuses}"'))
def tis_statuses(rig: Rig, tenant: str, context: dict[str, Any], statuses: str) -> None:
    """testopportunitystatus rows, oldest first."""
    got = _tis_opp(rig, tenant, context["opp_key"])["statuses"]
    assert got == statuses.split(","), got


@then(parsers.parse('the destination TRT carries the hand scores "{scores}" by item type'))
def hand_scores(rig: Rig, tenant: str, context: dict[str, Any], scores: str) -> None:
    """Every hand item of the TRT: ``TYPE:score,…`` (WER: the resolved D + C)."""
    want = dict(s.split(":") for s in scores.split(","))
    doc = _tis_opp(rig, tenant, context["opp_key"])["files"][-1]["contents"]
    assert 'status="scored"' in doc
    for bank, key, fmt in context["hand_items"]:
        m = re.search(rf'<Item [^>]*bankKey="{bank}" key="{key}"[^>]*>', doc)
        assert m is not None, (bank, key)
        assert f'score="{want[fmt]}"' in m.group(0) and 'scoreStatus="SCORED"' in m.group(0), m.group(0)
        if fmt == "WER":
            block = doc[m.end():doc.index("</Item>", m.end())]
            assert re.findall(r'scoreDimension="(D|C)"', block) == ["D", "C"], block


@then(parsers.parse('one combined TRT of that student is "{status}" with {count:d} components and reached the dw '
                    "mock once"))
def combined(rig: Rig, tenant: str, context: dict[str, Any], status: str, count: int) -> None:
    """The combined TRT (oppId above 5,000,000) is the only import; TDS never heard of its key."""
    imports = _imports(rig, tenant)
    others = [r for r in imports if (r["oppKey"] or "").lower() not in context["opp_keys"]]
    assert len(imports) == 1 and len(others) == 1, imports
    key = others[0]["oppKey"].lower()
    assert others[0]["status"] == "PROCESSED", others
    files = _tis_opp(rig, tenant, key)["files"]
    doc = files[-1]["contents"]
    assert re.search(rf'<Opportunity [^>]*status="{status}"', doc), doc[:600]
    opp_id = int(re.search(r'<Opportunity [^>]*oppId="(\d+)"', doc).group(1))  # type: ignore[union-attr]
    assert opp_id > 5_000_000
    assert re.findall(r'context="COMPONENT_(\d+)" name="OPPID"', doc) == [str(n) for n in range(1, count + 1)]
    assert rig.admin("tds", "GET", f"state/opportunities/{key}", tenant=tenant).status_code == 404
    assert not any(s["kind"] == "ack" for s in _tis_opp(rig, tenant, key)["sends"])
