"""examrig's own TIS judged as a client of thss, dw, tds and openam, from the journals of the end-to-end flow.

The guide's use cases as features/end_to_end runs them (features/steps/pipeline.py: a machine-scored and a
hand-scored TRT through TIS to the real thss, dw, tds and openam mocks, in process), once per module. One tenant
also has TDS refuse TIS's first acknowledgement (a 500 fault), so "no resend of a failed ack" is exercised; a
second tenant lets TIS's token outlive its lifetime (openam's and dw's clocks advanced past expires_in), so the
warehouse refuses it and TIS's refresh is judged. Every rule of the four peers is then pass, or not-exercised
for a reason named below; one broken-TIS variant per case (a hand-made entry appended to the real journal)
fails exactly its rule. The same flow then goes through ``examrig check --client`` once, served (~10 s: the
one subprocess run of this module, which the CLI path needs).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.client import evaluate
from conformance.client_check import _client_catalogue
from conformance.targets import Rig
from conformance.verdicts import Run, ScenarioResult, aggregate
from features.steps import pipeline
from mocks.core.journal import Entry

ROOT = Path(__file__).resolve().parents[2]
PEERS = ["thss", "dw", "tds", "openam"]
# what the flow cannot exercise, and why (each a rule's failure path the flow never takes)
NOT_EXERCISED = {
    # nothing TIS delivered was sent twice: a send in doubt needs TIS killed mid-send (tests/tis/test_crash.py)
    "client/dw/TIS-IDEM-002", "client/thss/TIS-IDEM-002",
    # the warehouse refused nothing and no token ran out in this tenant (the expiry tenant exercises both)
    "client/dw/DWC-RETRY-001", "client/openam/OAMC-TOK-004", "client/openam/OAMC-TOK-005",
}


def _flows(rig: Rig, tenant: str, seeds: tuple[int, int]) -> None:
    machine: dict[str, Any] = {}
    pipeline.tis_package(rig, tenant, machine, "machine-scored", seeds[0])
    pipeline.submit(rig, tenant, machine, seeds[0])
    pipeline.run_until_quiet(rig, tenant)
    hand: dict[str, Any] = {}
    pipeline.tis_package(rig, tenant, hand, "hand-scored", seeds[1])
    pipeline.thss_policy(rig, tenant, hand, seeds[1], 1)
    pipeline.submit(rig, tenant, hand, seeds[1])
    pipeline.run_until_quiet(rig, tenant)


@pytest.fixture(scope="module")
def journal() -> Iterator[list[Entry]]:
    rig = Rig(mode="inprocess")
    try:
        since = {name: app.journal.next_seq for name, app in rig.apps.items()}
        pipeline.tis_targets(rig, "e2e")
        r = rig.admin("tds", "POST", "faults", tenant="e2e",
                      json={"kind": "status", "status": 500, "route": "tisReply", "times": 1})
        assert r.status_code == 201, r.text
        _flows(rig, "e2e", (61, 62))

        pipeline.tis_targets(rig, "expiry")
        machine: dict[str, Any] = {}
        pipeline.tis_package(rig, "expiry", machine, "machine-scored", 61)
        pipeline.submit(rig, "expiry", machine, 61)
        pipeline.run_until_quiet(rig, "expiry")
        for service in ("openam", "dw"):  # TIS caches its token forever (reference 2.8): now it has expired
            r = rig.admin(service, "POST", "clock", tenant="expiry", json={"advance": 3601})
            assert r.status_code == 200, r.text
        pipeline.submit(rig, "expiry", machine, 64)
        pipeline.run_until_quiet(rig, "expiry")
        yield [e for name, app in rig.apps.items() for e in app.journal.query(since=since[name]).entries]
    finally:
        rig.close()


def judge(entries: list[Entry]) -> Run:
    run = Run(started="", label="client-tis-peers", mode="client", services=PEERS)
    run.scenarios = evaluate(entries, PEERS)
    aggregate(run, _client_catalogue(), {}, services=PEERS)
    return run


def of(run: Run, tenant: str) -> dict[str, ScenarioResult]:
    return {s.id.removesuffix(f"[{tenant}]"): s for s in run.scenarios if s.id.endswith(f"[{tenant}]")}


def test_examrigs_tis_is_conformant_as_a_client_of_its_peers(journal: list[Entry]) -> None:
    got = of(judge(journal), "e2e")
    assert len(got) == sum(len(_rules(p)) for p in PEERS)
    verdicts = {sid: s.verdict for sid, s in got.items()}
    assert {sid for sid, v in verdicts.items() if v != "pass"} == NOT_EXERCISED, verdicts
    assert {verdicts[sid] for sid in NOT_EXERCISED} == {"not-exercised"}
    # exercised by the flow: TDS refused the first ack and TIS did not resend it; the hand-scored opportunity's
    # second ack (byte for byte the first) is a new pass's delivery, which TIS's journal shows
    assert verdicts["client/tds/TDSC-ACK-003"] == verdicts["client/tds/TIS-IDEM-002"] == "pass"


def test_a_token_outliving_its_lifetime_is_refreshed_once_refused(journal: list[Entry]) -> None:
    got = {sid: s.verdict for sid, s in of(judge(journal), "expiry").items()}
    # the warehouse refused the expired token (401), TIS asked openam for a new one and resent once with it
    assert got["client/dw/DWC-RETRY-001"] == got["client/dw/DWC-AUTH-001"] == got["client/openam/OAMC-TOK-004"] \
        == "pass", got
    # TIS ignores expires_in, as real TIS does (reference 2.8): the SHOULD is missed, non-strict
    assert got["client/openam/OAMC-TOK-005"] == "non-strict", got
    assert {sid for sid, v in got.items() if v in ("fail", "error")} == set(), got


def _rules(service: str) -> list[Any]:
    from conformance.client import RULES
    return RULES[service]


def _last(entries: list[Entry], service: str, path: str) -> Entry:
    return [e for e in entries if e.tenant == "e2e" and e.service == service and e.direction == "in"
            and e.path == path][-1]


def _append(entries: list[Entry], entry: Entry, **changes: Any) -> list[Entry]:
    seq = max(e.seq for e in entries if e.service == entry.service) + 1
    return [*entries, dataclasses.replace(entry, seq=seq, **changes)]


def _text_plain_ack(entries: list[Entry]) -> list[Entry]:
    ack = _last(entries, "tds", "/student/TIS/API/tisReply")
    return _append(entries, ack, request_headers={**ack.request_headers, "Content-Type": "text/plain"})


def _dw_resend_new_key(entries: list[Entry]) -> list[Entry]:
    post = next(e for e in entries if e.tenant == "e2e" and e.service == "dw" and e.path == "/exams/imports")
    return _append(entries, post, request_headers={**post.request_headers, "Idempotency-Key": '"tis-0-999999"'})


@pytest.mark.parametrize(("tweak", "broken"), [(_text_plain_ack, "client/tds/TDSC-ACK-002"),
                                               (_dw_resend_new_key, "client/dw/TIS-IDEM-002")])
def test_a_broken_tis_fails_exactly_its_rule(journal: list[Entry], tweak: Any, broken: str) -> None:
    got = of(judge(tweak(list(journal))), "e2e")
    assert {sid: s.verdict for sid, s in got.items() if s.verdict in ("fail", "error", "non-strict")} \
        == {broken: "fail"}
    assert got[broken].exchanges and got[broken].exchanges[-1].curl.startswith("curl ")


def test_examrig_check_client_judges_the_served_tis_as_their_client(tmp_path: Path) -> None:
    """One served run, as an integrator would start it: the driver (a TDS) posts to examrig's TIS, whose worker
    calls its peers; ``--client`` names TIS (the driver judged) and the four peers (TIS judged)."""
    services = ["tis", *PEERS]
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "check", *(a for s in services for a in ("--client", s)),
         "--report-dir", str(tmp_path), "--formats", "json", "--", sys.executable,
         str(ROOT / "tests/client/tis_flow_driver.py")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600,
        check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    run = json.loads(next(tmp_path.glob("*/report.json")).read_text("utf-8"))
    verdicts = {s["id"].removesuffix("[default]"): s["verdict"] for s in run["scenarios"]}
    assert {sid for sid, v in verdicts.items() if v != "pass"} == {*NOT_EXERCISED, "client/tds/TDSC-ACK-003",
                                                                    "client/tis/TISC-RETRY-001"}, verdicts
    assert {v for v in verdicts.values()} == {"pass", "not-exercised"}
    assert verdicts["client/tds/TIS-IDEM-002"] == "pass"  # the second ack of the hand-scored TRT: a new pass
