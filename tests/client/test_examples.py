"""The reference clients in examples/ under ``examrig check --client``: conformant, and each --break fails its rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# each variant breaks one rule: the requirement that fails, or is non-strict for a SHOULD
DELIVERYODATA = {
    "reuse-lobby": ("fail", "DOC-URL-002"),
    "integer-id": ("non-strict", "DOC-ATT-003"),
    "retry-new-id": ("fail", "DOC-RETRY-001"),
    "patch-assessment": ("fail", "DOC-PATCH-001"),
    "no-l-suffix": ("fail", "DOC-FILTER-001"),
    "unlocked": ("fail", "DOC-ATT-004"),
    "no-credentials": ("fail", "DOC-AUTH-001"),
}


def check(tmp_path: Path, service: str, script: str, *extra: str) -> tuple[int, dict[str, str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "conformance.cli", "check", "--client", service, "--report-dir",
                           str(tmp_path), "--formats", "json,md", "--", sys.executable, str(ROOT / "examples" / script),
                           *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    reports = sorted(tmp_path.glob("*/report.json"))
    assert reports, done.stdout + done.stderr
    run = json.loads(reports[-1].read_text("utf-8"))
    return done.returncode, {r["id"]: r["verdict"] for r in run["requirements"]}, done.stdout + done.stderr


def test_the_deliveryodata_portal_is_conformant(tmp_path: Path) -> None:
    code, verdicts, out = check(tmp_path, "deliveryodata", "deliveryodata_portal.py")
    assert code == 0, out
    assert {k for k, v in verdicts.items() if v != "pass"} == {"DOC-RETRY-002", "DOC-PAGE-001"}, verdicts
    assert verdicts["DOC-RETRY-002"] == verdicts["DOC-PAGE-001"] == "not-exercised"


@pytest.mark.parametrize("broken", sorted(DELIVERYODATA))
def test_each_broken_portal_breaks_exactly_its_rule(tmp_path: Path, broken: str) -> None:
    verdict, rid = DELIVERYODATA[broken]
    code, verdicts, out = check(tmp_path, "deliveryodata", "deliveryodata_portal.py", "--break", broken)
    assert {k: v for k, v in verdicts.items() if v in ("fail", "non-strict", "error")} == {rid: verdict}, out
    assert code == (1 if verdict == "fail" else 0), out


PROCTORU = {
    "stale-time": ("fail", "PUC-TIME-002"),
    "no-token": ("fail", "PUC-AUTH-001"),
    "json-body": ("fail", "PUC-FORM-001"),
    "fresh-id": ("fail", "PUC-RES-002"),
    "blind-retry": ("fail", "PUC-ERR-001"),
    "early-begin": ("non-strict", "PUC-BEGIN-001"),
}


def test_the_proctoru_lms_is_conformant(tmp_path: Path) -> None:
    code, verdicts, out = check(tmp_path, "proctoru", "proctoru_lms.py")
    assert code == 0, out
    assert {k for k, v in verdicts.items() if v != "pass"} == {"PUC-ERR-001"}, verdicts
    assert verdicts["PUC-ERR-001"] == "not-exercised"


@pytest.mark.parametrize("broken", sorted(PROCTORU))
def test_each_broken_lms_breaks_exactly_its_rule(tmp_path: Path, broken: str) -> None:
    verdict, rid = PROCTORU[broken]
    code, verdicts, out = check(tmp_path, "proctoru", "proctoru_lms.py", "--break", broken)
    assert {k: v for k, v in verdicts.items() if v in ("fail", "non-strict", "error")} == {rid: verdict}, out
    assert code == (1 if verdict == "fail" else 0), out
