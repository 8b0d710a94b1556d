"""The README's scoring commands, in order, through ``conformance.cli.main``: serve, generate, submit, score at thss,
read TIS, TDS and DW; with TIS's worker in the serving process and with ``examrig worker tis`` in its own.

Every mock is served from this process on one port base (probed, never fixed), as ``examrig serve --port-base N``
lays them out, so ``submit`` finds tds and thss from ``--tis`` alone, as a user's would.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from conformance.cli import main
from mocks import registry
from mocks.core.app import Runtime
from mocks.core.server import Served, ServeError, bind, start, stop
from mocks.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0  # generous: a loaded 2-core machine


@dataclass
class Rig:
    """Every mock served on ``base`` (ports base+0 … base+6), one SQLite file."""

    base: int
    db: str
    urls: dict[str, str]

    def get(self, service: str, path: str) -> Any:
        r = requests.get(self.urls[service] + path, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()


def _bind_all(runtime: Runtime, base: int) -> list[Served]:
    known = registry.available()
    served: list[Served] = []
    try:
        for name, info in known.items():
            served.append(bind(name, info.cls(runtime), "127.0.0.1", info.port(base)))
    except ServeError:
        for s in served:
            s.stopper()
            s.app.stop()
        raise
    return served


@contextmanager
def serve_all(tmp_path: Path, *, tis_worker: bool) -> Iterator[Rig]:
    """``examrig serve --port-base N`` in process, on the first free base found (not a fixed port)."""
    db = f"sqlite:///{tmp_path / 'examrig.db'}"
    settings = Settings(seed=7, db=db, services={"tis": {"worker": tis_worker}})
    runtime = Runtime.create(settings)
    rng = random.Random()  # only which ports to try: nothing the test checks depends on it
    for _ in range(50):
        base = rng.randrange(20000, 60000)
        try:
            served = _bind_all(runtime, base)
            break
        except ServeError:
            continue
    else:
        pytest.fail("no free block of 7 ports found in 50 tries")
    try:
        for s in served:
            runtime.topology[s.name] = s.url
        for s in served:
            s.app.start()
            start(s)
        yield Rig(base, db, {s.name: s.url for s in served})
    finally:
        # side by side: each server's shutdown waits out its poll interval, seven in a row took seconds
        with ThreadPoolExecutor(len(served)) as pool:
            list(pool.map(stop, served))
        runtime.control.close()
        runtime.store.dispose()


def _until(what: str, check: Any, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def _score_everything(rig: Rig, key: str) -> int:
    """A teacher scoring every assignment of ``key`` through the admin API (one call per item, as docs/thss.md)."""
    queue = rig.get("thss", f"/_examrig/state/queue/{key}")["assignments"]
    for a in queue:
        body: dict[str, Any] = {"assignment": a["id"], "score": 1}
        if a["itemType"] == "WER":
            body = {"assignment": a["id"], "dimensions": [{"name": "Organization/Purpose", "score": 3},
                                                          {"name": "Evidence/Elaboration", "score": 2},
                                                          {"name": "Conventions", "score": 1}]}
        r = requests.post(rig.urls["thss"] + "/_examrig/score", json=body, timeout=30)
        assert r.status_code == 200 and r.json()["status"] == "sent", r.text
    return len(queue)


def _walk_the_readme(rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int) -> None:
    out = tmp_path / "trts"
    assert main(["generate", "trt", "--seed", str(seed), "--kind", "partial", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"testpackage-{seed}.xml", f"trt-{seed}.xml"]
    capsys.readouterr()
    # only --tis: tds and thss come from its port; the package beside the TRT is loaded, not posted as a TRT
    assert main(["submit", "trt", str(out), "--tis", rig.urls["tis"], "--wait", str(TIMEOUT)]) == 0
    printed = capsys.readouterr().out
    assert "hand-scoring item(s) -> thss 200" in printed, printed
    assert "testpackage" not in printed.split("hand-scoring")[-1], printed  # no "no Opportunity@key" for it
    key = next(line.split(": ")[1].split(" ")[0] for line in printed.splitlines()
               if line.startswith(str(out / f"trt-{seed}.xml")) and "->" in line)
    assert f"{key}: handscoring:" in printed, printed
    tis = rig.get("tis", f"/_examrig/state/opportunities/{key}")
    hand = [i["item"] for i in tis["itemScores"] if i["status"] == "WaitingForHandScore"]
    assert hand, tis["itemScores"]
    # the issue: thss queued 0 items because nothing had configured them; now every hand item is queued
    uploads = rig.get("thss", "/_examrig/state/uploads/all")["uploads"]
    assert [u["items"] for u in uploads if u["oppKey"] == key] == [len(hand)]
    assert _score_everything(rig, key) == len(hand)
    final = _until("TIS's second pass", lambda: (lambda s: s if s["statuses"][-1:] in (["completed"], ["scored"])
                                                 else None)(rig.get("tis", f"/_examrig/state/opportunities/{key}")))
    assert final["statuses"][:2] == ["handscoring", "handscored"], final["statuses"]
    assert all(i["status"] == "Scored" for i in final["itemScores"] if i["item"] in hand), final["itemScores"]
    receipts = _until("two warehouse imports", lambda: [r for r in rig.get("dw", "/_examrig/state/receipts/all")
                                                        ["receipts"] if r["oppKey"] == key][1:] or None)
    assert receipts[0]["status"] == "PROCESSED", receipts
    assert rig.get("tds", f"/_examrig/state/opportunities/{key}")["status"] == "reported"


@pytest.fixture(scope="module")
def working(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """Every mock, TIS's worker in the serving process (the default)."""
    with serve_all(tmp_path_factory.mktemp("working"), tis_worker=True) as rig:
        yield rig


@pytest.fixture(scope="module")
def receiving(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """Every mock, ``[services.tis] worker = false``: TIS only receives."""
    with serve_all(tmp_path_factory.mktemp("receiving"), tis_worker=False) as rig:
        yield rig


def test_readme_scoring_path_with_serves_own_worker(working: Rig, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    _walk_the_readme(working, tmp_path, capsys, seed=5)


def test_readme_scoring_path_with_examrig_worker_tis(receiving: Rig, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """serve with ``[services.tis] worker = false``; ``examrig worker tis --port-base N`` in its own process.

    One subprocess (the point is a process that knows nothing of serve's topology), a few seconds.
    """
    rig = receiving
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, "-m", "conformance.cli", "worker", "tis", "--db", rig.db,
                               "--port-base", str(rig.base)], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert worker.stdout is not None
        banner = worker.stdout.readline()
        assert f"thss=http://127.0.0.1:{rig.base + 3}" in banner, banner
        _walk_the_readme(rig, tmp_path, capsys, seed=6)
    finally:
        worker.terminate()
        code = worker.wait(timeout=TIMEOUT)
    assert code == 0


def test_submit_says_when_the_test_is_unknown(working: Rig, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A TRT whose package nobody loaded: submit says so at once and exits 1 (it used to wait silently)."""
    from contracts.generate import generate_trt

    trt = tmp_path / "lonely.xml"
    trt.write_bytes(generate_trt(41))
    started = time.monotonic()
    assert main(["submit", "trt", str(trt), "--tis", working.urls["tis"], "--wait", str(TIMEOUT)]) == 1
    assert time.monotonic() - started < TIMEOUT  # settled at once, not at the end of the wait
    printed = capsys.readouterr().out
    assert "waits in source: TIS has no test package for test" in printed, printed


def test_submit_says_when_no_worker_takes_the_trt(receiving: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    # a tenant of its own: a worker process of another test on this rig must not take the file meanwhile
    assert main(["submit", "trt", "generated:42", "--tis", receiving.urls["tis"], "--wait", "1",
                 "--tenant", "no-worker"]) == 1
    printed = capsys.readouterr().out
    assert "still in source after 1 s: no TIS worker took it" in printed, printed
