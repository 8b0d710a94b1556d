"""Steps about THSS: item configuration, uploads as TIS sends them, the work queue and callbacks to TIS."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from lxml import etree  # type: ignore[import-untyped]
from pytest_bdd import given, parsers, then, when

from conformance.targets import Rig
from contracts.validate import validate

STANDIN = "http://tis-standin.example/ItemScoringCallbackRcv.axd"


def thss_trt(opp_key: str, items: str, *, status: str = "completed", callback: str = STANDIN) -> bytes:
    """An ``ItemScoreRequest`` wrapping a small TRT; ``items`` is ``bank-key:FORMAT:SCORESTATUS[:response];…``."""
    parts = []
    for pos, spec in enumerate(filter(None, items.split(";")), start=1):
        fields = spec.split(":")
        bank, key = fields[0].split("-")
        response = fields[3] if len(fields) > 3 else f"response {pos}"
        parts.append(
            f'<Item position="{pos}" segmentId="seg" bankKey="{bank}" key="{key}" operational="1" isSelected="1" '
            f'format="{fields[1]}" score="-1" scoreStatus="{fields[2]}" adminDate="2017-01-01T00:00:00" '
            'numberVisits="1" mimeType="text/plain" strand="s" contentLevel="c" pageNumber="1" pageVisits="1" '
            f'pageTime="0" dropped="0"><Response date="2017-01-01T00:00:00" type="value"><![CDATA[{response}]]>'
            "</Response></Item>")
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<ItemScoreRequest callbackUrl="{callback}"><TDSReport>'
        '<Test name="(SBAC)T" subject="MATH" testId="T" bankKey="200" contract="SBAC" mode="online" grade="7" '
        'assessmentType="IAB" academicYear="2017" assessmentVersion="1"/>'
        '<Examinee key="42"><ExamineeAttribute context="FINAL" name="FirstName" value="A" '
        'contextDate="2017-01-01T00:00:00"/></Examinee>'
        f'<Opportunity server="s" database="d" clientName="SBAC" key="{opp_key}" oppId="1" opportunity="1" '
        f'windowId="w" windowOpportunity="1" status="{status}" statusDate="2017-01-01T00:00:00" '
        'startDate="2017-01-01T00:00:00" dateCompleted="2017-01-01T00:00:00" pauseCount="0" itemCount="2" '
        'ftCount="0" gracePeriodRestarts="0" abnormalStarts="0" taId="T1" taName="Teacher" sessionId="S" '
        f'effectiveDate="2017-01-01">{"".join(parts)}</Opportunity></TDSReport></ItemScoreRequest>'
    ).encode()


def multipart(parts: list[tuple[str, bytes]], boundary: str = "examrig-boundary") -> tuple[bytes, str]:
    """A multipart body from ``(Content-Disposition, payload)`` pairs, as TIS's RESTMultipartTarget writes it."""
    out = b""
    for disposition, payload in parts:
        out += (f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: application/xml\r\n\r\n"
                .encode() + payload + b"\r\n")
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def _post_files(rig: Rig, tenant: str, context: dict[str, Any], parts: list[tuple[str, bytes]]) -> None:
    body, content_type = multipart(parts)
    context["response"] = rig.request("thss", "POST", "/api/test/submit", tenant=tenant, data=body,
                                      headers={"Content-Type": content_type})


@pytest.fixture
def tis_standin(rig: Rig) -> Iterator[responses.RequestsMock]:
    """A ``responses``-backed stand-in for TIS's ``/ItemScoringCallbackRcv.axd`` (examrig's mocks pass through)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for url in rig.urls.values():
            mock.add_passthru(url)
        yield mock


# -- configuration -------------------------------------------------------------------------

@given(parsers.parse('the thss item "{item}" is hand-scored with max score {max_score:d}'))
def thss_item(rig: Rig, tenant: str, item: str, max_score: int) -> None:
    """Configure one single-dimension item over /api/item/submit."""
    bank, key = item.split("-")
    body = [{"itemId": key, "bankKey": bank, "HandScored": "1", "maxScore": str(max_score), "scoreType": "R",
             "Passage": None, "rubriclist": "", "dimensions": [
                 {"description": "Correct Answer", "maxPoints": str(max_score), "minPoints": "0",
                  "conditions": [{"code": "B", "description": "Blank"}]}]}]
    response = rig.request("thss", "POST", "/api/item/submit", tenant=tenant, json=body)
    assert response.status_code == 200, response.text


@given(parsers.parse('the thss item "{item}" is hand-scored with dimensions "{dims}"'))
def thss_item_dims(rig: Rig, tenant: str, item: str, dims: str) -> None:
    """Configure a multi-dimension item; ``dims`` is ``Name:min-max,…``."""
    bank, key = item.split("-")
    dimensions = []
    for spec in dims.split(","):
        name, _, rng = spec.rpartition(":")
        lo, hi = rng.split("-")
        dimensions.append({"description": name, "minPoints": lo, "maxPoints": hi, "conditions": []})
    total = sum(int(d["maxPoints"]) for d in dimensions)
    body = [{"itemId": key, "bankKey": bank, "HandScored": "1", "maxScore": str(total), "scoreType": "R",
             "rubriclist": "", "dimensions": dimensions}]
    response = rig.request("thss", "POST", "/api/item/submit", tenant=tenant, json=body)
    assert response.status_code == 200, response.text


@given("a thss scoring policy:")
def thss_policy(rig: Rig, tenant: str, docstring: str) -> None:
    """Seed one scoring policy (JSON object)."""
    response = rig.admin("thss", "POST", "seed", tenant=tenant, json={"policies": [json.loads(docstring)]})
    assert response.status_code == 201, response.text


@given(parsers.parse('the thss profile is "{profile}"'))
def thss_profile(rig: Rig, tenant: str, profile: str) -> None:
    """Select the real or guide profile for the tenant."""
    response = rig.admin("thss", "POST", "seed", tenant=tenant,
                         json={"settings": [{"name": "profile", "value": profile}]})
    assert response.status_code == 201, response.text


@given(parsers.parse("a TIS scoring daemon stand-in answering {status:d}"))
def standin(tis_standin: responses.RequestsMock, context: dict[str, Any], status: int) -> None:
    """Register TIS's callback receiver (always 200 in real TIS; other statuses to test THSS's handling)."""
    tis_standin.upsert(responses.POST, STANDIN, status=status, body=b"")
    context["standin"] = tis_standin


@given(parsers.parse('the thss callback peer is down'))
def peer_down(rig: Rig, tenant: str) -> None:
    """Every outbound call from thss to TIS fails with a connection reset."""
    response = rig.admin("thss", "POST", "faults", tenant=tenant,
                         json={"kind": "reset", "direction": "outbound", "peer": "tis"})
    assert response.status_code == 201, response.text


@given(parsers.parse('the thss clock is frozen at "{instant}"'))
def thss_freeze(rig: Rig, tenant: str, instant: str) -> None:
    """Freeze the tenant's clock."""
    assert rig.admin("thss", "POST", "clock", tenant=tenant, json={"set": instant}).status_code == 200


@when(parsers.parse("the thss clock advances {seconds:d} seconds"))
def thss_advance(rig: Rig, tenant: str, seconds: int) -> None:
    """Move the tenant's clock on."""
    assert rig.admin("thss", "POST", "clock", tenant=tenant, json={"advance": seconds}).status_code == 200


# -- uploads -------------------------------------------------------------------------------

@when(parsers.parse('TIS uploads to thss a TRT for opportunity "{opp_key}" with items "{items}"'))
def upload_trt(rig: Rig, tenant: str, context: dict[str, Any], opp_key: str, items: str) -> None:
    """One file part named ``{oppKey}_{reportingVersion}.xml``, no form-field name, as TIS sends it."""
    _post_files(rig, tenant, context, [(f"attachment; filename={opp_key}_1.xml", thss_trt(opp_key, items))])


@when(parsers.parse('TIS uploads to thss in one request a TRT for each of the opportunities "{opp_keys}" with items '
                    '"{items}"'))
def upload_trts(rig: Rig, tenant: str, context: dict[str, Any], opp_keys: str, items: str) -> None:
    """One body, one file part per opportunity (``{oppKey}_1.xml``, no form-field name): what §2.5 says THSS takes."""
    _post_files(rig, tenant, context, [(f"attachment; filename={key}_1.xml", thss_trt(key, items))
                                       for key in opp_keys.split(",")])


@when(parsers.parse('TIS uploads to thss a TRT for opportunity "{opp_key}" in status "{status}" with no items'))
def upload_trt_status(rig: Rig, tenant: str, context: dict[str, Any], opp_key: str, status: str) -> None:
    """An upload of an opportunity in a given status, without items (TIS sends reset/invalidated ones so)."""
    _post_files(rig, tenant, context, [(f"attachment; filename={opp_key}_2.xml",
                                        thss_trt(opp_key, "", status=status))])


@when(parsers.parse('TIS uploads to thss the sample TRT "{name}" wrapped for callback'))
def upload_sample(rig: Rig, tenant: str, context: dict[str, Any], shared_data: Path, name: str) -> None:
    """A real TRT from ../shared/data, wrapped in ItemScoreRequest as TIS's XSLT does."""
    raw = (shared_data / "tis" / "trt" / name).read_bytes()
    raw = re.sub(rb"\A\s*<\?xml[^>]*\?>", b"", raw)
    body = f'<ItemScoreRequest callbackUrl="{STANDIN}">'.encode() + raw + b"</ItemScoreRequest>"
    _post_files(rig, tenant, context, [(f"attachment; filename={name}", body)])


@when(parsers.parse('I upload to thss a file "{name}" containing:'))
def upload_text(rig: Rig, tenant: str, context: dict[str, Any], name: str, docstring: str) -> None:
    """One file part with the given content."""
    _post_files(rig, tenant, context, [(f"attachment; filename={name}", docstring.encode())])


@when(parsers.parse('I upload to thss an empty file "{name}"'))
def upload_empty(rig: Rig, tenant: str, context: dict[str, Any], name: str) -> None:
    """One file part with no content."""
    _post_files(rig, tenant, context, [(f"attachment; filename={name}", b"")])


@when(parsers.parse('I upload to thss the sample "{path}" as file "{name}"'))
def upload_shared(rig: Rig, tenant: str, context: dict[str, Any], shared_data: Path, path: str, name: str) -> None:
    """A third-party file sent as is."""
    _post_files(rig, tenant, context, [(f"attachment; filename={name}", (shared_data / path).read_bytes())])


@when(parsers.parse('I send thss a TRT for opportunity "{opp_key}" in a plain form field "{field}"'))
def upload_field(rig: Rig, tenant: str, context: dict[str, Any], opp_key: str, field: str) -> None:
    """A part without a filename: a form field, not a file."""
    _post_files(rig, tenant, context, [(f'form-data; name="{field}"', thss_trt(opp_key, "200-1:SA:NOTSCORED"))])


@when(parsers.parse('I send thss a broken multipart body for opportunity "{opp_key}"'))
def upload_broken(rig: Rig, tenant: str, context: dict[str, Any], opp_key: str) -> None:
    """A multipart body whose boundary never closes and whose part has no header end."""
    body = b"--examrig-boundary\r\nContent-Disposition: attachment; filename=x.xml" + thss_trt(opp_key, "")
    context["response"] = rig.request("thss", "POST", "/api/test/submit", tenant=tenant, data=body,
                                      headers={"Content-Type": "multipart/form-data; boundary=examrig-boundary"})


@when(parsers.parse('I send thss a per-item ItemScoreRequest for item "{item}" with token "{token}"'))
def upload_guide(rig: Rig, tenant: str, context: dict[str, Any], item: str, token: str) -> None:
    """The TIS guide's application/xml per-item request."""
    body = (f'<ItemScoreRequest callbackUrl="{STANDIN}"><ResponseInfo itemIdentifier="{item}" itemFormat="SA">'
            f'<StudentResponse><![CDATA[68]]></StudentResponse><Rubric type="Uri">c:\\r.xml</Rubric>'
            f'<ContextToken><![CDATA[{token}]]></ContextToken></ResponseInfo></ItemScoreRequest>')
    context["response"] = rig.request("thss", "POST", "/api/test/submit", tenant=tenant, data=body.encode(),
                                      headers={"Content-Type": "application/xml"})


@then(parsers.parse('the thss answer lists file "{name}" as accepted'))
def file_accepted(context: dict[str, Any], name: str) -> None:
    """``{"Files":[{"FileName": name, "Success": true, "ErrorMessage": null}]}``."""
    response: requests.Response = context["response"]
    assert response.status_code == 200, response.text
    assert response.json() == {"Files": [{"FileName": name, "Success": True, "ErrorMessage": None}]}, response.text


@then(parsers.parse('the thss answer lists the files "{names}" as accepted, one entry each'))
def files_accepted(context: dict[str, Any], names: str) -> None:
    """``{"Files":[…]}``: one ``{"FileName", "Success": true, "ErrorMessage": null}`` per file part, in order."""
    response: requests.Response = context["response"]
    assert response.status_code == 200, response.text
    assert response.json() == {"Files": [{"FileName": name, "Success": True, "ErrorMessage": None}
                                         for name in names.split(",")]}, response.text


@then(parsers.parse('the thss answer lists file "{name}" as refused with "{text}"'))
def file_refused(context: dict[str, Any], name: str, text: str) -> None:
    """One file, ``Success`` false, an ``ErrorMessage`` containing ``text``."""
    response: requests.Response = context["response"]
    assert response.status_code == 200, response.text
    files = response.json()["Files"]
    assert len(files) == 1 and files[0]["FileName"] == name and files[0]["Success"] is False, files
    assert text in files[0]["ErrorMessage"], files


@then("the thss answer lists no files")
def no_files(context: dict[str, Any]) -> None:
    """``{"Files":[]}`` with 200."""
    response: requests.Response = context["response"]
    assert response.status_code == 200 and response.json() == {"Files": []}, response.text


# -- the work queue ------------------------------------------------------------------------

def _queue(rig: Rig, tenant: str) -> list[dict[str, Any]]:
    response = rig.admin("thss", "GET", "state/queue/all", tenant=tenant)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["assignments"]
    return rows


@then(parsers.parse('the thss work queue holds "{items}" in status "{status}"'))
def queue_holds(rig: Rig, tenant: str, items: str, status: str) -> None:
    """Exactly these items (``bank-key,…``), each in ``status``."""
    rows = _queue(rig, tenant)
    got = sorted(f"{r['bankKey']}-{r['itemId']}" for r in rows)
    assert got == sorted(items.split(",")), rows
    assert all(r["status"] == status for r in rows), [(r["itemId"], r["status"]) for r in rows]


@then("the thss work queue is empty")
def queue_empty(rig: Rig, tenant: str) -> None:
    """No work at all."""
    assert _queue(rig, tenant) == []


@when("thss runs its due scoring policies")
def run_due(rig: Rig, tenant: str) -> None:
    """One policy pass now (the background worker does the same on its own)."""
    response = rig.admin("thss", "POST", "run", tenant=tenant)
    assert response.status_code == 200, response.text


@when(parsers.parse('the thss admin scores item "{item}" with JSON:'))
def admin_score(rig: Rig, tenant: str, context: dict[str, Any], item: str, docstring: str) -> None:
    """Score one queued response through the admin API (the assignment is found by item)."""
    bank, key = (int(x) for x in item.split("-"))
    found = [r for r in _queue(rig, tenant) if (r["bankKey"], r["itemId"]) == (bank, key)]
    assert len(found) == 1, found
    body = {"assignment": found[0]["id"], **json.loads(docstring)}
    context["response"] = rig.admin("thss", "POST", "score", tenant=tenant, json=body)


# -- what reached TIS ----------------------------------------------------------------------

def _calls(context: dict[str, Any]) -> list[Any]:
    mock: responses.RequestsMock = context["standin"]
    return [c for c in mock.calls if c.request.url == STANDIN]


def _score(call: Any) -> tuple[dict[str, Any], Any]:
    body = call.request.body
    root = etree.fromstring(body if isinstance(body, bytes) else body.encode())
    token = json.loads(root.findtext("Score/ContextToken"))
    return token, root.find("Score/ScoreInfo")


@then(parsers.parse("the TIS stand-in received {count:d} item scores"))
def standin_count(context: dict[str, Any], count: int) -> None:
    """How many ItemScoreResponses were posted."""
    calls = _calls(context)
    assert len(calls) == count, [c.request.body for c in calls]


@then(parsers.parse('the TIS stand-in received score {score:d} for item "{item}" of opportunity "{opp_key}"'))
def standin_score(context: dict[str, Any], score: int, item: str, opp_key: str) -> None:
    """An ItemScoreResponse whose JSON context token names the item, as THSS builds it."""
    bank, key = (int(x) for x in item.split("-"))
    for call in _calls(context):
        token, info = _score(call)
        if (token["oppKey"], token["itemBank"], token["itemID"]) == (opp_key, bank, key):
            assert set(token) == {"clientName", "oppKey", "itemBank", "itemID", "itemType"}, token
            assert info.get("scoreDimension") == "Overall" and info.get("scoreStatus") == "Scored"
            assert int(info.get("scorePoint")) == score, etree.tostring(info)
            return
    raise AssertionError(f"no score for {item} of {opp_key}: {[c.request.body for c in _calls(context)]}")


@then("every callback to the TIS stand-in is raw XML labelled as a form post")
def standin_form(context: dict[str, Any]) -> None:
    """``Content-Type: application/x-www-form-urlencoded`` with an ``<ItemScoreResponse>`` body, no auth."""
    calls = _calls(context)
    assert calls
    for call in calls:
        assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert "Authorization" not in call.request.headers
        body = call.request.body if isinstance(call.request.body, bytes) else call.request.body.encode()
        assert body.startswith(b"<ItemScoreResponse><Score><ScoreInfo "), body[:80]
        verdict = validate(body, "itemscore-response")
        assert verdict.valid, verdict.errors


@then(parsers.parse('the TIS stand-in received dimension "{dim}" scored {score:d} read by scorer "{scorer}"'))
def standin_dimension(context: dict[str, Any], dim: str, score: int, scorer: str) -> None:
    """A sub-dimension with its single ``Initial`` read and the rationale message JSON."""
    for call in _calls(context):
        _, info = _score(call)
        for sub in info.findall("SubScoreList/ScoreInfo"):
            if sub.get("scoreDimension") == dim:
                assert int(sub.get("scorePoint")) == score
                initial = sub.find("SubScoreList/ScoreInfo")
                assert initial.get("scoreDimension") == "Initial" and int(initial.get("scorePoint")) == score
                assert json.loads(initial.findtext("ScoreRationale/Message")) == {"scorerID": scorer}
                return
    raise AssertionError(f"no dimension {dim}")


@then(parsers.parse('the TIS stand-in received the guide token "{token}" with maxScore {max_score:d}'))
def standin_guide(context: dict[str, Any], token: str, max_score: int) -> None:
    """The guide profile echoes the request's token and writes maxScore and ScoreLatency."""
    calls = _calls(context)
    assert len(calls) == 1
    body = calls[0].request.body
    root = etree.fromstring(body if isinstance(body, bytes) else body.encode())
    assert root.findtext("Score/ContextToken").strip() == token
    assert root.find("Score/ScoreInfo").get("maxScore") == str(max_score)
    assert root.findtext("Score/ScoreLatency") is not None
    verdict = validate(body if isinstance(body, bytes) else body.encode(), "itemscore-response")
    assert verdict.valid, verdict.errors
    assert calls[0].request.headers["Content-Type"] == "application/xml"


@then(parsers.parse("the thss callback log shows {count:d} failed attempt"))
def callback_log_failed(rig: Rig, tenant: str, count: int) -> None:
    """THSS recorded each failed post (THSS-CB-003), whatever words it chose for the error."""
    log = rig.admin("thss", "GET", "state/callbacks/all", tenant=tenant).json()["callbacks"]
    assert len(log) == count and all(entry["error"] for entry in log), log


@then(parsers.parse('the thss callback log shows {count:d} attempt with error containing "{text}"'))
def callback_log(rig: Rig, tenant: str, count: int, text: str) -> None:
    """What THSS recorded about its posts."""
    log = rig.admin("thss", "GET", "state/callbacks/all", tenant=tenant).json()["callbacks"]
    assert len(log) == count, log
    assert all(text in (entry["error"] or "") for entry in log), log


@when("I submit to thss the sample item configuration")
def submit_sample_items(rig: Rig, tenant: str, context: dict[str, Any], shared_data: Path) -> None:
    """The SupportTool's JSON array, as is."""
    data = (shared_data / "tis" / "thss" / "thss-item-config.example.json").read_bytes()
    context["sample_items"] = len(json.loads(data))
    context["response"] = rig.request("thss", "POST", "/api/item/submit", tenant=tenant, data=data,
                                      headers={"Content-Type": "application/json"})


@then("the thss took as many items as the sample holds")
def took_all(context: dict[str, Any]) -> None:
    """The count answered equals the array's length."""
    assert context["response"].json()["Count"] == context["sample_items"] > 0
