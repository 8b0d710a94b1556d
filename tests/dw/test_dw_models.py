"""Unit tests of the warehouse model (no server): checks and messages, MD5 de-duplication, reset, role check."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from contracts.generate import generate_trt
from mocks.core.clock import Clock
from mocks.core.idempotency import Answer, Keyed, KeyReused, fingerprint
from mocks.core.store import Store
from mocks.dw.models import AccessRefused, SeedError, Warehouse, import_json, loader_mail
from mocks.openam.models import chain_entry
from tests.dbs import store_url

T = "t1"
BASE = generate_trt(1, kind="scored")


@pytest.fixture
def clock() -> Clock:
    c = Clock()
    c.freeze(T, datetime(2024, 3, 1, 12, 0, tzinfo=UTC))
    return c


@pytest.fixture
def model(clock: Clock) -> Warehouse:
    store = Store(store_url())
    m = Warehouse(store, clock, {})
    store.create_all()
    return m


def edit(change: Callable[[Any], object], data: bytes = BASE) -> bytes:
    """The TRT with ``change(root)`` applied."""
    root = etree.fromstring(data)
    change(root)
    return bytes(etree.tostring(root))


def set_score(label: str, value: str, measure: str = "Overall") -> Callable[[Any], None]:
    def change(root: Any) -> None:
        opp = root.find("Opportunity")
        for score in opp.findall("Score"):
            if score.get("measureOf") == measure and score.get("measureLabel") == label:
                score.set("value", value)
                return
        # a new Score goes after the others (the schema fixes the order of Opportunity's children)
        last = opp.findall("Score")[-1]
        new = etree.Element("Score", measureOf=measure, measureLabel=label, value=value, standardError="")
        opp.insert(opp.index(last) + 1, new)
    return change


def set_attr(element: str, name: str, value: str) -> Callable[[Any], None]:
    def change(root: Any) -> None:
        root.find(element).set(name, value)
    return change


def messages(model: Warehouse, data: bytes) -> list[str]:
    verdict, _ = model.check(T, data)
    return verdict.messages


def test_generated_scored_trt_is_processed(model: Warehouse) -> None:
    verdict, opp_key = model.check(T, BASE)
    assert verdict.ok and verdict.status == "PROCESSED" and verdict.messages == []
    assert opp_key == etree.fromstring(BASE).find("Opportunity").get("key")


@pytest.mark.parametrize(("body", "needle"), [
    (b"", "body: empty"),
    (b"   \n", "body: empty"),
    (b"not xml at all", ""),
    (b"<TDSReport><Bogus/></TDSReport>", "Bogus"),
    (b"<Foo/>", "Foo"),
])
def test_structural_failures_are_bad_format(model: Warehouse, body: bytes, needle: str) -> None:
    verdict, opp_key = model.check(T, body)
    assert verdict.status == "BAD_FORMAT" and not verdict.ok and opp_key is None
    assert verdict.messages and needle in " ".join(verdict.messages)


@pytest.mark.parametrize(("change", "expected"), [
    (set_score("ScaleScore", "999"), "Score[measureOf=Overall, measureLabel=ScaleScore]@value: 999 is out of range "
                                     "[1000, 4000]"),
    (set_score("ScaleScore", "4000.5"), "@value: 4000.5 is out of range [1000, 4000]"),
    (set_score("ScaleScore", "-1"), "@value: -1 is out of range"),
    (set_score("ScaleScore", "bad data", "SOCK_R"),
     "Score[measureOf=SOCK_R, measureLabel=ScaleScore]@value: 'bad data' is not a number"),
    (set_score("PerformanceLevel", "0"), "measureLabel=PerformanceLevel]@value: '0' is not a performance level (1..4)"),
    (set_score("PerformanceLevel", "5"), "'5' is not a performance level (1..4)"),
    (set_score("PerformanceLevel", "2.5"), "'2.5' is not a performance level"),
    (set_score("PerformanceLevel", "bad data", "2-W"),
     "Score[measureOf=2-W, measureLabel=PerformanceLevel]@value: 'bad data' is not a performance level"),
    (set_score("ThetaScore", "theta"), "measureLabel=ThetaScore]@value: 'theta' is not a number"),
    (set_score("StudentRelativeResidualScore", "x", "C1|T1|1-2"),
     "Score[measureOf=C1|T1|1-2, measureLabel=StudentRelativeResidualScore]@value: 'x' is not a number"),
    (set_score("StandardMetRelativeResidualScore", "?", "C1|T1|1-2"), "'?' is not a number"),
    (set_score("RawScore", "-3", "Conventions"),
     "Score[measureOf=Conventions, measureLabel=RawScore]@value: '-3' is not a raw score (a non-negative integer)"),
    (set_score("RawScore", "1.5", "Conventions"), "'1.5' is not a raw score"),
    (set_attr("Test", "academicYear", "4294967295"), "Test@academicYear: 4294967295 is not a valid academic year"),
    (set_attr("Test", "academicYear", "1899"), "Test@academicYear: 1899 is not a valid academic year"),
    (set_attr("Opportunity", "dateCompleted", ""), "Opportunity@dateCompleted: empty for an exam with status scored"),
])
def test_each_semantic_check_names_the_field(model: Warehouse, change: Callable[[Any], None], expected: str) -> None:
    verdict, _ = model.check(T, edit(change))
    assert verdict.status == "INVALID" and not verdict.ok
    assert len(verdict.messages) == 1 and expected in verdict.messages[0], verdict.messages


@pytest.mark.parametrize("change", [
    set_score("ScaleScore", "NS"), set_score("ScaleScore", "0"), set_score("ScaleScore", ""),
    set_score("ScaleScore", "1000"), set_score("ScaleScore", "4000"), set_score("PerformanceLevel", ""),
    set_score("PerformanceLevel", "4"), set_score("ThetaScore", "-2.5e-1"), set_score("RawScore", "0", "Conventions"),
    set_score("Benchmark", "0.25", "C1|T2|A"), set_score("ProficiencyDelta", "-1", "C1|T2|A"),
    set_score("ItemCount", "anything"), set_attr("Test", "academicYear", "2100"),
])
def test_values_the_warehouse_takes(model: Warehouse, change: Callable[[Any], None]) -> None:
    assert messages(model, edit(change)) == []


@pytest.mark.parametrize("status", ["paused", "pending", "reset", "expired"])
def test_empty_date_completed_is_fine_for_an_unfinished_exam(model: Warehouse, status: str) -> None:
    data = edit(lambda r: (r.find("Opportunity").set("status", status), r.find("Opportunity").set("dateCompleted", "")))
    assert messages(model, data) == []


def test_every_failed_check_is_listed(model: Warehouse) -> None:
    data = edit(set_score("ScaleScore", "5"), edit(set_attr("Test", "academicYear", "3"),
                                                  edit(set_score("PerformanceLevel", "9"))))
    found = messages(model, data)
    assert len(found) == 3
    assert any("academicYear" in m for m in found) and any("ScaleScore" in m for m in found)
    assert any("PerformanceLevel" in m for m in found)


def test_ranges_are_options(clock: Clock) -> None:
    store = Store(store_url())
    model = Warehouse(store, clock, {"scale_score_min": 100, "scale_score_max": 300, "performance_level_max": 3})
    store.create_all()
    assert messages(model, edit(set_score("ScaleScore", "230.4"))) == []
    assert "out of range [100, 300]" in messages(model, BASE)[0]
    data = edit(set_score("ScaleScore", "300"), edit(set_score("PerformanceLevel", "4")))
    assert "(1..3)" in messages(model, data)[0]


def test_item_catalogue(model: Warehouse) -> None:
    items = etree.fromstring(BASE).find("Opportunity").findall("Item")
    assert messages(model, BASE) == []  # no catalogue, no check
    known = [f"{i.get('bankKey')}-{i.get('key')}" for i in items[1:]]
    assert model.seed_items(T, known) == len(known)
    first = items[0]
    assert messages(model, BASE) == [
        f"Item@key: unknown item {first.get('bankKey')}-{first.get('key')} at position {first.get('position')}"]
    model.seed_items(T, [known[0], f"{first.get('bankKey')}-{first.get('key')}"])  # re-seeding one is an upsert
    assert messages(model, BASE) == []
    assert model.check("other", BASE)[0].ok  # catalogues are per tenant


@pytest.mark.parametrize(("items", "field"), [(["187"], "items[0]"), (["187-1234", "a-b"], "items[1]"),
                                              ([187], "items[0]"), (["1-2-3"], "items[0]")])
def test_bad_catalogue_seed_names_the_entry(model: Warehouse, items: list[Any], field: str) -> None:
    with pytest.raises(SeedError) as caught:
        model.seed_items(T, items)
    assert caught.value.field == field and "bankKey-itemKey" in caught.value.reason
    assert model.check(T, BASE)[0].ok  # nothing half-loaded (no catalogue, no check)


def test_imports_are_deduplicated_by_upper_case_md5(model: Warehouse) -> None:
    first, duplicate = model.receive(T, "imports", BASE, "application/xml", "loader@example.org")
    assert not duplicate
    assert first["digest"] == hashlib.md5(BASE, usedforsecurity=False).hexdigest().upper()
    assert first["status"] == "PROCESSED" and first["creator"] == "loader@example.org"
    again, duplicate = model.receive(T, "imports", BASE, "text/plain", "someone@example.org")
    assert duplicate and again == first  # the first record, not reprocessed
    other, duplicate = model.receive(T, "imports", BASE + b"\n", "application/xml", None)
    assert not duplicate and other["id"] != first["id"]
    _, duplicate = model.receive("t2", "imports", BASE, "application/xml", None)
    assert not duplicate  # de-duplication is per tenant
    assert [r["id"] for r in model.receipts_of(T, "imports")] == [first["id"], other["id"]]


def test_a_refused_import_is_still_a_duplicate(model: Warehouse) -> None:
    first, _ = model.receive(T, "imports", b"hello", "text/plain", None)
    assert first["status"] == "BAD_FORMAT"
    again, duplicate = model.receive(T, "imports", b"hello", "text/plain", None)
    assert duplicate and again["id"] == first["id"] and len(model.receipts_of(T)) == 1


def test_dw_receivers_keep_every_receipt(model: Warehouse, clock: Clock) -> None:
    a, dup_a = model.receive(T, "DW1", BASE, "application/xml", None)
    clock.advance(T, 5)
    b, dup_b = model.receive(T, "DW1", BASE, "application/xml", None)
    c, _ = model.receive(T, "DW2", edit(set_score("ScaleScore", "1")), "application/xml", None)
    assert not dup_a and not dup_b and a["id"] != b["id"] and a["digest"] == b["digest"]
    assert a["received"] == "2024-03-01T12:00:00.000Z" and b["received"] == "2024-03-01T12:00:05.000Z"
    assert [r["id"] for r in model.receipts_of(T, "DW1")] == [a["id"], b["id"]]
    assert c["status"] == "INVALID" and "out of range" in c["messages"][0]
    assert model.receipt(T, c["id"]) == c and model.receipt("t2", c["id"]) is None
    assert len(model.receipts_of(T)) == 3 and model.receipts_of("t2") == []


def test_concurrent_duplicates_give_one_record(model: Warehouse) -> None:
    results: list[tuple[dict[str, Any], bool]] = []
    threads = [threading.Thread(target=lambda: results.append(model.receive(T, "imports", BASE, None, None)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r["id"] for r, _ in results}) == 1 and sum(not d for _, d in results) == 1
    assert len(model.receipts_of(T, "imports")) == 1


def test_a_taken_exam_is_stored_and_reset_deletes_it(model: Warehouse) -> None:
    opp = etree.fromstring(BASE).find("Opportunity")
    key = opp.get("key")
    record, _ = model.receive(T, "imports", BASE, None, None)
    exam = model.exam(T, key)
    assert exam is not None and exam["deleted"] is False and exam["status"] == "scored"
    assert exam["receipt"] == record["id"] and exam["oppId"] == opp.get("oppId")
    reset = edit(set_attr("Opportunity", "status", "reset"))
    second, _ = model.receive(T, "DW1", reset, None, None)
    exam = model.exam(T, key)
    assert exam is not None and exam["deleted"] is True and exam["receipt"] == second["id"]
    assert model.exams_of(T, include_deleted=False) == [] and len(model.exams_of(T)) == 1
    model.receive(T, "DW1", edit(set_attr("Opportunity", "status", "completed")), None, None)
    assert model.exam(T, key)["deleted"] is False  # type: ignore[index]  # a later exam brings it back


def test_a_refused_trt_changes_no_exam(model: Warehouse) -> None:
    key = etree.fromstring(BASE).find("Opportunity").get("key")
    model.receive(T, "DW1", BASE, None, None)
    bad_reset = edit(set_score("ScaleScore", "1"), edit(set_attr("Opportunity", "status", "reset")))
    record, _ = model.receive(T, "DW1", bad_reset, None, None)
    assert record["status"] == "INVALID"
    assert model.exam(T, key)["deleted"] is False  # type: ignore[index]
    assert model.exam("t2", key) is None


def test_reset_sample_deletes_the_completed_exam(model: Warehouse, shared_data: Path) -> None:
    trt = shared_data / "tis" / "trt"
    completed = (trt / "scored-IAB-MATH-G4.status-completed.RDW.xml").read_bytes()
    reset = (trt / "status-reset-IAB-MATH-G4.RDW.xml").read_bytes()
    model.receive(T, "imports", completed, None, None)
    assert model.exam(T, "41345bd8-0b4b-43d3-8de5-0c281582e12d")["deleted"] is False  # type: ignore[index]
    model.receive(T, "imports", reset, None, None)
    assert model.exam(T, "41345bd8-0b4b-43d3-8de5-0c281582e12d")["deleted"] is True  # type: ignore[index]


def test_real_samples(model: Warehouse, shared_data: Path) -> None:
    verdicts = {p.name: model.check(T, p.read_bytes())[0] for p in sorted((shared_data / "tis/trt").glob("*.xml"))}
    # the IRP report fails the lenient schema; the RDW negative fixture fails the semantic checks
    assert verdicts.pop("partially-scored-MATH-G7.IRP-good-tds-report.xml").status == "BAD_FORMAT"
    negative = verdicts.pop("negative-ICA-ELA-G6-exam-errors.RDW.xml")
    assert all(v.ok for v in verdicts.values()), {k: v.messages for k, v in verdicts.items() if not v.ok}
    assert negative.status == "INVALID"
    assert sorted(negative.messages) == sorted([
        "Test@academicYear: 4294967295 is not a valid academic year",
        "Opportunity@dateCompleted: empty for an exam with status completed",
        "Score[measureOf=Overall, measureLabel=ScaleScore]@value: -1 is out of range [1000, 4000]",
        "Score[measureOf=2-W, measureLabel=ScaleScore]@value: -2017 is out of range [1000, 4000]",
        *[f"Score[measureOf={m}, measureLabel=ScaleScore]@value: 'bad data' is not a number"
          for m in ("4-CR", "SOCK_R", "SOCK_LS")],
        *[f"Score[measureOf={m}, measureLabel=PerformanceLevel]@value: 'bad data' is not a performance level (1..4)"
          for m in ("Overall", "4-CR", "SOCK_R", "SOCK_LS")],
        "Score[measureOf=2-W, measureLabel=PerformanceLevel]@value: '0' is not a performance level (1..4)",
    ])


def tokeninfo(roles: list[str], mail: str | None = "loader@example.org") -> dict[str, Any]:
    info: dict[str, Any] = {"uid": "loader", "sbacTenancyChain": ",".join(chain_entry(r, "roles") for r in roles)}
    if mail is not None:
        info["mail"] = mail
    return info


def test_role_check_lets_a_loader_in() -> None:
    assert loader_mail("tok", 200, tokeninfo(["TIS Admin", "ASMTDATALOAD"])) == "loader@example.org"


@pytest.mark.parametrize(("token", "status", "info", "code", "reason"), [
    ("", 0, None, 401, "Full authentication is required"),
    ("  ", 0, None, 401, "Full authentication is required"),
    ("tok", 400, {"error": "invalid_request", "error_description": "Access Token not valid"}, 401,
     "Invalid access token: tok"),
    ("tok", 200, {"error": "invalid_token"}, 401, "Invalid access token"),
    ("tok", 200, None, 401, "Invalid access token"),  # not JSON
    ("tok", 200, ["ASMTDATALOAD"], 401, "Invalid access token"),
    ("tok", 500, tokeninfo(["ASMTDATALOAD"]), 401, "Invalid access token"),
    ("tok", 200, tokeninfo(["TIS Admin"]), 403, "ASMTDATALOAD role and a mail address are required"),
    ("tok", 200, tokeninfo([]), 403, "ASMTDATALOAD"),
    ("tok", 200, tokeninfo(["ASMTDATALOAD"], mail=None), 403, "mail address"),
    ("tok", 200, tokeninfo(["ASMTDATALOAD"], mail=" "), 403, "mail address"),
    ("tok", 200, tokeninfo(["asmtdataload"]), 403, "ASMTDATALOAD"),  # the role name is matched exactly
])
def test_role_check_refusals(token: str, status: int, info: Any, code: int, reason: str) -> None:
    with pytest.raises(AccessRefused) as caught:
        loader_mail(token, status, info)
    assert caught.value.status == code and reason in caught.value.reason


def test_import_json_is_rdw_shaped(model: Warehouse) -> None:
    record, _ = model.receive(T, "imports", b"hello", "text/plain", "me@example.org")
    body = import_json(record, "http://dw")
    assert body == {"id": record["id"], "content": "EXAM", "contentType": "text/plain", "digest": record["digest"],
                    "status": "ACCEPTED", "creator": "me@example.org", "batch": None, "message": None,
                    "_links": {"self": {"href": f"http://dw/exams/imports/{record['id']}"}}}


# -- idempotency keys (examrig's extension: TIS sends them) ----------------------------------------------------


def _keyed(key: str, body: bytes = BASE, path: str = "/exams/imports") -> Keyed:
    return Keyed(key, fingerprint("POST", path, "", body))


def _answer(record: dict[str, Any], duplicate: bool) -> Answer:
    return Answer(202, f'{{"id":{record["id"]},"duplicate":{str(duplicate).lower()}}}'.encode(), "application/json")


def test_a_repeated_key_gets_the_stored_answer_and_records_nothing(model: Warehouse) -> None:
    first = model.take(T, "DW1", BASE, None, None, _keyed("k1"), _answer)
    again = model.take(T, "DW1", BASE, None, None, _keyed("k1"), _answer)
    assert not first.replayed and first.result is not None
    assert again.replayed and again.result is None and again.answer == first.answer
    assert len(model.receipts_of(T, "DW1")) == 1
    # another key is another delivery (DW1 keeps every receipt); keys are per tenant
    assert not model.take(T, "DW1", BASE, None, None, _keyed("k2"), _answer).replayed
    assert not model.take("t2", "DW1", BASE, None, None, _keyed("k1"), _answer).replayed
    assert len(model.receipts_of(T, "DW1")) == 2 and len(model.receipts_of("t2")) == 1


def test_a_key_reused_for_another_request_is_refused(model: Warehouse) -> None:
    model.take(T, "DW1", BASE, None, None, _keyed("k1"), _answer)
    other = edit(set_score("ScaleScore", "2500"))
    with pytest.raises(KeyReused):
        model.take(T, "DW1", other, None, None, _keyed("k1", other), _answer)
    with pytest.raises(KeyReused):
        model.take(T, "DW2", BASE, None, None, _keyed("k1", BASE, "/dw2/services/xml"), _answer)
    assert len(model.receipts_of(T)) == 1


def test_an_md5_duplicate_keeps_its_key_with_the_first_record(model: Warehouse) -> None:
    first = model.take(T, "imports", BASE, None, None, _keyed("k1"), _answer)
    dup = model.take(T, "imports", BASE, None, None, _keyed("k2"), _answer)
    assert dup.result is not None and dup.result[1] is True and not dup.replayed
    assert first.result is not None and dup.result[0]["id"] == first.result[0]["id"]
    assert model.take(T, "imports", BASE, None, None, _keyed("k2"), _answer).answer == dup.answer
    assert len(model.receipts_of(T, "imports")) == 1


def test_concurrent_requests_with_one_key_record_once(model: Warehouse) -> None:
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(
        model.take(T, "DW1", BASE, None, None, _keyed("k1", BASE, "/dw1/services/xml"), _answer)))
        for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.replayed for r in results) == [False, True, True, True]
    assert len({r.answer for r in results}) == 1 and len(model.receipts_of(T, "DW1")) == 1


def test_reset_forgets_the_keys(model: Warehouse) -> None:
    model.take(T, "DW1", BASE, None, None, _keyed("k1"), _answer)
    model.store.reset(model.tables, T)
    assert not model.take(T, "DW1", BASE, None, None, _keyed("k1"), _answer).replayed
