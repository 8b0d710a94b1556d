"""``examrig load``: short headless locust runs against examrig's mocks on loopback, and its bad input.

Every run is a few seconds; what is checked is what a performance tester relies on: the reports
(locust's CSV with full history, its HTML, examrig's JSON summary against its schema), the exit code
from the thresholds, wrong answers counted as failures, a distributed run's totals, Ctrl-C.
"""

from __future__ import annotations

import csv
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from conformance.cli import main
from conformance.load import RunStats, UsageError, evaluate, parse_threshold, threshold_table
from tests.load.conftest import ROOT, Mocks, env, examrig, summary_path

pytestmark = pytest.mark.slow
SCHEMA = json.loads((ROOT / "contracts" / "schemas" / "load-summary.schema.json").read_text())
SHORT = ["--shape", "none", "--duration", "4s"]


def _valid(summary: dict[str, Any]) -> None:
    import jsonschema
    jsonschema.Draft202012Validator(SCHEMA).validate(summary)


def _csv(path: str) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _total(summary: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = summary["requests"][-1]
    assert row["name"] == "Aggregated"
    return row


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- runs against the mocks -----------------------------------------------------------------------------

def test_smoke_serves_examrigs_own_mocks_writes_every_report_and_meets_its_thresholds(tmp_path: Path) -> None:
    result = examrig("load", "smoke", "--duration", "8s", "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "fail_ratio<0.01" in result.stdout and " met" in result.stdout  # the threshold table
    summary = json.loads(summary_path(result.stdout).read_text())
    _valid(summary)
    assert summary["verdict"] == "met" and summary["complete"] and summary["exit_code"] == 0
    assert set(summary["served_by_examrig"]) == {"deliveryodata", "proctoru", "tis", "thss", "tds", "dw", "openam"}
    total = _total(summary)
    assert total["requests"] > 20 and total["failures"] == 0
    names = {f"{r['method']} {r['name']}" for r in summary["requests"]}
    assert {"POST Attempts", "GET lobby SystemCheck", "POST addAdHocProcess", "POST testresult",
            "POST exams/imports", "POST proctor Unlock"} <= names, names
    reports = summary["reports"]
    stats = {f"{r['Type']} {r['Name']}": r for r in _csv(reports["csv_stats"])}
    # locust's own CSV and examrig's summary are the same statistics
    assert int(stats[" Aggregated"]["Request Count"]) == total["requests"]
    assert int(stats["POST Attempts"]["Request Count"]) == next(
        r["requests"] for r in summary["requests"] if (r["method"], r["name"]) == ("POST", "Attempts"))
    history = _csv(reports["csv_history"])
    assert len({row["Timestamp"] for row in history}) > 2 and {row["Name"] for row in history} > {"Aggregated"}
    html = Path(reports["html"]).read_text()
    assert "locust" in html.lower() and "lobby SystemCheck" in html
    # the mocks' own view: deliveryodata saw the attempts the portal created
    dod = next(v for k, v in summary["mocks"].items() if k.startswith("deliveryodata "))
    assert sum(dod["requests"]["collection"].values()) >= next(
        r["requests"] for r in summary["requests"] if r["name"] == "Attempts")
    assert dod["latency"]["collection"]["count"] > 0 and dod["journal"]["dropped_during_run"] == 0
    assert summary["cpu"]["generator_cpu_s"] > 0 and summary["cpu"]["mock_cpu_s"] > 0
    assert summary["cpu"]["mock_processes"] == 1 and summary["options"]["serve_processes"] == 1  # one serves all


def test_a_fifth_of_one_route_answering_500_and_a_malformed_body_fail_the_run(mocks: Mocks, tmp_path: Path) -> None:
    tenant = "faults"
    rules = [{"kind": "status", "status": 500, "probability": 0.2, "route": "entity", "method": "GET"},
             {"kind": "malformed", "route": "lobbyEnter"}]
    r = requests.post(f"{mocks.urls['deliveryodata']}/_examrig/faults", json=rules,
                      headers={"X-Examrig-Tenant": tenant}, timeout=30)
    assert r.status_code == 201, r.text
    before = requests.get(f"{mocks.urls['deliveryodata']}/_examrig/metrics", timeout=30).text
    # ~40 GETs of Attempts(n) in 6 s at 8 users: none of them failing at 20 % would be a 1-in-7000 event
    result = examrig("load", "exam-window", *mocks.targets("deliveryodata"), "--shape", "none", "--duration", "6s",
                     "--users", "8", "--spawn-rate", "8", "--threshold", "fail_ratio<0.01", "--tenant", tenant,
                     "--report-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "MISSED" in result.stdout
    summary = json.loads(summary_path(result.stdout).read_text())
    _valid(summary)
    assert summary["verdict"] == "missed" and summary["thresholds"][0]["met"] is False
    errors = summary["errors"]
    server_errors = sum(e["occurrences"] for e in errors
                        if e["name"] == "Attempts(n)" and "status 500, expected 200" in e["error"])
    entity = next(r for r in summary["requests"] if r["name"] == "Attempts(n)")
    assert 0 < server_errors < entity["requests"], (server_errors, entity)
    # the mock answered as many 500s on that route as locust counted (a user stopped mid-request: one more)
    answered = summary["mocks"][f"deliveryodata {mocks.urls['deliveryodata']}"]["requests"]["entity"]["500"]
    assert server_errors <= answered <= server_errors + 8, (answered, server_errors, before)
    # malformed: the status was right, the body was not: the check, not the status, failed it
    lobby = [e for e in errors if e["name"] == "lobby SystemCheck"]
    assert lobby and all("lobby without the attempt's state" in e["error"] for e in lobby), lobby
    lobby_row = next(r for r in summary["requests"] if r["name"] == "lobby SystemCheck")
    assert lobby_row["failures"] == lobby_row["requests"] > 0
    failures = _csv(summary["reports"]["csv_failures"])
    assert any(row["Name"] == "lobby SystemCheck" for row in failures)


def test_one_master_and_two_workers_complete_a_run_and_agree_on_the_totals(mocks: Mocks, tmp_path: Path) -> None:
    port = _free_port()
    url = mocks.urls["deliveryodata"]
    before = requests.get(f"{url}/_examrig/metrics", timeout=30).text
    master = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "load", "proctoring", "--master", "--expect-workers", "2",
         # a shape runs on the master only: ramp drives the workers' user counts
         "--master-port", str(port), *mocks.targets("deliveryodata"), "--shape", "ramp", "--duration", "5s",
         "--users", "4", "--spawn-rate", "4",
         "--threshold", "fail_ratio<0.01", "--tenant", "distributed", "--report-dir", str(tmp_path)],
        cwd=tmp_path, env=env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workers = [subprocess.Popen([sys.executable, "-m", "conformance.cli", "load", "proctoring", "--worker",
                                 "--master-host", "127.0.0.1", "--master-port", str(port)],
                                cwd=tmp_path, env=env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(2)]
    out, err = master.communicate(timeout=240)
    worker_output = [w.communicate(timeout=120) for w in workers]
    assert master.returncode == 0, out[-3000:] + err[-3000:]
    assert [w.returncode for w in workers] == [0, 0], worker_output
    summary = json.loads(summary_path(out).read_text())
    _valid(summary)
    assert summary["options"]["workers"] == 2 and summary["options"]["master"] is True
    assert summary["shape"] == "ramp" and summary["options"]["peak_users"] == 4
    users = {int(r["User Count"]) for r in _csv(summary["reports"]["csv_history"])}
    assert max(users) == 4 and min(users - {0}) < 4, users  # ramped up to the peak, not spawned at once
    total = _total(summary)
    entries = summary["requests"][:-1]
    assert total["requests"] == sum(r["requests"] for r in entries) > 0
    assert total["failures"] == sum(r["failures"] for r in entries) == 0
    # the mock counted what the two workers sent (a user stopped mid-request adds at most one each)
    seen = summary["mocks"][f"deliveryodata {url}"]["requests"]
    served = sum(n for route, statuses in seen.items() if not route.startswith("admin:") for n in statuses.values())
    assert total["requests"] <= served <= total["requests"] + 4, (total, seen, before)
    # the requests came from both workers: their external ids carry the worker index
    journal = requests.get(f"{url}/_examrig/journal", params={"tenant": "distributed", "method": "POST",
                                                              "limit": 1000}, timeout=30).json()
    bodies = " ".join(str(e.get("request", e)) for e in journal.get("entries", []))
    assert "-w0-" in bodies and "-w1-" in bodies, bodies[:2000]


def test_ctrl_c_stops_the_run_and_still_writes_its_reports_marked_incomplete(mocks: Mocks, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "load", "proctoring", *mocks.targets("deliveryodata"), "--shape",
         "none", "--duration", "300s", "--users", "2", "--spawn-rate", "2", "--threshold", "fail_ratio<0.01",
         "--tenant", "interrupted", "--report-dir", str(tmp_path)],
        cwd=tmp_path, env=env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    spawned = threading.Event()
    err_lines: list[str] = []

    def read() -> None:
        for line in process.stderr or []:
            err_lines.append(line)
            if "All users spawned" in line:
                spawned.set()
    threading.Thread(target=read, daemon=True).start()
    assert spawned.wait(timeout=120), "".join(err_lines)[-3000:]
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 1, out[-2000:] + "".join(err_lines)[-2000:]
    assert "INCOMPLETE" in out
    summary = json.loads(summary_path(out).read_text())
    _valid(summary)
    assert summary["complete"] is False and summary["verdict"] == "incomplete"
    assert _total(summary)["requests"] > 0
    assert Path(summary["reports"]["html"]).is_file() and Path(summary["reports"]["csv_stats"]).is_file()


def test_every_actor_flow_runs_once_against_the_mocks(mocks: Mocks, tmp_path: Path) -> None:
    child = env()
    for name, url in mocks.urls.items():
        child[f"EXAMRIG_TARGET_{name.upper()}"] = url
    child["EXAMRIG_LOAD_TENANT"] = "functional"
    result = subprocess.run([sys.executable, str(ROOT / "loadtests" / "functional.py")], cwd=tmp_path, env=child,
                            text=True, capture_output=True, timeout=240, check=False)
    flows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    by_flow = {f["flow"]: f for f in flows}
    assert set(by_flow) == {"candidate portal", "proctor", "attempt-list supervisor", "LMS on proctoru",
                            "warehouse importer", "TDS machine-scored", "TDS hand-scored with the hand scorer"}
    assert all(f["requests"] > 0 and not f["failures"] for f in flows), flows
    assert "ACK TRT machine" in by_flow["TDS machine-scored"]["names"]
    assert {"ACK TRT hand-scored", "POST thss score"} <= set(by_flow["TDS hand-scored with the hand scorer"]["names"])
    assert "POST proctor Terminate" in by_flow["proctor"]["names"]
    assert "POST clientActivityReport" in by_flow["LMS on proctoru"]["names"]


# -- bad input: one line, exit 2; unreachable: exit 3 before any user ---------------------------------------

@pytest.mark.parametrize(("args", "needle"), [
    (["load", "no-such-profile"], "unknown profile 'no-such-profile'"),
    (["load", "smoke", "--shape", "zigzag"], "unknown shape 'zigzag'"),
    (["load", "smoke", "--threshold", "p95<fast"], "malformed threshold 'p95<fast'"),
    (["load", "smoke", "--threshold", "fail_ratio<5ms"], "malformed threshold"),
    (["load", "smoke", "--target", "nosuch=http://127.0.0.1:1"], "--target 'nosuch=http://127.0.0.1:1'"),
    (["load", "smoke", "--duration", "soon"], "--duration 'soon'"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str, capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    code = main([*args, "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def test_an_unreachable_target_exits_3_before_any_user_starts(capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    port = _free_port()  # nothing listens there any more
    code = main(["load", "proctoring", "--target", f"deliveryodata=http://127.0.0.1:{port}", "--report-dir",
                 str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 3
    assert "unreachable" in err and f"127.0.0.1:{port}" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()  # locust never started


# -- thresholds on locust's statistics --------------------------------------------------------------------

def test_thresholds_parse_units_and_selectors() -> None:
    t = parse_threshold("p99:POST Attempts<400ms")
    assert (t.metric, t.selector, t.op, t.limit) == ("p99", "POST Attempts", "<", 400)
    assert parse_threshold("p95<0.25s").limit == 250
    assert parse_threshold("fail_ratio<1%").limit == pytest.approx(0.01)
    assert parse_threshold("rps>=200").op == ">="
    for bad in ("p95", "p100<1ms", "rps>200ms", "latency<3", "p95<<3ms"):
        with pytest.raises(UsageError):
            parse_threshold(bad)


def _entry(name: str, method: str, times: dict[int, int], failures: int) -> dict[str, Any]:
    count = sum(times.values())
    return {"name": name, "method": method, "last_request_timestamp": 110.0, "start_time": 100.0,
            "num_requests": count, "num_none_requests": 0, "num_failures": failures,
            "total_response_time": sum(k * v for k, v in times.items()), "max_response_time": max(times),
            "min_response_time": min(times), "total_content_length": 0,
            "response_times": {str(k): v for k, v in times.items()}, "num_reqs_per_sec": {}, "num_fail_per_sec": {}}


def test_thresholds_are_decided_on_locusts_own_percentiles_and_ratios() -> None:
    run = RunStats({"entries": [_entry("Attempts", "POST", {10: 90, 300: 10}, 0),
                                _entry("Attempts(n)", "GET", {5: 100}, 2)], "errors": {}})
    results = evaluate([parse_threshold(x) for x in
                        ("p95:POST Attempts<250ms", "p80:POST Attempts<250ms", "p99:Attempts(n)<6ms",
                         "fail_ratio<=0.01", "rps>15", "requests>=200")], run)
    assert [r["met"] for r in results] == [False, True, True, True, True, True]
    assert results[0]["actual"] == 300 and results[3]["actual"] == pytest.approx(0.01)
    assert results[4]["actual"] == pytest.approx(20.0)  # 200 requests over the 10 s between first and last
    table = threshold_table(results)
    assert "MISSED" in table and table.count("\n") == len(results) + 1
    with pytest.raises(UsageError, match="did not request"):
        evaluate([parse_threshold("p95:GET nothing<1ms")], run)
