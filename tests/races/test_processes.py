"""Races across processes on one database (a SQLite file, PostgreSQL): start-up together on an empty database,
two served processes of one mock taking one rule's requests, and TIS workers in several processes, started and
stopped during a burst, processing each file exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from contracts.generate import generate_testpackage, generate_trt
from mocks.core.server import Served
from tests.races.conftest import N
from tests.tis.conftest import opp_key, served_peers

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def _wait(predicate: Any, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


CREATE = """
import sys, time
from mocks import registry
from mocks.core.app import Runtime
from mocks.core.settings import Settings
runtime = Runtime.create(Settings(seed=1), db=sys.argv[1])
start = float(sys.argv[2])
while time.time() < start:  # every process starts creating at one instant
    time.sleep(0.001)
for name, info in registry.available().items():
    info.cls(runtime)
runtime.store.dispose()
"""


def test_processes_starting_together_on_an_empty_database_all_start(db_url: str) -> None:
    for round_ in range(2):
        url = db_url.replace("race.db", f"race{round_}.db")
        if url.startswith("postgresql") and round_:
            from tests.dbs import fresh_schema, require_postgres
            url = fresh_schema(require_postgres())
        at = time.time() + 8  # after every interpreter has imported the mocks, even on a loaded machine
        procs = [subprocess.Popen([sys.executable, "-c", CREATE, url, str(at)], cwd=ROOT, env=_env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(3)]
        outputs = [p.communicate(timeout=180)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outputs


class Served2:
    """``examrig serve SERVICE --port 0`` in a subprocess on ``db``."""

    def __init__(self, service: str, db: str, cwd: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.cli", "serve", service, "--db", db, "--port", "0", *args],
            cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.url = ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if " listening on " in line:
                self.url = line.strip().rsplit(" ", 1)[-1]
            if line.startswith("examrig: database"):
                break
        if not self.url:
            raise AssertionError(f"{service} did not start (exit {self.proc.wait()})")
        # keep reading its output so that it never blocks on a full pipe
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def test_two_served_processes_start_one_attempt_once(db_url: str, tmp_path: Path) -> None:
    """20 lobby Starts of one attempt spread over two processes of deliveryodata: one Result."""
    first = Served2("deliveryodata", db_url, tmp_path, "--seed", "9")
    second = Served2("deliveryodata", db_url, tmp_path, "--seed", "9")
    try:
        s = requests.Session()
        base = [first.url, second.url]
        tenant = {"X-Examrig-Tenant": "race"}
        seed = {"participants": [{"ID": 1, "Name": "ada"}], "assessments": [{"ID": 2, "Language": "en-US"}]}
        r = s.post(f"{first.url}/_examrig/seed", json=seed, headers=tenant, timeout=30)
        assert r.status_code < 300, r.text
        auth = ("examrig", "examrig")
        odata = "/deliveryodata/400449"
        r = s.post(f"{first.url}{odata}/Attempts", auth=auth, headers={**tenant, "Accept": "application/json"},
                   json={"ExternalAttemptID": "x-1", "ParticipantID": 1, "AssessmentID": "2"}, timeout=30)
        assert r.status_code == 201, r.text
        got = s.get(f"{first.url}{odata}/Attempts({r.json()['ID']})", auth=auth,
                    headers={**tenant, "Accept": "application/json"}, timeout=30)
        assert got.status_code == 200, got.text
        lobby = got.json()["ParticipantFacingQMLobbyUrl"]
        entered = s.get(lobby, headers={**tenant, "Accept": "application/json"}, timeout=30)
        assert entered.status_code == 200, entered.text
        session = entered.json()["Session"]
        path = lobby.split("/lobby/", 1)[1].split("?", 1)[0].replace("SystemCheck", "Start")
        barrier = threading.Barrier(N)
        codes: list[int] = [0] * N

        def go(i: int) -> None:
            barrier.wait(timeout=60)
            codes[i] = requests.post(f"{base[i % 2]}/lobby/{path}", headers={**tenant, "Accept": "application/json"},
                                     json={"Session": session}, timeout=120).status_code

        threads = [threading.Thread(target=go, args=(i,)) for i in range(N)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert Counter(codes)[200] == 1, codes
        results = s.get(f"{second.url}{odata}/Results", auth=auth, headers={**tenant, "Accept": "application/json"},
                        timeout=30).json()["value"]
        assert len(results) == 1
    finally:
        first.stop()
        second.stop()


TOML = """
[services.tis]
poll_interval = 0.02
worker = {worker}
lease_seconds = 5
dw_urls = ["peer:dw/exams/imports"]
"""


@pytest.fixture
def peers() -> Iterator[dict[str, Served]]:
    """tds, dw and openam served over HTTP from this process (tests/tis/conftest.py)."""
    with served_peers() as served:
        yield served


def test_tis_workers_in_several_processes_process_each_file_once(db_url: str, tmp_path: Path,
                                                                  peers: dict[str, Served]) -> None:
    """A receiver and `examrig worker tis` processes on one database; workers start and stop during the burst."""
    trts_n = 40
    topology = {f"EXAMRIG_TOPOLOGY_{name.upper()}": s.url for name, s in peers.items()}
    config = tmp_path / "examrig.toml"
    config.write_text(TOML.replace("{worker}", "false"))
    tds, dw = peers["tds"].app, peers["dw"].app
    package = generate_testpackage(31, items=8, hand_scored=False)
    trts = [generate_trt(500 + i, package=package, items=8) for i in range(trts_n)]
    keys = [opp_key(t) for t in trts]
    tds.model.seed("default", [{"oppKey": k, "status": "submitted"} for k in keys])  # type: ignore[attr-defined]
    os.environ.update(topology)  # Served2 passes the environment on
    try:
        receiver = Served2("tis", db_url, tmp_path, "--config", str(config), "--seed", "5")
    finally:
        for name in topology:
            os.environ.pop(name, None)
    workers: list[subprocess.Popen[str]] = []

    def worker() -> subprocess.Popen[str]:
        proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "worker", "tis", "--db", db_url,
                                 "--config", str(config), "--seed", "5"], cwd=tmp_path, env=_env(**topology),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        workers.append(proc)
        return proc

    engine = create_engine(db_url)
    try:
        assert requests.post(receiver.url + "/api/testpackage", data=package, timeout=30).status_code == 201
        callback = peers["tds"].url + "/student/TIS/API/tisReply"
        first = worker()
        worker()
        for i, trt in enumerate(trts):
            if i == 10:
                first.terminate()  # a clean stop in the middle of the burst
            if i == 15:
                worker()  # a third joins
            if i == 25:
                workers[1].send_signal(signal.SIGKILL)  # and one dies; its rows go back once it is seen gone
            r = requests.post(receiver.url + "/api/testresult", params={"statusCallback": callback}, data=trt,
                              headers={"Content-Type": "application/xml"}, timeout=30)
            assert r.status_code == 200, r.text
        worker()  # one more after the burst

        def drained() -> bool:
            with engine.connect() as conn:
                left = conn.execute(text("SELECT count(*) FROM xmlrepository WHERE location IN "
                                         "('source', 'processing', 'staged')")).scalar_one()
            return left == 0 and all(tds.model.opportunity("default", k)["status"] == "reported"  # type: ignore
                                     for k in keys)

        _wait(drained, "every TRT processed and reported", timeout=240)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT oppkey, location FROM xmlrepository")).all()
            sent = dict(conn.execute(text("SELECT kind, count(*) FROM tis_outbox WHERE state = 'sent' "
                                          "GROUP BY kind")).all())
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.terminate()
        for proc in workers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        receiver.stop()
        engine.dispose()
    # one archived original and one destination file per TRT: none planned twice
    assert Counter(loc for _, loc in rows) == Counter({"archive": trts_n, "destination": trts_n})
    assert Counter(str(k) for k, loc in rows if loc == "destination") == Counter(keys)
    # a send interrupted by the kill may have gone out twice, with one key: the receivers applied each once
    assert sent == {"ack": trts_n, "dw": trts_n}
    receipts = Counter(r["oppKey"].lower() for r in dw.model.receipts_of("default"))  # type: ignore[attr-defined]
    assert receipts == Counter(keys)
    for key in keys:
        audit = tds.model.opportunity("default", key)["audit"]  # type: ignore[attr-defined]
        assert [a["accessType"] for a in audit if a["source"] == "tisReply"] == ["reported"], (key, audit)
