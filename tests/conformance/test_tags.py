"""A scenario tag naming a requirement the catalogue does not have fails the run at collection."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FEATURE = """Feature: a scratch feature
  @req_{rid}
  Scenario: something
    Given nothing at all
"""

BINDER = """from pytest_bdd import given, scenarios

scenarios("scratch.feature")


@given("nothing at all")
def nothing() -> None:
    pass
"""


def _run(tmp_path: Path, rid: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text("from features.conftest import *  # noqa: F403\n")
    (tmp_path / "scratch.feature").write_text(FEATURE.format(rid=rid))
    (tmp_path / "test_scratch.py").write_text(BINDER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           "-c", os.devnull, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)


def test_unknown_requirement_tag_fails_collection(tmp_path: Path) -> None:
    result = _run(tmp_path, "NOPE-999")
    assert result.returncode != 0
    assert "NOPE-999 is not in conformance/requirements.yaml" in result.stdout + result.stderr


def test_known_requirement_tag_collects_and_runs(tmp_path: Path) -> None:
    result = _run(tmp_path, "TDS-REPLY-001")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
