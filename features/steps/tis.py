"""Steps about the tis mock: generated packages and TRTs, the processing service, files and scores."""

from __future__ import annotations

import re
from typing import Any

from pytest_bdd import given, parsers, then, when

from conformance.targets import Rig
from contracts.generate import generate_testpackage, generate_trt
from features.steps._documents import opportunity_key


def _package(seed: int) -> bytes:
    return generate_testpackage(seed, items=8, hand_scored=False)


def _trt(seed: int) -> bytes:
    return generate_trt(seed, package=_package(seed))


_key = opportunity_key


@given(parsers.parse("TIS has the machine-scored test package generated from seed {seed:d} and no data warehouse"))
def tis_package(rig: Rig, tenant: str, seed: int) -> None:
    """Load a generated package; configure no DW target for the tenant."""
    r = rig.admin("tis", "POST", "seed", tenant=tenant, json={"config": [{"dw_urls": []}]})
    assert r.status_code == 201, r.text
    r = rig.request("tis", "POST", "/api/testpackage", tenant=tenant, data=_package(seed))
    assert r.status_code == 201, r.text


@given(parsers.parse("TDS registered the TIS TRT generated from seed {seed:d} as submitted"))
def tds_submitted(rig: Rig, tenant: str, seed: int) -> None:
    """The opportunity exists at TDS in status submitted."""
    r = rig.admin("tds", "POST", "seed", tenant=tenant,
                  json={"opportunities": [{"oppKey": _key(_trt(seed)), "status": "submitted"}]})
    assert r.status_code == 201, r.text


@when(parsers.parse("TDS posts the TIS TRT generated from seed {seed:d} with its callback at tds"))
def post_trt(rig: Rig, tenant: str, context: dict[str, Any], seed: int) -> None:
    """POST /api/testresult with the legacy TDS callback."""
    trt = _trt(seed)
    context["opp_key"] = _key(trt)
    context["response"] = rig.request(
        "tis", "POST", "/api/testresult", tenant=tenant, data=trt, headers={"Content-Type": "application/xml"},
        params={"statusCallback": rig.url("tds") + "/student/TIS/API/tisReply"})


@when(parsers.parse('TDS posts the TIS TRT generated from seed {seed:d} with its callback at tds and scoremode '
                     '"{scoremode}"'))
def post_trt_scoremode(rig: Rig, tenant: str, context: dict[str, Any], seed: int, scoremode: str) -> None:
    """POST /api/testresult with the legacy TDS callback and a ``scoremode`` (stored as given, §2.1 check 3)."""
    trt = _trt(seed)
    context["opp_key"] = _key(trt)
    context["callback"] = rig.url("tds") + "/student/TIS/API/tisReply"
    context["response"] = rig.request(
        "tis", "POST", "/api/testresult", tenant=tenant, data=trt, headers={"Content-Type": "application/xml"},
        params={"statusCallback": context["callback"], "scoremode": scoremode})


@when("the TIS processing service runs")
@then("the TIS processing service runs")
def process(rig: Rig, tenant: str) -> None:
    """Drive the worker synchronously (an integrator's TIS processes on its own)."""
    if rig.is_mock("tis"):
        rig.apps["tis"].process_pending(tenant)  # type: ignore[attr-defined]


def _opp(rig: Rig, tenant: str, context: dict[str, Any]) -> dict[str, Any]:
    r = rig.admin("tis", "GET", f"state/opportunities/{context['opp_key']}", tenant=tenant)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


@then(parsers.parse('the TIS files of that TRT are in locations "{locations}"'))
def locations(rig: Rig, tenant: str, context: dict[str, Any], locations: str) -> None:
    """The xmlrepository rows of the opportunity, oldest first."""
    actual = [f["location"] for f in _opp(rig, tenant, context)["files"]]
    assert actual == locations.split(","), actual


@then(parsers.parse('the TIS file of that TRT is stored as "{location}" with its callback URL and scoremode '
                    '"{scoremode}"'))
def stored_as(rig: Rig, tenant: str, context: dict[str, Any], location: str, scoremode: str) -> None:
    """The one xmlrepository row of the TRT, read right after the 200 (committed before it, §2.1 check 7)."""
    files = _opp(rig, tenant, context)["files"]
    assert len(files) == 1, files
    got = {k: files[0][k] for k in ("location", "callbackUrl", "scoreMode")}
    assert got == {"location": location, "callbackUrl": context["callback"], "scoreMode": scoremode}, got


@then(parsers.parse("the TIS file of that TRT has oppId {opp_id:d}"))
def opp_id(rig: Rig, tenant: str, context: dict[str, Any], opp_id: int) -> None:
    """oppId="0" was replaced."""
    f = _opp(rig, tenant, context)["files"][0]
    assert f["oppId"] == opp_id and f'oppId="{opp_id}"' in f["contents"], f["oppId"]


@then(parsers.parse('the destination TRT has the opportunity scores "{labels}"'))
def scores(rig: Rig, tenant: str, context: dict[str, Any], labels: str) -> None:
    """Overall <Score> labels, in order."""
    doc = _opp(rig, tenant, context)["files"][-1]["contents"]
    got = re.findall(r'<Score measureOf="Overall" measureLabel="([^"]+)"', doc)
    assert got == labels.split(","), got


@then(parsers.parse('the TDS opportunity of that TRT has status "{status}"'))
def tds_status(rig: Rig, tenant: str, context: dict[str, Any], status: str) -> None:
    """TDS applied the acknowledgement."""
    r = rig.admin("tds", "GET", f"state/opportunities/{context['opp_key']}", tenant=tenant)
    assert r.status_code == 200 and r.json()["status"] == status, r.text


@given("TIS checks OAuth tokens")
def tis_oauth_on(rig: Rig, tenant: str) -> None:
    """Turn on the receiver's OpenAM bearer check for the tenant."""
    r = rig.admin("tis", "POST", "seed", tenant=tenant, json={"config": [{"oauth": True}]})
    assert r.status_code == 201, r.text


@given(parsers.parse("TIS has the machine-scored test package generated from seed {seed:d} and the dw mock as its "
                     "warehouse"))
def tis_package_dw(rig: Rig, tenant: str, seed: int) -> None:
    """Load a generated package; TIS posts scored TRTs to the dw mock's DW1 receiver."""
    r = rig.admin("tis", "POST", "seed", tenant=tenant, json={"config": [{"dw_urls": ["peer:dw/dw1/services/xml"]}]})
    assert r.status_code == 201, r.text
    r = rig.request("tis", "POST", "/api/testpackage", tenant=tenant, data=_package(seed))
    assert r.status_code == 201, r.text


@given("the tis calls to the dw mock answer 500 once")
def dw_down_once(rig: Rig, tenant: str) -> None:
    """An outbound fault on TIS: its next call to the dw peer gets a 500 without reaching it."""
    r = rig.admin("tis", "POST", "faults", tenant=tenant,
                  json={"kind": "status", "status": 500, "direction": "outbound", "peer": "dw", "times": 1})
    assert r.status_code == 201, r.text


@when(parsers.parse("TDS posts the TIS TRT generated from seed {seed:d} with an item the test does not have"))
def post_trt_unknown_item(rig: Rig, tenant: str, context: dict[str, Any], seed: int) -> None:
    """The generated TRT with one item key changed to one the package does not hold."""
    trt = re.sub(rb'(<Item [^>]*?key=")(\d+)(")', rb"\g<1>99999999\g<3>", _trt(seed), count=1)
    assert b'key="99999999"' in trt
    context["opp_key"] = _key(trt)
    context["response"] = rig.request(
        "tis", "POST", "/api/testresult", tenant=tenant, data=trt, headers={"Content-Type": "application/xml"},
        params={"statusCallback": rig.url("tds") + "/student/TIS/API/tisReply"})
    assert context["response"].status_code == 200, context["response"].text


@then("the TIS file of that TRT has a validation record")
def validation_record(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """At least one QC_ValidationException row for the file."""
    records = _opp(rig, tenant, context)["validation"]
    assert records, "no validation record"


def _acks(rig: Rig, tenant: str, context: dict[str, Any]) -> list[dict[str, Any]]:
    entries = rig.admin("tds", "GET", "journal?path=/student/TIS/API/tisReply", tenant=tenant).json()["entries"]
    import json
    bodies = [json.loads(e["request_body"]) for e in entries if e["request_body"]]
    return [b for b in bodies if b.get("oppKey") == context["opp_key"]]


@then(parsers.parse('the last acknowledgement TDS received for that TRT says success false with "{text}"'))
def last_ack_failure(rig: Rig, tenant: str, context: dict[str, Any], text: str) -> None:
    """What TIS posted to the statusCallback, as the tds mock journaled it."""
    acks = _acks(rig, tenant, context)
    assert acks, "TDS received no acknowledgement"
    assert acks[-1]["success"] is False and acks[-1].get("error") == text, acks[-1]


@then("the last acknowledgement TDS received for that TRT is a success with a null trt and no error")
def last_ack_success(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """§2.4: ``{"oppKey","success":true,"trt":null}``: ``error`` omitted when null, ``trt`` always emitted."""
    acks = _acks(rig, tenant, context)
    assert acks, "TDS received no acknowledgement"
    assert acks[-1] == {"oppKey": context["opp_key"], "success": True, "trt": None}, acks[-1]


@when("TIS resubmits that TRT through its admin door")
def resubmit(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """Seed collection ``resubmissions``: the file goes back to source."""
    r = rig.admin("tis", "POST", "seed", tenant=tenant, json={"resubmissions": [{"oppKey": context["opp_key"]}]})
    assert r.status_code == 201, r.text


@then(parsers.parse("the dw mock received that TRT {count:d} time"))
@then(parsers.parse("the dw mock received that TRT {count:d} times"))
def dw_received(rig: Rig, tenant: str, context: dict[str, Any], count: int) -> None:
    """DW1 receipts whose TRT carries the opportunity key."""
    entries = rig.admin("dw", "GET", "journal?direction=in&path=/dw1/*", tenant=tenant).json()["entries"]
    mine = [e for e in entries if context["opp_key"] in e["request_body"].lower()]
    assert len(mine) == count, [(e["path"], e["status"]) for e in entries]


@then(parsers.parse("TIS recorded the acknowledgement of that TRT as answered {status:d}"))
def ack_recorded(rig: Rig, tenant: str, context: dict[str, Any], status: int) -> None:
    """The ack's outbox row: sent once, its answer kept, not queued again."""
    acks = [s for s in _opp(rig, tenant, context)["sends"] if s["kind"] == "ack"]
    assert len(acks) == 1 and acks[0]["statusCode"] == status, acks
