"""The published proctoru-xblock 1.0.0 API client under ``examrig check --client proctoru``, as an integrator runs it.

The package is installed at test time exactly as tests/proctoru/test_xblock_interop.py does (its fixture is
reused); ``examrig check --client proctoru --tls -- python tests/client/xblock_driver.py DIR`` then serves the
mock over HTTPS (the client builds https:// URLs), runs the driver (the learner flow) in its own process and
judges the window. The verdicts asserted are what the xBlock really does, including the known bug of beginning a
rescheduled reservation with a fresh reservation_id (PUC-RES-002). docs/client-conformance.md shows the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.proctoru.test_xblock_interop import xblock_dir  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ("PUC-RES-002", "PUC-BEGIN-001")
EXPECTED = {
    "PUC-AUTH-001": "pass", "PUC-TIME-001": "pass", "PUC-TIME-002": "pass", "PUC-FORM-001": "pass",
    "PUC-RES-001": "pass", "PUC-ERR-001": "pass",
    # the known bug: after a reschedule the xBlock begins with a fresh random reservation_id
    "PUC-RES-002": "fail",
    # it begins before the window opens and handles the refusal ("Please wait"): a SHOULD, non-strict
    "PUC-BEGIN-001": "non-strict",
}


def test_the_xblock_learner_flow_under_examrig_check_client(xblock_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    for module in ("django.conf", "dateutil", "pytz"):
        pytest.importorskip(module)
    done = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "check", "--client", "proctoru", "--tls", "--report-dir",
         str(tmp_path), "--formats", "json,md", "--", sys.executable, str(ROOT / "tests/client/xblock_driver.py"),
         str(xblock_dir)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=600,
        check=False)
    out = done.stdout + done.stderr
    report_dir = next(tmp_path.glob("*/report.json")).parent
    run = json.loads((report_dir / "report.json").read_text("utf-8"))
    assert {r["id"]: r["verdict"] for r in run["requirements"]} == EXPECTED, out
    assert done.returncode == 1, out  # a MUST fails: not conformant
    assert "proctoru listening on https://127.0.0.1:" in done.stdout, out
    bug = next(s for s in run["scenarios"] if s["requirements"] == ["PUC-RES-002"])
    # the evidence: the reschedule that kept the id, then the begin with the fresh one, each with a curl line
    exchanges = bug["exchanges"]
    assert [x["url"].rsplit("/", 1)[-1] for x in exchanges] == ["addAdHocProcess", "beginReservation"]
    assert "d" * 40 in exchanges[1]["request_body"] and exchanges[1]["curl"].startswith("curl ")
    assert "PUC-RES-002" in (report_dir / "summary.md").read_text("utf-8")
