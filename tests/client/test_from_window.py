"""``examrig check --client proctoru --from URL --since N``: an earlier window of a running mock's journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from mocks.core.app import Runtime
from mocks.core.server import bind, start, stop
from mocks.core.settings import Settings
from mocks.proctoru.models import DEFAULT_TOKEN
from mocks.proctoru.service import Service

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ("PUC-TIME-002",)


@pytest.fixture
def url() -> Iterator[str]:
    served = bind("proctoru", Service(Runtime.create(Settings(seed=2), db="sqlite://")), "127.0.0.1", 0)
    start(served)
    try:
        yield served.url
    finally:
        stop(served)


def _call(url: str, minutes_ago: int) -> None:
    sent = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(tzinfo=None).isoformat()
    requests.post(f"{url}/api/getTimeZoneList", data={"time_sent": sent},
                  headers={"Authorization-Token": DEFAULT_TOKEN}, timeout=30)


def _check(url: str, since: int, out: Path) -> tuple[int, dict[str, str]]:
    done = subprocess.run([sys.executable, "-m", "conformance.cli", "check", "--client", "proctoru", "--from", url,
                           "--since", str(since), "--report-dir", str(out), "--formats", "json"], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300,
                          check=False)
    report = json.loads(next(out.glob("*/report.json")).read_text("utf-8"))
    return done.returncode, {r["id"]: r["verdict"] for r in report["requirements"]}


def test_the_window_from_since_is_judged_and_the_earlier_stale_call_is_not(url: str, tmp_path: Path) -> None:
    _call(url, minutes_ago=10)  # stale: before the window
    since = requests.get(f"{url}/_examrig/journal?tenant=*", timeout=30).json()["next_seq"]
    _call(url, minutes_ago=0)
    code, window = _check(url, since, tmp_path / "window")
    assert code == 0 and window["PUC-TIME-002"] == "pass", window
    code, everything = _check(url, 1, tmp_path / "all")
    assert code == 1 and everything["PUC-TIME-002"] == "fail", everything
