"""Two scenario runs at once against one served tds, same opportunity keys, different tenants."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mocks.core.app import Runtime
from mocks.core.server import bind, start, stop
from mocks.core.settings import Settings
from mocks.tds.service import Service
from tests.subpytest import pytest_env

ROOT = Path(__file__).resolve().parents[2]


def test_two_concurrent_runs_of_the_tds_scenarios_never_meet(tmp_path: Path) -> None:
    """The tds features use fixed oppKeys; run twice at once against one server, they only pass if
    every scenario's tenant keeps its rows, audit trail and journal to itself."""
    runtime = Runtime.create(Settings(seed=9), db=f"sqlite:///{tmp_path / 'shared.db'}")
    served = bind("tds", Service(runtime), "127.0.0.1", 0)
    start(served)
    try:
        env = pytest_env()
        cmd = [sys.executable, "-m", "pytest", "features/tds", "-q", "-p", "no:cacheprovider",
               "--examrig-target", f"tds={served.url}",
               # the target is examrig's own tds: it has examrig's conventions and extensions too, so every
               # scenario runs (a third-party target leaves those out as unsupported)
               "--examrig-capability", "examrig.conventions", "--examrig-capability", "tds.idempotency_key"]
        runs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True) for _ in range(2)]
        outputs = [run.communicate(timeout=300)[0] for run in runs]
        for run, out in zip(runs, outputs, strict=True):
            assert run.returncode == 0, out[-3000:]
            assert " passed" in out and "failed" not in out
        tenants = {e.tenant for e in served.app.journal.query(path="/student/TIS/API/tisReply").entries}
        assert len(tenants) >= 2 * 20  # every scenario of both runs had a tenant of its own
    finally:
        stop(served)
        runtime.store.dispose()
