"""Issue 18: every request example of the deliveryodata documents (../shared/spec/qm-*.rst, read from the files
themselves, and the query examples of ../shared/reference/deliveryodata.md) is answered as the real service answers
it, with default options; the ODataLib 5.6 value conversion and JSON grammar behind that, case by case."""

from __future__ import annotations

import base64
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.deliveryodata import errors as e
from mocks.deliveryodata.config import ConfigError, load_config
from mocks.deliveryodata.jsonreader import NotODataJson, to_strict
from mocks.deliveryodata.service import Service

ROOT = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path:
    """``../shared/data`` beside the checkout, or ``$EXAMRIG_SHARED_DATA`` (as the root conftest finds it; not
    imported from there: under pytest-xdist the name ``conftest`` may be another directory's conftest)."""
    override = os.environ.get("EXAMRIG_SHARED_DATA")
    return Path(override) if override else ROOT.parent / "shared" / "data"


T, C = "t", "400449"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode(), "X-Examrig-Tenant": T}
NOW = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
SEED = {
    # the ids the documents' examples use
    "participants": [{"ID": 987654321, "Name": "ada"}, {"ID": 1459320309, "Name": "demo"}],
    "assessments": [{"ID": "1234567890876543", "Language": "en-US"}, {"ID": "9788463565326947", "Language": "en-US"}],
}


@pytest.fixture(scope="module")
def spec() -> Path:
    path = shared_data_dir().parent / "spec"
    if not (path / "qm-proctoring-exams.rst").is_file():
        reason = f"the deliveryodata spec documents are not at {path} (check out ../shared)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def client(tmp_path: Path) -> Client:
    svc = Service(Runtime.create(Settings(seed=1, data_dir=str(tmp_path)), db="sqlite://"))
    svc.clock.freeze(T, NOW)
    for collection, items in SEED.items():
        svc.model.seed(T, C, collection, items)
    return Client(svc)


def literal_blocks(text: str) -> list[tuple[str, str]]:
    """Every reStructuredText literal block: (the line that opens it, the block dedented)."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if not line.rstrip().endswith("::"):
            continue
        indent = len(line) - len(line.lstrip())
        body: list[str] = []
        for follow in lines[i + 1:]:
            if follow.strip() and len(follow) - len(follow.lstrip()) <= indent:
                break
            body.append(follow)
        while body and not body[0].strip():
            body.pop(0)
        while body and not body[-1].strip():
            body.pop()
        if body:
            margin = min(len(x) - len(x.lstrip()) for x in body if x.strip())
            blocks.append((line.strip(), "\n".join(x[margin:].rstrip() for x in body)))
    return blocks


def _send(client: Client, method: str, path: str, body: str | None) -> Any:
    headers = {**AUTH, **({"Content-Type": "application/json"} if body is not None else {})}
    return client.open(f"/deliveryodata/{C}/{path}", method=method, headers=headers,
                       data=body.encode("utf-8") if body is not None else None)


def test_every_request_example_of_the_spec_is_accepted_as_written(spec: Path, client: Client) -> None:
    proctoring = dict(literal_blocks((spec / "qm-proctoring-exams.rst").read_text(encoding="utf-8")))
    post, patch = proctoring["Example POST request::"], proctoring["Example PATCH request::"]
    assert '"ParticipantID": "987654321"' in post  # the example this issue is about, as the document has it
    created = _send(client, "POST", "Attempts", post)
    assert created.status_code == 201, created.get_data(as_text=True)
    attempt = created.get_json()
    assert attempt["ParticipantID"] == 987654321 and attempt["AssessmentID"] == "1234567890876543"
    patched = _send(client, "PATCH", f"Attempts({attempt['ID']})", patch)
    assert patched.status_code == 204, patched.get_data(as_text=True)
    read = _send(client, "GET", f"Attempts({attempt['ID']})", None).get_json()
    assert read["ParticipantFacingProctorSystemWidgetUrl"] == json.loads(patch)[
        "ParticipantFacingProctorSystemWidgetUrl"]

    # qm-attempts-feeds.rst: a whole request (line, header, blank line, body) whose property names are unquoted
    feeds = [block for _, block in literal_blocks((spec / "qm-attempts-feeds.rst").read_text(encoding="utf-8"))
             if block.startswith("POST <service root>/")]
    assert len(feeds) == 1, feeds
    head, _, body = feeds[0].partition("\n\n")
    request_line, *header_lines = head.splitlines()
    method, _, target = request_line.partition(" ")
    assert "Content-Type: application/json" in header_lines
    assert re.search(r"^\s*ExternalAttemptID:", body, re.M)  # not JSON: ODataLib's reader takes it
    made = _send(client, method, target.removeprefix("<service root>/"), body)
    assert made.status_code == 201, made.get_data(as_text=True)
    expanded = _send(client, "GET", f"Attempts({made.get_json()['ID']})?$expand=AttemptMetadata", None).get_json()
    assert [(m["Key"], m["Value"]) for m in expanded["AttemptMetadata"]] == [("S1", "Help"), ("S2", "Me!")]


def test_the_entity_documents_url_examples(spec: Path, client: Client) -> None:
    """qm-attempt-entity-2016.rst: ``deliveryodata/123456/Attempts(42)`` gives the lobby URL, ``…/Attempts`` does not
    (the document's customer and key replaced by this rig's)."""
    blocks = [block for _, block in literal_blocks((spec / "qm-attempt-entity-2016.rst").read_text(encoding="utf-8"))
              if block.startswith("deliveryodata/")]
    assert blocks == ["deliveryodata/123456/Attempts(42)", "deliveryodata/123456/Attempts"], blocks
    created = _send(client, "POST", "Attempts", json.dumps({"ExternalAttemptID": "e-1", "ParticipantID": 987654321,
                                                            "AssessmentID": "1234567890876543"}))
    key = created.get_json()["ID"]
    entity = client.get("/" + blocks[0].replace("123456", C).replace("(42)", f"({key})"), headers=AUTH).get_json()
    feed = client.get("/" + blocks[1].replace("123456", C), headers=AUTH).get_json()
    assert entity["ParticipantFacingQMLobbyUrl"].startswith("http://localhost/lobby/")
    assert [a["ParticipantFacingQMLobbyUrl"] for a in feed["value"]] == [None]


@pytest.mark.parametrize(("path", "status", "text"), [
    # qm-lti's lookup of an assessment (reference 4)
    ("Assessments?$filter=ID eq 1234567890876543L", 200, None),
    # odata.rst's FAQ (reference 1.2, 0.13): an Int64 literal without L
    ("Assessments?$filter=ID eq 1234567890876543", 400, "Unrecognized 'Edm.Int32' literal"),
    # qm-lti's malformed attempt lookup ('&' for 'and', 'L' on a string): the reference says the real one 400s it
    ("Attempts?$filter=ExternalAttemptID eq 1000L&AssessmentID eq 1234567890876543L&ParticipantID eq 987654321L", 400,
     None),
    ("Attempts?$filter=ExternalAttemptID eq '1000'", 200, None),
    # the feeds document's GET with the metadata expanded; $orderby is "not supported" on Attempts
    ("Attempts(1)?$expand=AttemptMetadata", 200, None),
    ("Attempts?$orderby=ID", 400, "OrderBy"),
])
def test_the_reference_query_examples(client: Client, path: str, status: int, text: str | None) -> None:
    created = _send(client, "POST", "Attempts", json.dumps({"ExternalAttemptID": "1000", "ParticipantID": 987654321,
                                                            "AssessmentID": "1234567890876543"}))
    assert created.status_code == 201
    response = _send(client, "GET", path, None)
    assert response.status_code == status, response.get_data(as_text=True)
    if text is not None:
        assert text in response.get_json()["odata.error"]["message"]["value"]


def make(**options: Any) -> Any:
    from mocks.core.clock import Clock
    from mocks.core.ids import IdSource
    from mocks.core.store import Store
    from mocks.deliveryodata.models import DeliveryOData
    store = Store("sqlite://")
    model = DeliveryOData(store, Clock(), IdSource(7), load_config(options, "secret"))
    store.create_all()
    return model


@pytest.mark.parametrize(("kind", "value", "expected"), [
    # Convert.ChangeType(string, Int32, InvariantCulture): Int32.Parse with NumberStyles.Integer
    ("Edm.Int32", "987654321", 987654321), ("Edm.Int32", " \t+42\r\n", 42), ("Edm.Int32", "-7", -7),
    ("Edm.Int32", "2147483647", 2**31 - 1), ("Edm.Int32", "2147483648", None), ("Edm.Int32", "987,654,321", None),
    ("Edm.Int32", "1e3", None), ("Edm.Int32", "4.0", None), ("Edm.Int32", "", None), ("Edm.Int32", "٣", None),
    ("Edm.Int32", "0x10", None), ("Edm.Int32", "9" * 5000, None),
    ("Edm.Int64", "-9223372036854775808", -(2**63)), ("Edm.Int64", " 12 ", 12), ("Edm.Int64", str(2**63), None),
    # Boolean.Parse: True/False in any case, white space around
    ("Edm.Boolean", "True", True), ("Edm.Boolean", " false ", False), ("Edm.Boolean", "1", None),
    ("Edm.Boolean", "yes", None),
    # a JSON number read as an Int32 (ConvertInt32Value) or a Double; a Boolean converts to nothing else
    ("Edm.Int32", 42, 42), ("Edm.Int32", 2**31, None), ("Edm.Int32", 4.0, None), ("Edm.Int32", True, None),
    ("Edm.String", 17, None), ("Edm.String", True, None), ("Edm.String", 1.5, None),
    ("Edm.Boolean", 1, None),
])
def test_values_convert_as_odatalib_converts_them(kind: str, value: Any, expected: Any) -> None:
    model = make()
    if expected is None:
        with pytest.raises(e.InvalidValue):
            model._convert(kind, "P", value)
    else:
        assert model._convert(kind, "P", value) == expected


def test_int64_numbers_are_refused_with_odatalibs_reason_and_the_options_restore_the_old_readings() -> None:
    with pytest.raises(e.UnquotedInt64) as caught:
        make()._convert("Edm.Int64", "AssessmentID", 12)
    assert caught.value.status == 400 and "'Edm.Int32'" in caught.value.message and "quoted" in caught.value.message
    with pytest.raises(e.UnquotedInt64) as caught:
        make()._convert("Edm.Int64", "AssessmentID", 1234567890876543)
    assert "'Edm.Double'" in caught.value.message
    assert make(int64_as_number=True)._convert("Edm.Int64", "AssessmentID", 12) == 12
    assert make()._convert("Edm.Int64", "AssessmentID", 12, wire=False) == 12  # seed data
    with pytest.raises(e.InvalidValue):
        make(int32_as_string=False)._convert("Edm.Int32", "ParticipantID", "987654321")
    with pytest.raises(ConfigError):
        load_config({"int32_as_string": "sometimes"}, "s")


@pytest.mark.parametrize(("text", "strict"), [
    ('{ExternalAttemptID: "x", $a: 1, odata.type: "T", _b2: [true, null, -1.5e+3]}',
     '{"ExternalAttemptID": "x", "$a": 1, "odata.type": "T", "_b2": [true, null, -1.5e+3]}'),
    ("{'a': 'it\\'s \\u00e9 \"q\"'}", '{"a": "it\'s é \\"q\\""}'),
    ('{"already": "json", "n": 1}', '{"already": "json", "n": 1}'),
    ("{a : 'x:y'}", '{"a" : "x:y"}'),
])
def test_odatalib_json_grammar_rewritten_as_json(text: str, strict: str) -> None:
    assert to_strict(text) == strict
    assert json.loads(to_strict(text)) == json.loads(strict)


@pytest.mark.parametrize("text", ["{'a': 'open", '{"a": "\\q"}', "{'a': '\\u12'}"])
def test_strings_odatalib_refuses_stay_refused(text: str) -> None:
    with pytest.raises(NotODataJson):
        to_strict(text)


def test_a_body_still_not_json_after_the_odatalib_reading_keeps_the_strict_error(client: Client) -> None:
    response = _send(client, "POST", "Attempts", "{ExternalAttemptID: x-1, ParticipantID: 987654321}")
    assert response.status_code == 400
    assert "not valid JSON" in response.get_json()["odata.error"]["message"]["value"]
