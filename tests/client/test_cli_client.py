"""``examrig check --client`` on the command line: usage errors, the window without COMMAND, a crashing client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance.cli", "check", *args], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    unknown = _run("--client", "nosuch", "--report-dir", str(tmp_path))
    assert unknown.returncode == 2 and "no client rules" in unknown.stderr
    both = _run("--client", "proctoru", "--from", "http://127.0.0.1:9", "--report-dir", str(tmp_path), "--", "true")
    assert both.returncode == 2 and "does not run a COMMAND" in both.stderr
    assert not list(tmp_path.iterdir())


def test_without_a_command_the_window_ends_after_duration_and_nothing_is_exercised(tmp_path: Path) -> None:
    done = _run("--client", "proctoru", "--duration", "1", "--report-dir", str(tmp_path), "--formats", "json")
    assert "proctoru listening on http://127.0.0.1:" in done.stdout, done.stdout + done.stderr
    report = json.loads(next(tmp_path.glob("*/report.json")).read_text("utf-8"))
    assert {r["verdict"] for r in report["requirements"]} == {"not-exercised"}
    assert done.returncode == 3 and any("nothing to judge" in p for p in report["problems"])


def test_a_client_that_crashes_cannot_be_conformant(tmp_path: Path) -> None:
    done = _run("--client", "deliveryodata", "--report-dir", str(tmp_path), "--formats", "json", "--",
                sys.executable, "-c", "import os, sys; print(os.environ['EXAMRIG_URL_DELIVERYODATA']); sys.exit(4)")
    assert done.returncode == 3, done.stdout + done.stderr
    report = json.loads(next(tmp_path.glob("*/report.json")).read_text("utf-8"))
    assert any("exited 4" in p for p in report["problems"])
    assert "http://127.0.0.1:" in done.stdout
