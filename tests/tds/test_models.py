"""The TDS model without HTTP: every branch of both callback semantics, and the idempotency keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mocks.core.clock import Clock
from mocks.core.idempotency import Answer, Keyed, KeyReused, fingerprint
from mocks.core.store import Store
from mocks.tds.models import SeedError, Tds, TisReply, normalise_key
from tests.dbs import store_url

KEY = "aa19a641-c782-4426-8586-e7d77edf2d02"
AT = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def tds() -> Tds:
    store = Store(store_url())
    clock = Clock()
    clock.freeze("t", AT)
    model = Tds(store, clock)
    store.create_all()
    return model


def _seed(tds: Tds, status: str, key: str = KEY, tenant: str = "t") -> None:
    tds.seed(tenant, [{"oppKey": key, "status": status}])


def test_submitted_success_becomes_reported_with_audit(tds: Tds) -> None:
    _seed(tds, "submitted")
    outcome = tds.legacy_reply("t", TisReply(KEY, True))
    assert (outcome.action, outcome.status) == ("reported", "reported")
    opp = tds.opportunity("t", KEY)
    assert opp is not None and opp["status"] == "reported"
    assert [(a["accessType"], a["dateAccessed"]) for a in opp["audit"]] == [("reported", "2026-04-01T09:00:00.000Z")]


def test_failure_audits_rejected_with_the_error(tds: Tds) -> None:
    _seed(tds, "submitted")
    tds.legacy_reply("t", TisReply(KEY, False, "failed validation"))
    opp = tds.opportunity("t", KEY)
    assert opp is not None and opp["status"] == "submitted"
    assert [(a["accessType"], a["comment"]) for a in opp["audit"]] == [("rejected", "failed validation")]


def test_expired_becomes_expired_reported_with_date(tds: Tds) -> None:
    _seed(tds, "expired")
    tds.legacy_reply("t", TisReply(KEY, True))
    opp = tds.opportunity("t", KEY)
    assert opp is not None
    assert opp["status"] == "expiredReported" and opp["dateExpiredReported"] == "2026-04-01T09:00:00.000Z"
    assert [a["accessType"] for a in opp["audit"]] == ["expiredReported"]


@pytest.mark.parametrize("status", ["reported", "started", "pending", "completed", "scored", "invalidated"])
def test_other_statuses_get_qa_reported_and_keep_their_status(tds: Tds, status: str) -> None:
    _seed(tds, status)
    outcome = tds.legacy_reply("t", TisReply(KEY, True))
    opp = tds.opportunity("t", KEY)
    assert outcome.action == "qaReported" and opp is not None and opp["status"] == status
    assert [a["accessType"] for a in opp["audit"]] == ["QA Reported"]


def test_unknown_opportunity_is_logged(tds: Tds) -> None:
    outcome = tds.legacy_reply("t", TisReply(KEY, True, None))
    assert outcome.action == "unknown"
    assert tds.errors("t")[0]["message"] == f"No test opportunity matches this key: {KEY}, success True, None"


def test_second_success_reply_after_reported_is_qa_reported(tds: Tds) -> None:
    """TIS acks twice for hand-scored opps (reference §2.4): the second changes nothing."""
    _seed(tds, "submitted")
    tds.legacy_reply("t", TisReply(KEY, True))
    tds.legacy_reply("t", TisReply(KEY, True))
    opp = tds.opportunity("t", KEY)
    assert opp is not None and [a["accessType"] for a in opp["audit"]] == ["reported", "QA Reported"]


def test_tenants_are_isolated(tds: Tds) -> None:
    _seed(tds, "submitted", tenant="t")
    _seed(tds, "submitted", tenant="u")
    tds.legacy_reply("t", TisReply(KEY, True))
    other = tds.opportunity("u", KEY)
    assert other is not None and other["status"] == "submitted" and other["audit"] == []


def test_ert_clean_success_reports_and_error_does_not(tds: Tds) -> None:
    _seed(tds, "submitted")
    assert tds.ert_callback("t", TisReply(KEY, True, "Failed rules validation"), None).action == "notReported"
    assert tds.ert_callback("t", TisReply(KEY, True), None).action == "reported"
    opp = tds.opportunity("t", KEY)
    assert opp is not None and opp["status"] == "reported"
    assert [a["accessType"] for a in opp["audit"]] == ["processed", "processed", "reported"]


def test_ert_refused_transition_is_logged(tds: Tds) -> None:
    _seed(tds, "started")
    assert tds.ert_callback("t", TisReply(KEY, True), None).action == "illegalTransition"
    assert "Bad status transition from started to reported" in tds.errors("t")[0]["message"]


def test_ert_rescore_needs_both_jobid_and_trt(tds: Tds) -> None:
    _seed(tds, "reported")
    assert tds.ert_callback("t", TisReply(KEY, True, trt="<TDSReport/>"), "job1").action == "rescore"
    assert tds.ert_callback("t", TisReply(KEY, True), "job1").action == "rescoreIgnored"
    assert tds.ert_callback("t", TisReply(KEY, True, trt="<x/>"), None).action == "rescoreIgnored"
    opp = tds.opportunity("t", KEY)
    assert opp is not None and opp["status"] == "reported" and opp["audit"] == []


@pytest.mark.parametrize("items,field", [
    ([{"oppKey": "nope"}], "opportunities[0].oppKey"),
    ([{"oppKey": KEY, "status": "flying"}], "opportunities[0].status"),
    ([{"oppKey": KEY, "colour": "red"}], "opportunities[0].colour"),
    (["x"], "opportunities[0]"),
])
def test_seed_errors_name_the_field(tds: Tds, items: list[object], field: str) -> None:
    with pytest.raises(SeedError) as info:
        tds.seed("t", items)  # type: ignore[arg-type]
    assert info.value.field == field


def test_seed_replaces_and_normalises_keys(tds: Tds) -> None:
    tds.seed("t", [{"oppKey": KEY.upper(), "status": "started"}])
    tds.legacy_reply("t", TisReply(KEY, True))
    tds.seed("t", [{"oppKey": KEY, "status": "submitted"}])
    opp = tds.opportunity("t", KEY.upper())
    assert opp is not None and opp["status"] == "submitted" and opp["audit"] == []


def test_normalise_key() -> None:
    assert normalise_key(" AA19A641-C782-4426-8586-E7D77EDF2D02 ") == KEY
    assert normalise_key("zz") is None


# -- idempotency keys (examrig's extension: TIS sends them) ----------------------------------------------------


def _keyed(key: str, body: str = "{}") -> Keyed:
    return Keyed(key, fingerprint("POST", "/student/TIS/API/tisReply", "", body.encode()))


def test_a_repeated_key_is_answered_from_the_ledger_without_a_second_effect(tds: Tds) -> None:
    _seed(tds, "submitted")
    stored = Answer(200, b"", None)
    first = tds.legacy_reply("t", TisReply(KEY, True), _keyed("k1"), stored)
    again = tds.legacy_reply("t", TisReply(KEY, True), _keyed("k1"))
    assert first.action == "reported" and again.action == "replay" and again.answer == stored
    opp = tds.opportunity("t", KEY)
    assert opp is not None and [a["accessType"] for a in opp["audit"]] == ["reported"]
    # another key is another delivery; keys are per tenant
    assert tds.legacy_reply("t", TisReply(KEY, True), _keyed("k2")).action == "qaReported"
    _seed(tds, "submitted", tenant="u")
    assert tds.legacy_reply("u", TisReply(KEY, True), _keyed("k1")).action == "reported"


def test_a_key_reused_for_another_request_is_refused_and_applies_nothing(tds: Tds) -> None:
    _seed(tds, "submitted")
    tds.legacy_reply("t", TisReply(KEY, False, "failed validation"), _keyed("k1", "a"))
    with pytest.raises(KeyReused):
        tds.legacy_reply("t", TisReply(KEY, True), _keyed("k1", "b"))
    opp = tds.opportunity("t", KEY)
    assert opp is not None and opp["status"] == "submitted" and [a["accessType"] for a in opp["audit"]] == ["rejected"]


def test_ert_keys_cover_rescores_and_logged_refusals(tds: Tds) -> None:
    assert tds.ert_callback("t", TisReply(KEY, True, trt="<TDSReport/>"), "job1", _keyed("r1")).action == "rescore"
    assert tds.ert_callback("t", TisReply(KEY, True, trt="<TDSReport/>"), "job1", _keyed("r1")).action == "replay"
    assert tds.ert_callback("t", TisReply(KEY, True), None, _keyed("u1")).action == "unknown"
    assert tds.ert_callback("t", TisReply(KEY, True), None, _keyed("u1")).action == "replay"
    with tds.store.read() as conn:
        assert len(conn.execute(tds.rescores.select()).all()) == 1
    assert len(tds.errors("t")) == 1


def test_reset_forgets_the_keys(tds: Tds) -> None:
    _seed(tds, "submitted")
    tds.legacy_reply("t", TisReply(KEY, True), _keyed("k1"))
    tds.store.reset(tds.tables, "t")
    _seed(tds, "submitted")
    assert tds.legacy_reply("t", TisReply(KEY, True), _keyed("k1")).action == "reported"
