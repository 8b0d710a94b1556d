"""``examrig check`` end to end: self-check, reports valid against real consumers' schemas and tools, exit codes.

Every run is a subprocess of the real command. The JUnit schema is Jenkins' ``junit-10.xsd`` as pytest's
own source distribution ships it (pytest validates its junitxml output against it), downloaded from the
package index at test time; the cucumber JSON is fed to two npm report tools installed into a temporary
prefix. Either missing fails under ``CI=true`` and skips elsewhere, with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from tests.conformance import mini_corpus
from tests.conformance.check_helpers import (
    ROOT,
    SCHEMA,
    CheckResult,
    check_command,
    closed_port,
    env,
    hanging_app,
    html_app,
    not_found_app,
    resetting_server,
    run_check,
    run_dir_in,
    served_mock,
    served_wsgi,
    wait_for,
)
from tests.npm import npm_install

pytestmark = pytest.mark.slow
REPORTS = ("report.json", "summary.md", "report.html", "junit.xml", "cucumber.json")


def _missing_tool(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def junit_xsd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Jenkins' junit-10.xsd from pytest's sdist (the version installed here), fetched with pip."""
    version = pytest.__version__
    where = tmp_path_factory.mktemp("junit-xsd")
    done = subprocess.run([sys.executable, "-m", "pip", "download", f"pytest=={version}", "--no-binary", ":all:",
                           "--no-deps", "-q", "-d", str(where)],
                          capture_output=True, text=True, timeout=300)
    sdists = list(where.glob("pytest-*.tar.gz"))
    if done.returncode != 0 or not sdists:
        _missing_tool(f"cannot download pytest {version}'s sdist for junit-10.xsd: {done.stderr.strip()[-300:]}")
    member = f"pytest-{version}/testing/example_scripts/junit-10.xsd"
    with tarfile.open(sdists[0]) as tar:
        data = tar.extractfile(member)
        assert data is not None, member
        path = where / "junit-10.xsd"
        path.write_bytes(data.read())
    return path


@pytest.fixture(scope="session")
def cucumber_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """multiple-cucumber-html-reporter and cucumber-html-reporter, npm-installed into a temporary prefix."""
    prefix = tmp_path_factory.mktemp("cucumber-tools")
    reason = npm_install(prefix, ["multiple-cucumber-html-reporter", "cucumber-html-reporter"])
    if reason is not None:
        _missing_tool(f"cannot install the cucumber report tools: {reason}")
    return prefix / "node_modules"


@pytest.fixture(scope="module")
def self_check(tmp_path_factory: pytest.TempPathFactory) -> CheckResult:
    """The whole corpus against examrig's own mocks, over real HTTP (each mock served on a loopback port).

    This is also the suite's run of the corpus over HTTP: tox runs it in process (py) and on PostgreSQL
    (py-pg), so one HTTP run here covers both the wire and ``examrig check``'s self-check.
    """
    return run_check("--mode", "http", report_dir=tmp_path_factory.mktemp("self-check"))


def _assert_reports_valid(result: CheckResult, junit_xsd: Path | None = None) -> None:
    import jsonschema
    from lxml import etree

    assert result.run_dir is not None
    for name in REPORTS:
        assert (result.run_dir / name).stat().st_size > 0, name
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(result.report)
    if junit_xsd is not None:
        xsd = etree.XMLSchema(etree.parse(str(junit_xsd)))
        doc = etree.parse(str(result.run_dir / "junit.xml"))
        assert xsd.validate(doc), xsd.error_log
        cases = doc.findall(".//testcase")
        scenarios = [s for s in result.report["scenarios"]]
        assert len(cases) == len(scenarios)
        claimed = {p.get("value") for p in doc.findall(".//property[@name='requirement']")}
        assert claimed == {rid for s in scenarios for rid in s["requirements"]}


def test_self_check_of_the_whole_corpus_is_conformant(self_check: CheckResult, junit_xsd: Path) -> None:
    assert self_check.code == 0, self_check.stdout + self_check.stderr
    report = self_check.report
    assert len(report["scenarios"]) >= 250, "the whole corpus ran"
    assert report["mode"] == "http"
    assert {s["verdict"] for s in report["scenarios"]} == {"pass"}
    assert report["counts"]["requirements"]["pass"] >= 100
    assert "examrig check: conformant (exit 0)" in self_check.stdout
    assert "pass" in self_check.stdout.split("verdict", 1)[1]
    _assert_reports_valid(self_check, junit_xsd)


def test_cucumber_json_is_accepted_by_real_cucumber_report_tools(self_check: CheckResult, tmp_path: Path,
                                                                 cucumber_tools: Path) -> None:
    assert self_check.run_dir is not None
    features = json.loads((self_check.run_dir / "cucumber.json").read_text(encoding="utf-8"))
    (tmp_path / "json").mkdir()
    shutil.copy(self_check.run_dir / "cucumber.json", tmp_path / "json" / "cucumber.json")
    script = tmp_path / "render.js"
    script.write_text(
        "const [multi, single, dir, out] = process.argv.slice(2);\n"
        "require(multi).generate({jsonDir: dir, reportPath: out, disableLog: true});\n"
        "require(single).generate({theme: 'bootstrap', jsonFile: dir + '/cucumber.json',"
        " output: out + '/single.html', reportSuiteAsScenarios: true, launchReport: false});\n", encoding="utf-8")
    done = subprocess.run(["node", str(script), str(cucumber_tools / "multiple-cucumber-html-reporter"),
                           str(cucumber_tools / "cucumber-html-reporter"), str(tmp_path / "json"),
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    pages = list((tmp_path / "out" / "features").glob("*.html"))
    assert len(pages) == len(features), "one page per feature"
    assert features[0]["name"].split("'")[0][:20] in index
    single = (tmp_path / "out" / "single.html").read_text(encoding="utf-8")
    assert features[0]["elements"][0]["name"][:20] in single


def test_self_check_over_http(tmp_path: Path, junit_xsd: Path) -> None:
    result = run_check("openam", "dw", "--mode", "http", "--jobs", "2", report_dir=tmp_path)
    assert result.code == 0, result.stdout + result.stderr
    assert result.report["mode"] == "http" and len(result.report["scenarios"]) >= 10
    assert {s["verdict"] for s in result.report["scenarios"]} == {"pass"}
    _assert_reports_valid(result, junit_xsd)


def test_a_broken_rule_fails_its_requirement_with_evidence(tmp_path: Path, junit_xsd: Path) -> None:
    """A tds mock as the target, its legacy tisReply answering 500 (a fault rule).

    TDS-REPLY-006 (a public-API check: a non-UUID oppKey is refused with 400) fails with its evidence;
    TDS-REPLY-001 (unknown oppKey: logged, 200) prepares and reads state through examrig's admin door,
    which answers as a state hook (``state_hook`` in its health answer), and fails too: the route is broken.
    """
    fault = {"kind": "status", "status": 500, "tenant": "*", "path": "/student/TIS/API/tisReply", "body": "broken"}
    with served_mock("tds", [fault]) as url:
        result = run_check("tds", "--target", f"tds={url}", "--requirement", "TDS-REPLY-006",
                           "--requirement", "TDS-REPLY-001", "--jobs", "2", "--seed", "99", report_dir=tmp_path)
    assert result.code == 1, result.stdout + result.stderr
    verdicts = result.verdicts()
    assert verdicts["TDS-REPLY-006"] == "fail" and verdicts["TDS-REPLY-001"] == "fail", verdicts
    failing = [s for s in result.report["scenarios"] if s["verdict"] == "fail"]
    assert failing and all(s["foreign"] for s in failing)
    evidence = next(s for s in failing if "TDS-REPLY-006" in s["requirements"])
    assert evidence["failed_step"] == "Then the response status is 400", evidence
    assert evidence["seed"] == 99
    assert any(e["status"] == 500 and url in e["curl"] for e in evidence["exchanges"]), evidence["exchanges"]
    assert result.run_dir is not None
    html = (result.run_dir / "report.html").read_text(encoding="utf-8")
    assert "TDS-REPLY-006" in html and "curl" in html and "broken" in html
    assert "TDS-REPLY-006" in (result.run_dir / "summary.md").read_text(encoding="utf-8")
    _assert_reports_valid(result, junit_xsd)


# ---- the verdict mapping, on a corpus written for it (fast: no mocks involved) ----

@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mini_corpus.write(tmp_path_factory.mktemp("corpus"))


def test_every_outcome_maps_to_its_verdict(corpus: Path, tmp_path: Path, junit_xsd: Path) -> None:
    result = run_check("--features", str(corpus), "--tags",
                       "not undefined and not boom and not harness and not capability", report_dir=tmp_path)
    assert result.code == 1, result.stdout + result.stderr
    assert result.verdicts() == {"TDS-REPLY-001": "pass", "TDS-REPLY-002": "fail", "TDS-JRN-001": "non-strict",
                                 "TDS-REPLY-003": "fail", "TDS-REPLY-004": "unsupported", "TDS-ERT-001": "fail"}
    unsupported = next(s for s in result.report["scenarios"] if s["verdict"] == "unsupported")
    assert unsupported["message"] == "the target answers no state hook at /_examrig"
    failed = next(s for s in result.report["scenarios"] if s["requirements"] == ["TDS-REPLY-002"])
    assert failed["failed_step"] == "Then it does not hold"
    assert "expected 400, got 500" in failed["message"]
    listed = {r["id"]: r for r in result.report["requirements"]}
    assert listed["TDS-REPLY-010"]["verdict"] == "not-run" and not listed["TDS-REPLY-010"]["selected"]
    assert listed["TDS-REPLY-003"]["assumed"] is True and listed["TDS-REPLY-003"]["source"]
    _assert_reports_valid(result, junit_xsd)


def test_errors_are_never_pass_or_fail_and_too_many_are_infrastructure(corpus: Path, tmp_path: Path) -> None:
    result = run_check("--features", str(corpus), "--tags", "ok or boom or harness", report_dir=tmp_path)
    assert result.code == 3, result.stdout + result.stderr
    assert result.verdicts() == {"TDS-REPLY-001": "pass", "TDS-REPLY-005": "error", "TDS-REPLY-006": "error"}
    assert "2 of 3 scenarios ended in error (more than 20%)" in result.stdout
    harness = next(s for s in result.report["scenarios"] if s["requirements"] == ["TDS-REPLY-005"])
    assert "journal_overflow" in harness["message"]


def test_assumed_requirements_are_non_strict_against_a_target_unless_strict(corpus: Path, tmp_path: Path) -> None:
    with served_wsgi(html_app) as url:
        lenient = run_check("--features", str(corpus), "--target", f"tds={url}", "--tags", "assumed or ok",
                            report_dir=tmp_path / "lenient")
        strict = run_check("--features", str(corpus), "--target", f"tds={url}", "--tags", "assumed or ok",
                           "--strict-assumed", report_dir=tmp_path / "strict")
    assert lenient.code == 0, lenient.stdout + lenient.stderr
    assert lenient.verdicts()["TDS-REPLY-003"] == "non-strict"
    assert strict.code == 1, strict.stdout + strict.stderr
    assert strict.verdicts()["TDS-REPLY-003"] == "fail" and strict.report["strict_assumed"] is True


def test_ledger_expected_fail_stale_and_expired(corpus: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.yaml"
    ledger.write_text("- id: TDS-REPLY-002\n  reason: vendor ticket 4711\n"
                      "- id: TDS-REPLY-001\n  reason: fixed since\n"
                      "- id: TDS-ERT-001\n  reason: long ago\n  expires: 2001-01-01\n", encoding="utf-8")
    result = run_check("--features", str(corpus), "--tags", "ok or assertfail", "--ledger", str(ledger),
                       report_dir=tmp_path / "r1")
    assert result.code == 1, result.stdout + result.stderr
    assert result.verdicts() == {"TDS-REPLY-001": "stale", "TDS-REPLY-002": "expected-fail"}
    assert "ledger entry TDS-REPLY-001 is stale" in result.stdout
    assert "TDS-ERT-001 expired on 2001-01-01" in result.stderr
    ledger.write_text("- id: TDS-REPLY-002\n  reason: vendor ticket 4711\n  expires: 2999-01-01\n", encoding="utf-8")
    result = run_check("--features", str(corpus), "--tags", "ok or assertfail", "--ledger", str(ledger),
                       report_dir=tmp_path / "r2")
    assert result.code == 0, result.stdout + result.stderr
    reqs = {r["id"]: r for r in result.report["requirements"]}
    assert reqs["TDS-REPLY-002"]["ledger_reason"] == "vendor ticket 4711"


def test_capabilities_declared_absent_make_their_scenarios_unsupported(corpus: Path, tmp_path: Path) -> None:
    caps = tmp_path / "caps.toml"
    caps.write_text("[tds]\nidempotency_key = false\n", encoding="utf-8")
    absent = run_check("--features", str(corpus), "--tags", "capability or ok", "--capabilities", str(caps),
                       report_dir=tmp_path / "absent")
    assert absent.code == 0, absent.stdout + absent.stderr
    assert absent.verdicts() == {"TDS-REPLY-001": "pass", "TDS-IDEM-001": "unsupported"}
    assert absent.report["capabilities"] == {"tds.idempotency_key": False}
    unsupported = next(s for s in absent.report["scenarios"] if s["verdict"] == "unsupported")
    assert unsupported["message"] == "capability tds.idempotency_key not declared"
    caps.write_text("tds.idempotency_key = true\n", encoding="utf-8")
    present = run_check("--features", str(corpus), "--tags", "capability", "--capabilities", str(caps),
                        report_dir=tmp_path / "present")
    assert present.code == 0 and present.verdicts() == {"TDS-IDEM-001": "pass"}, present.stdout + present.stderr


def test_an_undefined_step_fails_the_run_with_exit_3(corpus: Path, tmp_path: Path) -> None:
    result = run_check("--features", str(corpus), "--tags", "undefined or ok", report_dir=tmp_path)
    assert result.code == 3, result.stdout + result.stderr
    assert "undefined step" in result.stdout and "a step that has no definition" in result.stdout
    scen = next(s for s in result.report["scenarios"] if s["undefined_step"])
    assert scen["verdict"] == "error"
    assert [st["status"] for st in scen["steps"]] == ["passed", "undefined"]


def test_zero_scenarios_selected_is_exit_3(corpus: Path, tmp_path: Path) -> None:
    result = run_check("--features", str(corpus), "--tags", "no_scenario_has_this_tag", report_dir=tmp_path)
    assert result.code == 3, result.stdout + result.stderr
    assert "zero scenarios were selected" in result.stdout
    assert result.report["scenarios"] == []


# ---- usage and infrastructure problems: one line, no traceback ----

@pytest.mark.parametrize(("args", "message"), [
    (["nosuchservice"], "unknown service 'nosuchservice'"),
    (["--target", "tds=ftp://x"], "must look like SERVICE=http://host:port"),
    (["--target", "nosuch=http://127.0.0.1:1"], "unknown service 'nosuch'"),
    (["--requirement", "NOPE-001"], "NOPE-001: not in the requirement catalogue"),
    (["--formats", "json,pdf"], "unknown format 'pdf'"),
    (["--ledger", "LEDGER"], "is not a requirement of the catalogue"),
    (["--capabilities", "CAPS"], "must be true or false"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "ledger.yaml").write_text("- id: NOT-A-REQ-001\n  reason: r\n", encoding="utf-8")
    (tmp_path / "caps.toml").write_text("[tds]\nidempotency_key = 'yes'\n", encoding="utf-8")
    args = [str(tmp_path / "ledger.yaml") if a == "LEDGER" else str(tmp_path / "caps.toml") if a == "CAPS" else a
            for a in args]
    result = run_check(*args, report_dir=tmp_path / "reports")
    assert result.code == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_target_and_unwritable_report_dir_are_exit_3(tmp_path: Path) -> None:
    result = run_check("tds", "--target", f"tds=http://127.0.0.1:{closed_port()}", report_dir=tmp_path / "r")
    assert result.code == 3, result.stdout + result.stderr
    assert "is unreachable" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "file").write_text("x", encoding="utf-8")
    result = run_check("tds", report_dir=tmp_path / "file" / "reports")
    assert result.code == 3 and "is not writable" in result.stderr, result.stderr


# ---- targets that misbehave: error/fail verdicts with evidence, never a hang or a traceback ----
# (requirements whose scenarios need only the public API: a target like these has no state hook, so the
# scenarios that need one are unsupported)

def _judged_with_evidence(result: CheckResult) -> None:
    assert result.code in (1, 3), result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    scenarios = result.report["scenarios"]
    assert scenarios and {s["verdict"] for s in scenarios} <= {"fail", "error", "unsupported"}, scenarios
    for s in scenarios:
        if s["verdict"] in ("fail", "error"):
            assert s["message"] and s["exchanges"], s
            assert all(e["curl"].startswith("curl ") for e in s["exchanges"])


@pytest.mark.parametrize("kind", ["html", "404"])
def test_a_target_answering_html_or_404_fails_with_evidence(tmp_path: Path, kind: str) -> None:
    app = html_app if kind == "html" else not_found_app
    with served_wsgi(app) as url:
        result = run_check("tds", "--target", f"tds={url}", "--requirement", "TDS-REPLY-006",
                           "--requirement", "TDS-REPLY-009", report_dir=tmp_path)
    _judged_with_evidence(result)


def test_a_target_resetting_connections_is_an_error(tmp_path: Path) -> None:
    with resetting_server() as url:
        result = run_check("tds", "--target", f"tds={url}", "--requirement", "TDS-REPLY-006", report_dir=tmp_path)
    _judged_with_evidence(result)
    assert {s["verdict"] for s in result.report["scenarios"]} == {"error"}
    assert result.code == 3


def test_a_hanging_target_times_out_per_request(tmp_path: Path) -> None:
    release = threading.Event()
    try:
        with served_wsgi(hanging_app(release)) as url:
            result = run_check("tds", "--target", f"tds={url}", "--requirement", "TDS-REPLY-006",
                               "--timeout", "1", report_dir=tmp_path, timeout=300)
    finally:
        release.set()
    _judged_with_evidence(result)
    assert all("did not answer in time" in s["message"] for s in result.report["scenarios"])


# ---- Ctrl-C ----

def test_sigint_writes_partial_reports_marked_incomplete(tmp_path: Path) -> None:
    proc = subprocess.Popen(check_command("tds", "thss", report_dir=tmp_path), cwd=ROOT, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        def one_scenario_done() -> bool:
            run_dir = run_dir_in(tmp_path)
            lines = run_dir / "scenarios.jsonl" if run_dir else None
            return bool(lines and lines.is_file() and '"type": "scenario"' in lines.read_text(encoding="utf-8"))

        assert wait_for(one_scenario_done, 300), "no scenario finished"
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stdout + stderr
    assert "INCOMPLETE" in stdout and "Traceback" not in stderr
    result = CheckResult(proc.returncode, stdout, stderr, run_dir_in(tmp_path))
    report = result.report
    assert report["incomplete"] is True and report["exit_code"] == 130
    assert 1 <= len(report["scenarios"]) < 60
    for name in REPORTS:
        assert (result.run_dir / name).is_file() if result.run_dir else False, name
    assert "INCOMPLETE" in (result.run_dir / "report.html").read_text(encoding="utf-8") if result.run_dir else False



def test_two_runs_at_once_against_one_target_do_not_meet(tmp_path: Path) -> None:
    """Each scenario has a tenant of its own and each run a report directory of its own."""
    with served_mock("tds") as url:
        args = ["tds", "--target", f"tds={url}", "--requirement", "TDS-REPLY-006", "--requirement", "TDS-REPLY-009"]
        procs = [subprocess.Popen(check_command(*args, report_dir=tmp_path), cwd=ROOT, env=env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL) for _ in range(2)]
        outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    dirs = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(dirs) == 2
    for run_dir in dirs:
        report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
        assert {s["verdict"] for s in report["scenarios"]} == {"pass"}, report["problems"]


# ---- the independent tds receiver of the corpus tests (written from the reference alone) ----

def test_a_faithful_independent_tds_gets_no_false_fail(tmp_path: Path) -> None:
    from tests.conformance.independent.tds_receiver import TdsReceiver, serving

    with serving(TdsReceiver()) as url:
        result = run_check("tds", "--target", f"tds={url}", report_dir=tmp_path)
    assert result.code == 0, result.stdout + result.stderr
    verdicts = result.verdicts()
    assert "fail" not in verdicts.values() and "error" not in verdicts.values(), verdicts
    reqs = {r["id"]: r for r in result.report["requirements"] if r["selected"]}
    for rid, verdict in verdicts.items():
        if verdict == "non-strict":
            assert reqs[rid]["assumed"] or reqs[rid]["level"] != "MUST", rid
    passed = [rid for rid, v in verdicts.items() if v == "pass"]
    assert len(passed) >= 10, (verdicts, result.stdout)
    examrig_only = [s for s in result.report["scenarios"] if "examrig" in s["tags"]]
    assert examrig_only and {s["verdict"] for s in examrig_only} == {"unsupported"}


def test_a_seeded_deviation_of_the_independent_tds_fails_exactly_its_requirement(tmp_path: Path) -> None:
    from tests.conformance.independent.tds_receiver import DEVIATIONS, TdsReceiver, serving

    requirement = DEVIATIONS["ert-no-report"][0]
    with serving(TdsReceiver(["ert-no-report"])) as url:
        result = run_check("tds", "--target", f"tds={url}", report_dir=tmp_path)
    assert result.code == 1, result.stdout + result.stderr
    failed = {rid for rid, v in result.verdicts().items() if v == "fail"}
    assert failed == {requirement}, result.verdicts()
