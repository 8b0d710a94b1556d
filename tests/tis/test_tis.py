"""TIS: receiver rules, the processing pass, hand scoring, combined tests, packages, failure handling."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import responses

from contracts.generate import generate_combined_trts, generate_testpackage, generate_trt
from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.tis.processing import MSG_FAIL_UPDATE, MSG_FAIL_VALIDATION, Mark
from mocks.tis.service import Service as TisService
from tests.tis.conftest import DW, Harness, opp_key

MACHINE_PKG = generate_testpackage(11, items=8, hand_scored=False)
HAND_PKG = generate_testpackage(12, items=8)


def _scores(doc: str) -> dict[tuple[str, str], str]:
    return {(a, b): c for a, b, c in re.findall(r'<Score measureOf="([^"]*)" measureLabel="([^"]*)" value="([^"]*)"',
                                                  doc)}


# -- receiver -----------------------------------------------------------------------------


def test_receiver_stores_source_row_before_200(harness: Harness) -> None:
    trt = generate_trt(1, package=MACHINE_PKG)
    r = harness.post_trt(trt, scoremode="")
    assert r.status_code == 200 and r.content == b""
    files = harness.tis.model.files(harness.tenant, opp_key(trt))
    assert [f["location"] for f in files] == ["source"]
    assert files[0]["scoreMode"] == "default"
    assert files[0]["callbackUrl"].endswith("/student/TIS/API/tisReply")


@pytest.mark.parametrize(("params", "body", "status", "message"), [
    ({"statusCallback": ""}, b"<TDSReport/>", 400, "This request is not properly formatted."),
    ({"statusCallback": "not/absolute"}, b"<TDSReport/>", 400, "Illegal statusCallback format."),
    ({"statusCallback": "http://tds/cb"}, b"<TDSReport", 400, "Content format is not valid."),
    ({"statusCallback": "http://tds/cb"}, b"", 400, "Content format is not valid."),
    ({"statusCallback": "http://tds/cb"}, b'<!DOCTYPE x [<!ENTITY a "b">]><TDSReport/>', 400,
     "Content format is not valid."),
    ({"statusCallback": "http://tds/cb"}, b"<Report/>", 400, "Invalid test result: Report"),
])
def test_receiver_rejections(harness: Harness, params: dict[str, str], body: bytes, status: int,
                             message: str) -> None:
    r = harness.session.post("http://tis.examrig.internal/api/testresult", params=params, data=body,
                             headers={"X-Examrig-Tenant": harness.tenant})
    assert r.status_code == status
    assert r.json()["Message"] == message
    assert harness.tis.model.counts(harness.tenant) == {}


@pytest.mark.parametrize(("old", "new", "field"), [
    ('oppId="0"', 'oppId="abc"', "Opportunity@oppId"),
    ('statusDate="', 'statusDate="never', "Opportunity@statusDate"),
    ('<Examinee key="', '<Examinee key="x', "Examinee@key"),
    ('<Test name="', '<Test name="" old="', "Test@name"),
])
def test_receiver_key_fields_give_500(harness: Harness, old: str, new: str, field: str) -> None:
    trt = generate_trt(2, package=MACHINE_PKG).decode().replace(old, new, 1).encode()
    r = harness.post_trt(trt)
    assert r.status_code == 500
    assert r.json()["Message"] == "Could not persist the request."
    assert r.json()["MessageDetail"].startswith(field)


def test_oppid_zero_gets_next_free_id(harness: Harness) -> None:
    a, b = generate_trt(3, package=MACHINE_PKG), generate_trt(4, package=MACHINE_PKG)
    harness.post_trt(a)
    harness.post_trt(b)
    ids = [harness.tis.model.files(harness.tenant, opp_key(t))[0]["oppId"] for t in (a, b)]
    assert ids == [1, 2]
    assert 'oppId="2"' in harness.tis.model.files(harness.tenant, opp_key(b))[0]["contents"]


# -- machine-scored processing --------------------------------------------------------------


def test_machine_scored_trt_is_scored_posted_and_acknowledged(harness: Harness) -> None:
    assert harness.load_package(MACHINE_PKG).status_code == 201
    trt = generate_trt(5, package=MACHINE_PKG)
    key = harness.submitted(trt)
    harness.post_trt(trt)
    assert harness.tis.process_pending(harness.tenant) == 1
    files = harness.tis.model.files(harness.tenant, key)
    assert [f["location"] for f in files] == ["archive", "destination"]
    scores = _scores(files[-1]["contents"])
    assert scores[("Overall", "Attempted")] == "Y"
    assert scores[("Overall", "ItemCount")] == "8"
    slope, intercept = 87.5, 2468.9
    if "slope" in MACHINE_PKG.decode():
        slope = float(re.search(r'name="slope" value="([^"]+)"', MACHINE_PKG.decode()).group(1))  # type: ignore[union-attr]
        intercept = float(re.search(r'name="intercept" value="([^"]+)"',  # type: ignore[union-attr]
                                    MACHINE_PKG.decode()).group(1))
    theta = float(scores[("Overall", "ThetaScore")])
    assert float(scores[("Overall", "ScaleScore")]) == pytest.approx(intercept + slope * theta, rel=1e-9)
    assert len(harness.dw_posts) == 1 and not harness.dw_posts[0].startswith(b"<?xml")
    assert harness.acks() == [{"oppKey": key, "success": True, "trt": None}]
    assert harness.tds.model.opportunity(harness.tenant, key)["status"] == "reported"  # type: ignore[index]


def test_unknown_test_stays_in_source(harness: Harness) -> None:
    trt = generate_trt(6, package=MACHINE_PKG)
    harness.post_trt(trt)
    assert harness.tis.process_pending(harness.tenant) == 0
    assert harness.tis.model.counts(harness.tenant) == {"source": 1}


def test_unknown_item_rejects_with_swapped_message(harness: Harness) -> None:
    harness.load_package(MACHINE_PKG)
    trt = re.sub(rb'(<Item [^>]*?key=")(\d+)"', rb'\g<1>999999"', generate_trt(7, package=MACHINE_PKG), count=1)
    key = harness.submitted(trt)
    harness.post_trt(trt)
    harness.tis.process_pending(harness.tenant)
    opp = harness.tis.model.opportunity(harness.tenant, key)
    assert opp is not None and opp["files"][0]["location"] == "reject"
    assert any("Item named in result xml not found" in v["message"] for v in opp["validation"])
    assert harness.acks()[0]["error"] == MSG_FAIL_VALIDATION
    assert not harness.dw_posts


def test_dw_failure_rejects_and_acks_failed_validation_without_retry(harness: Harness) -> None:
    harness.load_package(MACHINE_PKG)
    harness.dw_status = 500
    trt = generate_trt(8, package=MACHINE_PKG)
    key = harness.submitted(trt)
    harness.post_trt(trt)
    harness.tis.process_pending(harness.tenant)
    # the new TRT staged with the plan is dropped with the pass: only the rejected original is left
    assert [f["location"] for f in harness.tis.model.files(harness.tenant, key)] == ["reject"]
    assert harness.acks() == [{"oppKey": key, "success": False, "error": MSG_FAIL_UPDATE, "trt": None}]
    assert len(harness.dw_posts) == 1
    # resubmission through the admin seed resends: now the DW answers
    harness.dw_status = 202
    harness.tis.seed(harness.tenant, {"resubmissions": [{"oppKey": key}]})
    harness.tis.process_pending(harness.tenant)
    assert harness.acks()[-1]["success"] is True
    assert len(harness.dw_posts) == 2


def test_failed_ack_is_not_retried(harness: Harness) -> None:
    harness.load_package(MACHINE_PKG)
    trt = generate_trt(9, package=MACHINE_PKG)
    harness.post_trt(trt, callback="http://tds.examrig.internal/nowhere")
    harness.tis.process_pending(harness.tenant)
    harness.tis.process_pending(harness.tenant)
    opp = harness.tis.model.opportunity(harness.tenant, opp_key(trt))
    assert opp is not None
    acks = [s for s in opp["sends"] if s["kind"] == "ack"]
    assert [(a["state"], a["statusCode"]) for a in acks] == [("failed", 404)]


def test_validate_scoremode_routes_nowhere_and_returns_utf16_trt(harness: Harness) -> None:
    harness.load_package(MACHINE_PKG)
    trt = generate_trt(10, package=MACHINE_PKG)
    harness.post_trt(trt, scoreMode="validate")
    harness.tis.process_pending(harness.tenant)
    ack = harness.acks()[0]
    assert ack["success"] is True
    assert ack["trt"].startswith('<?xml version="1.0" encoding="utf-16"?>')
    assert not harness.dw_posts


def test_guide_profile_ack_has_no_trt(harness: Harness) -> None:
    harness.load_package(MACHINE_PKG)
    harness.tis.model.set_config(harness.tenant, {"dw_urls": [], "ack_profile": "guide"})
    trt = generate_trt(13, package=MACHINE_PKG)
    harness.post_trt(trt)
    harness.tis.process_pending(harness.tenant)
    assert harness.acks() == [{"oppKey": opp_key(trt), "success": True}]


# -- hand scoring -----------------------------------------------------------------------------


def test_hand_scoring_round_trip(harness: Harness) -> None:
    harness.load_package(HAND_PKG)
    trt = generate_trt(14, package=HAND_PKG)
    key = harness.submitted(trt)
    harness.post_trt(trt)
    harness.tis.process_pending(harness.tenant)
    assert len(harness.thss_uploads) == 1
    upload = harness.thss_uploads[0]
    assert upload.startswith(b"<?xml") and b"<ItemScoreRequest callbackUrl=" in upload
    opp = harness.tis.model.opportunity(harness.tenant, key)
    assert opp is not None and opp["statuses"] == ["handscoring"]
    assert opp["files"][-1]["location"] == "destination"
    assert harness.acks()[0]["success"] is True
    assert not _scores(opp["files"][-1]["contents"])  # hand items block opportunity scoring
    harness.score_all(upload)
    harness.tis.process_pending(harness.tenant)
    opp = harness.tis.model.opportunity(harness.tenant, key)
    assert opp is not None and opp["statuses"] == ["handscoring", "handscored", "scored"]
    final = opp["files"][-1]["contents"]
    assert 'status="scored"' in final and "NOTSCORED" not in final
    assert ("Overall", "RawScore") in _scores(final)
    assert len(harness.acks()) == 2 and all(a["success"] for a in harness.acks())
    assert b'status="scored"' in harness.dw_posts[-1]


def test_daemon_rejects_scores_outside_handscoring(harness: Harness) -> None:
    body = (b'<ItemScoreResponse><Score><ScoreInfo scorePoint="1" scoreDimension="Overall" scoreStatus="Scored"/>'
            b'<ContextToken>{"oppKey":"aa19a641-c782-4426-8586-e7d77edf2d02","itemBank":187,"itemID":1}'
            b"</ContextToken></Score></ItemScoreResponse>")
    r = harness.session.post("http://tis.examrig.internal/ItemScoringCallbackRcv.axd", data=body,
                             headers={"X-Examrig-Tenant": harness.tenant})
    assert r.status_code == 200 and r.content == b""
    assert "Did not accept score" in harness.tis.model.daemon_rejections(harness.tenant)[0]
    r = harness.session.post("http://tis.examrig.internal/ItemScoringCallbackRcv.axd", data=b"<garbage",
                             headers={"X-Examrig-Tenant": harness.tenant})
    assert r.status_code == 200


# -- combined ---------------------------------------------------------------------------------


def test_combined_held_pending_then_completed(harness: Harness) -> None:
    pkg = generate_testpackage(21, items=6, combined=True, hand_scored=False)
    assert harness.load_package(pkg).status_code == 201
    first, second = generate_combined_trts(21, package=pkg)
    harness.post_trt(first)
    harness.tis.process_pending(harness.tenant)
    pending = [f for f in harness.tis.model.files(harness.tenant, "x")]  # none under a bogus key
    assert pending == []
    combined = _combined_files(harness)
    assert combined and 'status="pending"' in combined[-1]["contents"]
    assert combined[-1]["oppId"] == 5_000_001
    assert not harness.dw_posts  # components and pending combined TRTs are not sent
    harness.post_trt(second)
    harness.tis.process_pending(harness.tenant)
    combined = _combined_files(harness)
    last = combined[-1]["contents"]
    assert 'status="completed"' in last and combined[-1]["oppId"] == 5_000_001
    assert re.search(r'assessmentVersion="[^"|]+\|[^"|]+"', last)
    assert 'context="COMPONENT_2"' in last
    positions = [int(p) for p in re.findall(r'<Item position="(\d+)"', last)]
    assert positions == list(range(1, len(positions) + 1))
    assert len(harness.dw_posts) == 1 and b'status="completed"' in harness.dw_posts[0]
    assert {a["oppKey"] for a in harness.acks()} == {opp_key(first), opp_key(second)}


def _combined_files(harness: Harness) -> list[dict[str, object]]:
    from sqlalchemy import select
    r = harness.tis.model.repo
    with harness.tis.store.read() as conn:
        keys = conn.execute(select(r.c.oppkey).where(r.c.oppid >= 5_000_000).distinct()).scalars().all()
    files = [f for k in keys for f in harness.tis.model.files(harness.tenant, k)]
    return sorted(files, key=lambda f: int(f["fileId"]))  # type: ignore[call-overload]


# -- packages ---------------------------------------------------------------------------------


def test_package_load_warn_and_delete(harness: Harness) -> None:
    assert harness.load_package(MACHINE_PKG).status_code == 201
    other = generate_testpackage(11, items=8, hand_scored=False).replace(b'id="SBAC', b'id="XSBAC')
    r = harness.load_package(other)
    assert r.status_code == 201
    assert r.json()["errors"][0]["code"] == "WARN"
    r = harness.load_package(b"<nope")
    assert r.status_code == 500
    name = re.search(rb'<TestPackage id="([^"]+)" publisher="([^"]+)"[^>]*academicYear="([^"]+)"', MACHINE_PKG)
    assert name is not None
    key = f"({name.group(2).decode()}){name.group(1).decode()}-{name.group(3).decode()}"
    url = "http://tis.examrig.internal/api/assessments/"
    assert harness.session.delete(url + key, headers={"X-Examrig-Tenant": harness.tenant}).status_code == 200
    r = harness.session.delete(url + key, headers={"X-Examrig-Tenant": harness.tenant})
    assert r.status_code == 500 and r.json()["Message"] == f"Could not delete assessment {key} from TIS"
    r = harness.session.delete(url, headers={"X-Examrig-Tenant": harness.tenant})
    assert r.status_code == 400 and r.json()["Message"] == "An assessment key must be provided"



# -- what a pass reads with its claim ------------------------------------------------------


def test_configuration_is_read_every_pass_and_built_again_only_when_it_changed(harness: Harness) -> None:
    model = harness.tis.model
    first = model.config(harness.tenant)
    assert model.config(harness.tenant) is first  # unchanged settings: the built configuration is reused
    c = model.configs
    with harness.tis.store.begin() as conn:  # as another process would change it (no cache of ours told)
        conn.execute(c.update().where(c.c.tenant == harness.tenant, c.c.name == "config").values(
            value='{"dw_urls": ["http://elsewhere.example/dw"], "outbound_auth": {}}'))
    assert list(model.config(harness.tenant).dw_urls) == ["http://elsewhere.example/dw"]


def test_the_claim_reads_what_the_pass_needs_and_writes_the_last_ack_outcome(harness: Harness) -> None:
    harness.load_package(MACHINE_PKG)
    trts = [generate_trt(60 + i, package=MACHINE_PKG) for i in range(2)]
    for trt in trts:
        harness.submitted(trt)
        harness.post_trt(trt)
    processor = harness.tis.processor
    claimed = processor.claim_row(harness.tenant)
    assert claimed is not None and claimed["prefetch"].blueprint is not None
    assert list(claimed["prefetch"].config.dw_urls) == [DW] and claimed["prefetch"].scores == []
    processor.process(harness.tenant, int(claimed["fileId"]), claimed)
    processor._run_one(harness.tenant)  # the second pass's claim writes the first ack's outcome
    o = harness.tis.model.outbox
    with harness.tis.store.read() as conn:
        states = conn.execute(o.select().with_only_columns(o.c.state).where(
            o.c.tenant == harness.tenant, o.c.kind == "ack").order_by(o.c.id)).scalars().all()
    assert states == ["sent", "sending"]  # the second's is written by the next claim or a flush
    processor.flush()
    with harness.tis.store.read() as conn:
        states = conn.execute(o.select().with_only_columns(o.c.state).where(
            o.c.tenant == harness.tenant, o.c.kind == "ack").order_by(o.c.id)).scalars().all()
    assert states == ["sent", "sent"]
    assert [a["success"] for a in harness.acks()] == [True, True]


def test_concurrent_claims_on_a_database_file_take_each_row_once(tmp_path: Path) -> None:
    runtime = Runtime.create(Settings(seed=2), db=f"sqlite:///{tmp_path / 'tis.db'}")
    tis = TisService(runtime, {"worker": False})
    tis.model.load_package("c", MACHINE_PKG)
    trts = [generate_trt(200 + i, package=MACHINE_PKG) for i in range(24)]
    # two files of one testee: never both in hand
    twin = re.sub(rb'<Examinee key="\d+"', re.search(rb'<Examinee key="\d+"', trts[0]).group(0),  # type: ignore[union-attr]
                  trts[1], count=1)
    for trt in [*trts, twin]:
        tis.model.receive("c", trt, "http://tds.example/cb", "default")
    claimed: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        while (got := tis.processor.claim_row("c")) is not None:
            with lock:
                claimed.append(int(got["fileId"]))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == len(set(claimed)) == 24  # every claimable row once; the twin waits for its testee
    assert tis.model.counts("c") == {"processing": 24, "source": 1}
    runtime.store.dispose()


def test_concurrent_workers_plan_each_row_once_when_the_plan_takes_it(tmp_path: Path) -> None:
    """SQLite: a pass computes for a candidate it has not taken; its plan's commit takes it, or loses it."""
    runtime = Runtime.create(Settings(seed=2), db=f"sqlite:///{tmp_path / 'tis.db'}")
    tis = TisService(runtime, {"worker": False})
    tis.model.set_config("c", {"dw_urls": [DW], "outbound_auth": {}})
    tis.model.load_package("c", MACHINE_PKG)
    trts = [generate_trt(300 + i, package=MACHINE_PKG) for i in range(16)]
    for trt in trts:
        tis.model.receive("c", trt, "http://tds.standin/cb", "default")
    def worker(index: int) -> None:
        tis.processor._local.index = 0 if index % 2 else index  # half of them go for the same rows
        while tis.processor._run_one("c"):
            pass
        tis.processor.flush()  # the thread's last ack outcome, as a worker writes it when it goes idle

    with responses.RequestsMock() as mock:
        mock.add(responses.POST, DW, status=202, json={"status": "ACCEPTED"})
        mock.add(responses.POST, "http://tds.standin/cb", status=200)
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        posts = [c.request.url for c in mock.calls]
    assert tis.model.counts("c") == {"archive": 16, "destination": 16}
    assert posts.count(DW) == 16 and posts.count("http://tds.standin/cb") == 16  # one DW post, one ack each
    o = tis.model.outbox
    with tis.store.read() as conn:
        states = conn.execute(o.select().with_only_columns(o.c.kind, o.c.state).where(o.c.tenant == "c")).all()
    assert sorted(states) == sorted([("dw", "sent")] * 16 + [("ack", "sent")] * 16)
    runtime.store.dispose()


def test_a_pass_whose_row_was_taken_meanwhile_writes_nothing(harness: Harness) -> None:
    harness.load_package(MACHINE_PKG)
    trt = generate_trt(400, package=MACHINE_PKG)
    key = harness.submitted(trt)
    harness.post_trt(trt)
    processor = harness.tis.processor
    candidate = processor._candidate(harness.tenant)
    assert candidate is not None
    assert processor.claim_row(harness.tenant) is not None  # another worker takes the row first
    earlier = Mark(harness.tenant, 10**9, True, 200, None)  # an ack outcome this thread has not written yet
    processor._local.mark = earlier
    assert processor._process_claimed(candidate, take=True) is False  # the plan's commit lost it
    opp = harness.tis.model.opportunity(harness.tenant, key)
    assert opp is not None and [f["location"] for f in opp["files"]] == ["processing"]  # no staged row
    assert opp["sends"] == [] and opp["statuses"] == []
    r = harness.tis.model.repo
    with harness.tis.store.read() as conn:
        assert conn.execute(r.select().with_only_columns(r.c.plan).where(
            r.c.fileid == candidate["fileId"])).scalar() is None
    assert processor._local.mark == earlier  # kept for the next transaction, not lost with the rolled-back one
    processor._local.mark = None
