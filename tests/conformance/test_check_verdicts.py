"""Unit tests of the report model: verdict per check and requirement, worst-of, ledger, capabilities, exit codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conformance import capabilities, check, ledger
from conformance.verdicts import (
    ORDER,
    ReqInfo,
    Run,
    ScenarioResult,
    aggregate,
    exit_code,
    pair_verdict,
    worst,
)

MUST = ReqInfo("X-A-001", "x", "MUST")
SHOULD = ReqInfo("X-A-002", "x", "SHOULD")
ASSUMED = ReqInfo("X-A-003", "x", "MUST", assumed=True)
CATALOGUE = {r.id: r for r in (MUST, SHOULD, ASSUMED)}


def scen(name: str, outcome: str, *reqs: str, foreign: bool = False) -> ScenarioResult:
    return ScenarioResult(id=name, name=name, service="x", requirements=list(reqs), outcome=outcome, foreign=foreign)


def test_worst_follows_the_issue_order() -> None:
    assert ORDER[:6] == ("stale", "fail", "error", "non-strict", "expected-fail", "unsupported")
    assert worst(["pass", "unsupported", "expected-fail"]) == "expected-fail"
    assert worst(["pass", "error", "non-strict"]) == "error"
    assert worst(["error", "fail"]) == "fail"
    assert worst(["not-run", "pass"]) == "pass"
    assert worst([]) == "not-run"


@pytest.mark.parametrize(("outcome", "req", "foreign", "strict", "ledgered", "want"), [
    ("passed", MUST, False, False, False, "pass"),
    ("failed", MUST, False, False, False, "fail"),
    ("failed", SHOULD, False, False, False, "non-strict"),
    ("failed", ASSUMED, True, False, False, "non-strict"),
    ("failed", ASSUMED, True, True, False, "fail"),
    ("failed", ASSUMED, False, False, False, "fail"),  # examrig's own assumption, checked on examrig
    ("failed", MUST, False, False, True, "expected-fail"),
    ("error", MUST, False, False, True, "error"),  # a ledger never excuses an error
    ("unsupported", MUST, True, False, False, "unsupported"),
    ("skipped", MUST, False, False, False, "not-run"),
    ("not-exercised", MUST, False, False, False, "not-exercised"),
])
def test_pair_verdict(outcome: str, req: ReqInfo, foreign: bool, strict: bool, ledgered: bool, want: str) -> None:
    assert pair_verdict(outcome, req, foreign=foreign, strict_assumed=strict, ledgered=ledgered) == want


def test_requirement_takes_the_worst_of_its_scenarios_and_unclaimed_ones_are_not_run() -> None:
    run = Run(started="t", scenarios=[scen("a", "passed", MUST.id), scen("b", "failed", MUST.id, SHOULD.id)])
    aggregate(run, CATALOGUE, {})
    got = {r.id: r.verdict for r in run.requirements}
    assert got == {MUST.id: "fail", SHOULD.id: "non-strict", ASSUMED.id: "not-run"}
    assert run.scenarios[1].verdict == "fail"
    assert exit_code(run)[0] == 1


def test_stale_ledger_entry_fails_the_run_and_expected_fail_does_not() -> None:
    run = Run(started="t", scenarios=[scen("a", "passed", MUST.id), scen("b", "failed", ASSUMED.id)])
    aggregate(run, CATALOGUE, {MUST.id: "was broken", ASSUMED.id: "known"})
    got = {r.id: r.verdict for r in run.requirements}
    assert got[MUST.id] == "stale" and got[ASSUMED.id] == "expected-fail"
    code, reasons = exit_code(run)
    assert code == 1 and any("stale" in r for r in reasons)
    run = Run(started="t", scenarios=[scen("b", "failed", ASSUMED.id)])
    aggregate(run, CATALOGUE, {ASSUMED.id: "known"})
    assert exit_code(run)[0] == 0


def test_error_share_and_unjudged_musts_are_infrastructure() -> None:
    ok = [scen(f"p{i}", "passed", SHOULD.id) for i in range(9)]
    run = Run(started="t", scenarios=[*ok, scen("e", "error", MUST.id), scen("f", "failed", MUST.id)])
    aggregate(run, CATALOGUE, {})
    assert exit_code(run)[0] == 1  # one error in 11 is under the share: the fail decides
    run = Run(started="t", scenarios=[scen("e1", "error", SHOULD.id), scen("e2", "error", SHOULD.id), *ok[:3]])
    aggregate(run, CATALOGUE, {})
    code, reasons = exit_code(run)
    assert code == 3 and "more than 20%" in reasons[0]
    run = Run(started="t", scenarios=[*ok, scen("e", "error", MUST.id)])
    aggregate(run, CATALOGUE, {})
    assert exit_code(run)[0] == 3  # a MUST nothing could judge is not conformant, and not a fail either


def test_zero_scenarios_and_interrupted_runs() -> None:
    run = Run(started="t")
    aggregate(run, CATALOGUE, {}, services=["x"])
    assert exit_code(run) == (3, ["zero scenarios were selected"])
    run = Run(started="t", incomplete=True, scenarios=[scen("a", "passed", MUST.id)])
    aggregate(run, CATALOGUE, {})
    assert exit_code(run)[0] == 130


def test_ledger_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.yaml"
    path.write_text("- id: X-A-001\n  reason: vendor bug 12\n  expires: 2027-01-01\n"
                    "- id: X-A-002\n  reason: old\n  expires: 2020-01-01\n", encoding="utf-8")
    live, warnings = ledger.load(path, CATALOGUE, dt.date(2026, 12, 1))
    assert live == {"X-A-001": "vendor bug 12"}
    assert len(warnings) == 1 and "X-A-002 expired on 2020-01-01" in warnings[0]
    for text, problem in [("- id: NOPE-001\n  reason: r\n", "not a requirement"),
                          ("- id: X-A-001\n", "needs a reason"),
                          ("- id: X-A-001\n  reason: r\n  expires: soon\n", "not a date"),
                          ("id: X-A-001\n", "expected a list"),
                          ("- [unclosed\n", "not YAML")]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ledger.LedgerError, match=problem):
            ledger.load(path, CATALOGUE, dt.date(2026, 12, 1))


def test_capabilities_file_toml_and_yaml(tmp_path: Path) -> None:
    toml = tmp_path / "caps.toml"
    toml.write_text("[tds]\nidempotency_key = false\n[examrig]\nconventions = true\n", encoding="utf-8")
    assert capabilities.load(toml, {"tds"}) == {"tds.idempotency_key": False, "examrig.conventions": True}
    yml = tmp_path / "caps.yaml"
    yml.write_text("tds.idempotency_key: true\ndeliveryodata:\n  appointments: false\n", encoding="utf-8")
    assert capabilities.load(yml, {"tds", "deliveryodata"}) == {"tds.idempotency_key": True,
                                                               "deliveryodata.appointments": False}
    for text, problem in [("tds.idempotency_key: maybe\n", "true or false"),
                          ("nosuch.thing: true\n", "unknown service"),
                          ("tds: true\n", "service.capability")]:
        yml.write_text(text, encoding="utf-8")
        with pytest.raises(capabilities.CapabilitiesError, match=problem):
            capabilities.load(yml, {"tds"})


def test_report_dirs_of_simultaneous_runs_never_collide(tmp_path: Path) -> None:
    now = dt.datetime(2026, 12, 1, 21, 0, tzinfo=dt.UTC)
    made = {check.make_run_dir(tmp_path, "tds-host_1", now) for _ in range(5)}
    assert len(made) == 5 and all(p.is_dir() for p in made)


def test_a_failing_writer_is_reported_and_the_others_still_write(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance import reports

    def broken(run: Run, directory: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setitem(reports.WRITERS, "md", broken)
    run = Run(started="2026-12-01T21:00:00+00:00", scenarios=[scen("a", "passed", MUST.id)])
    aggregate(run, CATALOGUE, {})
    problems = check.write_reports(run, tmp_path, ["json", "md", "junit"])
    assert problems == ["the md report writer failed: OSError: disk full"]
    assert (tmp_path / "junit.xml").is_file()
    assert "md report writer failed" in (tmp_path / "report.json").read_text(encoding="utf-8")


def test_html_report_is_self_contained_filterable_and_escapes_what_a_target_answered(tmp_path: Path) -> None:
    from lxml import html

    from conformance.reports import html_report
    from conformance.verdicts import Exchange

    bad = scen("b", "failed", MUST.id)
    bad.message = "expected 400, got 200"
    bad.failed_step = "Then the response status is 400"
    bad.exchanges = [Exchange(method="POST", url="http://target/x", status=200,
                              response_body="<script>alert(1)</script>", curl="curl -X POST http://target/x")]
    run = Run(started="2026-12-01T21:00:00+00:00", seed=5,
              scenarios=[scen("a", "passed", SHOULD.id), bad])
    aggregate(run, CATALOGUE, {})
    text = html_report.write(run, tmp_path).read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in text and "<script>alert(1)<\\/script>" in text
    doc = html.fromstring(text)
    assert not doc.xpath("//*[@src] | //link | //iframe"), "nothing is loaded from anywhere"
    assert "default-src 'none'" in doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    for name in ("service", "level", "verdict"):
        assert doc.xpath(f"//select[@id='f-{name}']/option"), name
    rows = doc.xpath("//table[@id='matrix']/tbody/tr")
    assert [r.get("data-verdict") for r in rows] == ["fail", "pass", "not-run"]
    summary = rows[0].xpath(".//details")[0]
    assert "fail" in summary.text_content() and summary.get("class") == "ev"
    # the evidence is a JSON data block the script renders on opening (test_html_report_browser.py)
    block = doc.xpath("//script[@type='application/json'][@id='evidence']")[0].text
    assert "</script" not in block.lower() and "<!--" not in block
    evidence = json.loads(block)[int(summary.get("data-ev"))]
    assert evidence["step"] == "Then the response status is 400" and evidence["message"] == "expected 400, got 200"
    assert evidence["seed"] == 5 and evidence["id"] == "b"
    exchange = evidence["exchanges"][0]
    assert exchange["curl"] == "curl -X POST http://target/x"
    assert exchange["response_body"] == "<script>alert(1)</script>" and exchange["status"] == 200
