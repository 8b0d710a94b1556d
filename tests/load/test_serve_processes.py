"""``examrig load --serve-processes N``: the mocks examrig serves get N server processes each, and their CPU counts
every process (``_cpu_seconds`` walks the live descendants, which ``/proc/<pid>/stat`` alone leaves out)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import load
from conformance.cli import main
from tests.load.conftest import ROOT, examrig, summary_path

#: a parent that starts a child which burns CPU until told to stop (a line on its stdin)
BURNER = r"""
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c",
    "import sys, threading, time\n"
    "stop = threading.Event()\n"
    "threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()\n"
    "print('burning', flush=True)\n"
    "while not stop.is_set():\n"
    "    sum(range(10000))\n"], stdin=sys.stdin, stdout=sys.stdout)
child.wait()
"""


def test_the_mocks_cpu_counts_live_children_not_only_the_parent() -> None:
    parent = subprocess.Popen([sys.executable, "-c", BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert parent.stdout is not None and parent.stdin is not None
        assert parent.stdout.readline().strip() == "burning"
        start = load._cpu_seconds(parent.pid)
        assert start is not None
        deadline = time.monotonic() + 30
        while (load._cpu_seconds(parent.pid) or 0) - start < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        tree = load._cpu_seconds(parent.pid) or 0.0
        own = sum(int(x) for x in Path(f"/proc/{parent.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:15])
        own_s = own / os.sysconf("SC_CLK_TCK")
        # the parent only waits: what the tree shows beyond its own figures is the live child's burning
        assert tree - own_s >= 0.3, (tree, own_s)
        assert load._live_children(parent.pid), "the burning child is a live descendant"
    finally:
        if parent.stdin is not None:
            parent.stdin.write("stop\n")
            parent.stdin.flush()
        parent.wait(timeout=30)


def test_the_ceiling_of_the_mocks_is_their_process_count_at_most_the_cores() -> None:
    cores = os.cpu_count() or 1
    # one process at 0.95 of a core: at its ceiling
    assert load._cpu_view(1.0, 9.5, 10.0, None, 0.5)["limit"] == "mocks"
    if cores >= 2:
        # the same 0.95 cores from processes that could use two: not the mocks' limit
        assert load._cpu_view(1.0, 9.5, 10.0, None, 0.5, mock_processes=4)["limit"] != "mocks"
        assert load._cpu_view(1.0, 0.95 * cores * 10, 10.0, None, 0.5, mock_processes=4)["limit"] == "mocks"


@pytest.mark.parametrize(("args", "needle"), [
    (["load", "smoke", "--serve-processes", "0"], "--serve-processes must be at least 1"),
    (["load", "smoke", "--worker", "--serve-processes", "2"], "--serve-processes goes with the master"),
    (["load", "scheduling", "--target", "proctoru=http://127.0.0.1:1", "--serve-processes", "2"],
     "examrig serves no mock"),
])
def test_bad_serve_processes_is_one_line_and_exit_2(args: list[str], needle: str,
                                                    capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main([*args, "--report-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_a_run_against_mocks_served_with_two_processes_each(tmp_path: Path) -> None:
    result = examrig("load", "scheduling", "--shape", "none", "--users", "4", "--duration", "4s",
                     "--serve-processes", "2", "--threshold", "fail_ratio<0.01",
                     "--report-dir", str(tmp_path / "reports"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(summary_path(result.stdout).read_text())
    import jsonschema
    schema = json.loads((ROOT / "contracts" / "schemas" / "load-summary.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(summary)
    assert summary["options"]["serve_processes"] == 2 and summary["verdict"] == "met"
    total = summary["requests"][-1]
    assert total["name"] == "Aggregated" and total["requests"] > 0 and total["failures"] == 0
    # the mock's own view sums both of its processes (shared metrics): it saw at least what locust sent it
    view = next(v for k, v in summary["mocks"].items() if k.startswith("proctoru "))
    seen = sum(sum(route.values()) for route in view["requests"].values())
    sent = sum(r["requests"] for r in summary["requests"][:-1] if r["method"] not in ("ACK", "CHECK"))
    assert seen >= sent, (seen, sent)
    assert summary["cpu"]["mock_cpu_s"] > 0
    # really served so: the serving parent and proctoru's two server processes
    assert summary["cpu"]["mock_processes"] == 3, summary["cpu"]
