"""The validator API: kind detection, cached schemas, located readable errors, JSON schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.validate import (
    JSON_SCHEMA_NAMES,
    SCHEMA_NAMES,
    UnknownSchemaError,
    detect_kind,
    is_valid,
    lxml_schema,
    validate,
    validate_json,
)
from contracts.xmlsafe import parse_xml


def test_every_schema_compiles_once() -> None:
    for name in SCHEMA_NAMES:
        assert lxml_schema(name) is lxml_schema(name)


@pytest.mark.parametrize(
    ("doc", "kind"),
    [
        (b"<TDSReport/>", "trt"),
        (b"<TestPackage/>", "testpackage"),
        (b"<ItemScoreRequest callbackUrl='x'><TDSReport/></ItemScoreRequest>", "thss-upload"),
        (b"<ItemScoreRequest><ResponseInfo/></ItemScoreRequest>", "itemscore-request"),
        (b"<ItemScoreResponse/>", "itemscore-response"),
    ],
)
def test_detect_kind(doc: bytes, kind: str) -> None:
    assert detect_kind(parse_xml(doc)) == kind


def test_unknown_root_is_an_invalid_result_not_an_exception() -> None:
    result = validate(b"<Foo/>")
    assert not result.valid and result.schema == ""
    assert "unknown document kind" in result.errors[0].reason


def test_unknown_schema_name_raises() -> None:
    with pytest.raises(UnknownSchemaError):
        validate(b"<TDSReport/>", "nope")


def test_real_lenient_sample_is_valid_and_detected(shared_data: Path) -> None:
    data = (shared_data / "tis/trt/small-ICA-G11-scored.RDW.xml").read_bytes()
    result = validate(data)
    assert result.valid and result.schema == "trt" and result.errors == []
    assert is_valid(data)
    assert not is_valid(data, "trt-strict")


def test_errors_carry_line_column_xpath_and_reason(shared_data: Path) -> None:
    data = (shared_data / "tis/trt/summative-ELA-G3-external-vendor.RDW.xml").read_bytes()
    result = validate(data, "trt-strict")
    assert not result.valid and len(result.errors) == 36
    first = result.errors[0]
    assert first.path == "/TDSReport/Opportunity"
    lines = data.split(b"\n")
    assert lines[first.line - 1][first.column - 1 :].startswith(b"<Opportunity")
    durations = [e for e in result.errors if "responseDuration" in e.reason]
    assert len(durations) == 34
    assert all(e.path.startswith("/TDSReport/Opportunity/Item[") for e in durations)
    assert ".0" in durations[0].reason


def test_fast_path_uses_lxml_messages(shared_data: Path) -> None:
    data = (shared_data / "tis/trt/small-ICA-G11-scored.RDW.xml").read_bytes()
    result = validate(data, "trt-strict", detailed=False)
    assert len(result.errors) == 11
    assert any("'validity' is required" in e.reason for e in result.errors)


def test_column_on_a_single_line_document() -> None:
    doc = b'<ItemScoreResponse><Score><ScoreInfo/><Bogus/></Score></ItemScoreResponse>'
    fast = validate(doc, detailed=False)  # lxml locates the unexpected child itself
    assert any(e.column == doc.index(b"<Bogus") + 1 and e.path.endswith("/Bogus") for e in fast.errors)
    readable = validate(doc, detailed=True)  # xmlschema names it from its parent
    bogus = [e for e in readable.errors if "Bogus" in e.reason]
    assert bogus and bogus[0].column == doc.index(b"<Score>") + 1 and bogus[0].line == 1


def test_unsafe_input_is_an_invalid_result() -> None:
    result = validate(b'<!DOCTYPE r [<!ENTITY x "y">]><TDSReport>&x;</TDSReport>')
    assert not result.valid and not result.well_formed
    assert result.errors[0].reason.startswith("unsafe XML refused")


def test_malformed_input_is_an_invalid_result_with_position() -> None:
    result = validate(b"<TDSReport>\n<Test></TDSReport>")
    assert not result.well_formed and result.errors[0].line == 2


def test_ise_samples_validate(shared_data: Path) -> None:
    pairs = (("ItemScoreRequest", "itemscore-request"), ("ItemScoreResponse", "itemscore-response"))
    for name, kind in pairs:
        data = (shared_data / f"tis/itemscoring/{name}.ISE-per-item.xml").read_bytes()
        result = validate(data)
        assert result.schema == kind and result.valid, result.errors
        assert not is_valid(data, "thss-upload")


def test_json_schemas() -> None:
    assert set(JSON_SCHEMA_NAMES) == {"tis-ack", "thss-upload-result"}
    ack = (
        b'{"oppKey":"0b2d4b6e-1c3f-4a5b-8c7d-9e0f1a2b3c4d","success":false,'
        b'"error":"failed validation","trt":null}'
    )
    assert validate_json(ack, "tis-ack").valid
    bad = validate_json({"oppKey": "nope", "success": "yes", "extra": 1}, "tis-ack")
    paths = {e.path for e in bad.errors}
    assert paths == {"/oppKey", "/success", "/extra"}
    assert validate_json({"Files": []}, "thss-upload-result").valid
    ok = {"Files": [{"FileName": "a_1.xml", "Success": True, "ErrorMessage": None}]}
    assert validate_json(ok, "thss-upload-result").valid
    wrong = validate_json({"Files": [{"FileName": "a.xml", "Success": 1}]}, "thss-upload-result")
    assert {e.path for e in wrong.errors} == {"/Files/0", "/Files/0/Success"}
    assert not validate_json(b"{not json", "tis-ack").well_formed
    with pytest.raises(UnknownSchemaError):
        validate_json({}, "trt")


def test_a_detected_trt_is_valid_under_either_profile_and_named_by_it() -> None:
    from contracts.generate import generate_trt

    sent = generate_trt(5, kind="partial")  # as the transmitter sends it: strict profile only
    scored = generate_trt(5, kind="scored")  # as TIS writes it: lenient profile only
    assert validate(sent).valid and validate(sent).schema == "trt-strict"
    assert validate(scored).valid and validate(scored).schema == "trt"
    assert not validate(sent, "trt").valid  # an explicit profile is still held to
    broken = sent.replace(b"</TDSReport>", b"<Bogus/></TDSReport>", 1)
    assert broken != sent
    result = validate(broken)
    assert not result.valid and result.schema == "trt" and result.errors


def test_first_compiles_from_many_threads_at_once_are_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mocks validate from their server threads; the first uses of a schema may come all at once."""
    import threading

    import contracts.validate as v

    monkeypatch.setattr(v, "_compiled", {})
    barrier = threading.Barrier(8)
    results: list[object] = []
    failures: list[BaseException] = []

    def compile_all() -> None:
        barrier.wait()
        try:
            results.extend(v.lxml_schema(name) for name in v.SCHEMA_NAMES)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=compile_all) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    assert len({id(r) for r in results}) == len(v.SCHEMA_NAMES)  # each schema compiled exactly once


def _lxml_count(doc: bytes, name: str) -> tuple[int, list[str]]:
    """The oracle: lxml's own tree validation (quadratic in the problems among siblings; small documents only)."""
    schema = lxml_schema(name)
    assert not schema.validate(parse_xml(doc).getroottree())
    return len(schema.error_log), [" ".join(e.message.split()) for e in schema.error_log]


def test_a_valid_document_given_as_bytes_comes_back_parsed() -> None:
    from contracts.generate import generate_trt

    result = validate(generate_trt(3, kind="scored"), "trt")
    assert result.valid and result.root is not None and result.root.tag == "TDSReport"
    assert validate(b"<TDSReport/>", "trt").root is None


def test_many_problems_among_many_siblings_are_counted_as_lxml_counts_them() -> None:
    """1,500 Items each with an undeclared attribute: the validating parse counts what lxml's tree validation
    finds, in the same order, and describes the first MAX_ERRORS (placing them costs too much here)."""
    from contracts.generate import generate_trt
    from contracts.validate import MAX_ERRORS

    doc = generate_trt(2, kind="scored", items=1_500).replace(b"<Item ", b'<Item bogus="1" ')
    total, messages = _lxml_count(doc, "trt")
    result = validate(doc, "trt")
    assert not result.valid and result.error_count == total == 1_500
    assert [issue.reason for issue in result.errors] == messages[:MAX_ERRORS]


def test_few_problems_keep_their_place_and_count() -> None:
    from contracts.generate import generate_trt

    doc = generate_trt(2, kind="scored", items=300)
    at = doc.rindex(b' numberVisits="') + len(b' numberVisits="')
    doc = doc[:at] + b"many" + doc[doc.index(b'"', at):]
    total, messages = _lxml_count(doc, "trt")
    result = validate(doc, "trt")
    assert result.error_count == total == 1 and result.errors[0].reason == messages[0]
    issue = result.errors[0]
    assert issue.path.endswith("/Item[300]") and issue.line and issue.column
    assert doc.split(b"\n")[issue.line - 1][issue.column - 1:].startswith(b"<Item ")


def test_a_wide_tree_handed_in_is_counted_as_lxml_counts_it() -> None:
    """An already parsed tree with more than 256 siblings goes through its serialisation (linear)."""
    from contracts.generate import generate_trt

    doc = generate_trt(2, kind="scored", items=400).replace(b"<Item ", b'<Item bogus="1" ')
    total, messages = _lxml_count(doc, "trt")
    result = validate(parse_xml(doc), "trt")
    assert result.error_count == total == 400 and result.errors[0].reason == messages[0]
    assert validate(parse_xml(generate_trt(2, kind="scored", items=400)), "trt").valid


def test_a_crowded_start_tag_is_refused_before_the_validating_parse() -> None:
    import contracts.validate as v

    crowded = ('<TDSReport><Test name="x" ' + " ".join(f'a{i}="x"' for i in range(300)) + "/></TDSReport>").encode()
    assert v._maybe_crowded(crowded)
    result = validate(crowded, "trt")
    assert result.error_count == 301 and result.errors[0].path == "/TDSReport/Test"
    # a long text with many '=' is only a candidate: the tree decides, and the document is validated as usual
    text = b"<TDSReport><Test>" + b"a=b " * 400 + b"</Test></TDSReport>"
    assert v._maybe_crowded(text)
    assert "attributes on one element" not in validate(text, "trt").errors[0].reason
