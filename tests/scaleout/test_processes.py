"""``examrig serve --processes 2``: two processes of one mock on one port behave as one mock.

Each request here goes on a new connection (``Connection: close``), so the kernel (SO_REUSEPORT) picks a
process for each; a helper keeps asking until the *other* process answers, so every check below really
crosses processes. ``/_examrig/health`` names the process that answered.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from features.steps.deliveryodata import AUTH, CUSTOMER, STANDARD_SEED, _lobby
from tests.dbs import fresh_schema, require_postgres

ROOT = Path(__file__).resolve().parents[2]
T = "X-Examrig-Tenant"
CLOSE = {"Connection": "close"}


class Served:
    """One ``examrig serve SERVICE --processes 2`` started by a test, and its URL."""

    def __init__(self, service: str, data_dir: Path, db: str | None, seed: int | None) -> None:
        cmd = [sys.executable, "-m", "conformance.cli", "serve", service, "--port", "0", "--processes", "2",
               "--data-dir", str(data_dir)]
        if db:
            cmd += ["--db", db]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.log = data_dir / f"{service}.log"
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=self.log.open("wb"),
                                     text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the parent prints once every child listens (or exits)
        found = re.search(r"listening on (http://\S+)", line)
        assert found, f"no URL from {cmd}: {line!r}; {self.log.read_text()}"
        self.url = found.group(1)

    def stop(self) -> int:
        return stop_serve(self.proc)


def stop_serve(proc: subprocess.Popen[Any]) -> int:
    """Stop an ``examrig serve`` as Ctrl-C's sibling SIGTERM would (every process of it); killed after 60 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()


def get(url: str, path: str, tenant: str = "default", **kwargs: Any) -> requests.Response:
    headers = {T: tenant, **CLOSE, **kwargs.pop("headers", {})}
    return requests.request(kwargs.pop("method", "GET"), url + path, headers=headers, timeout=60, **kwargs)


def process_of(url: str) -> str:
    return str(get(url, "/_examrig/health").json()["process"])


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db(request: pytest.FixtureRequest) -> str | None:
    """SQLite (a file under the data directory), or a fresh schema of EXAMRIG_TEST_DB's PostgreSQL."""
    if request.param == "sqlite":
        return None
    return fresh_schema(require_postgres())


@pytest.fixture(scope="module")
def mocks(db: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Served]]:
    """tds and deliveryodata, each served by ``examrig serve --processes 2``, on one database."""
    where = tmp_path_factory.mktemp("procs")
    started: dict[str, Served] = {}
    try:
        for service in ("tds", "deliveryodata"):
            started[service] = Served(service, where, db, 1234)
        yield started
    finally:
        for served in started.values():
            served.stop()


def test_requests_spread_over_both_processes(mocks: dict[str, Served]) -> None:
    for served in mocks.values():
        seen = {process_of(served.url) for _ in range(60)}
        assert len(seen) == 2, seen


def _pinned(url: str) -> tuple[requests.Session, str]:
    """A keep-alive session (one connection, so one process) and the process it reaches."""
    session = requests.Session()
    session.headers[T] = "pinned"
    return session, str(session.get(url + "/_examrig/health", timeout=60).json()["process"])


def _elsewhere(url: str, than: str, path: str, tenant: str, tries: int = 200) -> dict[str, Any]:
    """GET ``path`` (an admin read) on a process other than ``than``: one keep-alive session per try."""
    for _ in range(tries):
        with requests.Session() as session:
            session.headers[T] = tenant
            if session.get(url + "/_examrig/health", timeout=60).json()["process"] == than:
                continue
            answer: dict[str, Any] = session.get(url + path, timeout=60).json()
            return answer
    raise AssertionError(f"never reached a process other than {than}")


def test_clock_fault_reset_and_journal_agree_across_processes(mocks: dict[str, Served]) -> None:
    url = mocks["tds"].url
    tenant = f"c-{time.monotonic_ns()}"
    one, first = _pinned(url)
    one.headers[T] = tenant
    assert one.post(url + "/_examrig/clock", json={"set": "2026-04-01T08:00:00Z"}, timeout=60).status_code == 200
    clock = _elsewhere(url, first, "/_examrig/clock", tenant)
    assert clock == {"tenant": tenant, "now": "2026-04-01T08:00:00.000Z", "frozen": True}

    rule = one.post(url + "/_examrig/faults", json={"kind": "status", "status": 418, "route": "ertCallback"},
                    timeout=60).json()["faults"][0]["id"]
    assert [r["id"] for r in _elsewhere(url, first, "/_examrig/faults", tenant)["faults"]] == [rule]
    statuses = {get(url, "/tis", tenant, method="POST").status_code for _ in range(20)}
    assert statuses == {418}  # whichever process served each
    since = _elsewhere(url, first, "/_examrig/health", tenant)["journal"]["next_seq"]
    for i in range(10):
        get(url, f"/tis?n={i}", tenant, method="POST")
    window = _elsewhere(url, first, f"/_examrig/journal?since={since}", tenant)
    assert [e["url"].rsplit("?", 1)[1] for e in window["entries"]] == [f"n={i}" for i in range(10)]
    assert all(e["status"] == 418 for e in window["entries"]) and window["overflow"] is False
    listed = one.get(url + "/_examrig/faults", timeout=60).json()["faults"]
    assert listed[0]["applied"] >= 30

    assert one.post(url + "/_examrig/reset", json={}, timeout=60).status_code == 200
    assert _elsewhere(url, first, "/_examrig/clock", tenant)["frozen"] is False
    assert _elsewhere(url, first, "/_examrig/faults", tenant)["faults"] == []
    assert _elsewhere(url, first, "/_examrig/journal", tenant)["count"] == 0
    one.close()


def test_signed_lobby_url_minted_by_one_process_is_accepted_once_by_any(mocks: dict[str, Served]) -> None:
    url = mocks["deliveryodata"].url
    for round_ in range(4):
        tenant = f"l-{round_}-{time.monotonic_ns()}"
        assert get(url, "/_examrig/seed", tenant, method="POST", json=STANDARD_SEED).status_code == 201
        body = {"ExternalAttemptID": "x-1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543",
                "LockRequired": True, "LockStatus": True}
        minted, first = _pinned(url)
        minted.headers.update({T: tenant, **AUTH})
        attempt = minted.post(f"{url}/deliveryodata/{CUSTOMER}/Attempts", data=json.dumps(body),
                              headers={"Content-Type": "application/json"}, timeout=60).json()["ID"]
        entity = minted.get(f"{url}/deliveryodata/{CUSTOMER}/Attempts({attempt})", timeout=60).json()
        lobby = _lobby({"lobby_url": entity["ParticipantFacingQMLobbyUrl"]})
        path = lobby.split("://", 1)[1].split("/", 1)[1]
        # first use on the other process, second wherever a new connection lands
        for _ in range(200):
            with requests.Session() as other:
                other.headers[T] = tenant
                if other.get(url + "/_examrig/health", timeout=60).json()["process"] == first:
                    continue
                used = other.get(f"{url}/{path}", timeout=60)
                break
        else:
            raise AssertionError("never reached the other process")
        assert used.status_code == 200, used.text
        again = get(url, f"/{path}", tenant)
        assert again.status_code == 403 and again.json()["error"]["code"] == "link_used"
        minted.close()


def test_same_seed_processes_issue_different_nonces(mocks: dict[str, Served]) -> None:
    url = mocks["deliveryodata"].url
    tenant = f"n-{time.monotonic_ns()}"
    assert get(url, "/_examrig/seed", tenant, method="POST", json=STANDARD_SEED).status_code == 201
    body = {"ExternalAttemptID": "n-1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543",
            "LockRequired": True, "LockStatus": True}
    attempt = get(url, f"/deliveryodata/{CUSTOMER}/Attempts", tenant, method="POST", data=json.dumps(body),
                  headers={**AUTH, "Content-Type": "application/json"}).json()["ID"]
    nonces: dict[str, set[str]] = {}
    for _ in range(60):
        with requests.Session() as session:
            session.headers.update({T: tenant, **AUTH})
            who = session.get(url + "/_examrig/health", timeout=60).json()["process"]
            entity = session.get(f"{url}/deliveryodata/{CUSTOMER}/Attempts({attempt})", timeout=60).json()
            lobby = _lobby({"lobby_url": entity["ParticipantFacingQMLobbyUrl"]})
            nonces.setdefault(who, set()).add(re.search(r"nonce=([^&]+)", lobby).group(1))  # type: ignore[union-attr]
    assert len(nonces) == 2
    first, second = nonces.values()
    assert first.isdisjoint(second)


def test_a_killed_process_is_replaced_and_the_mock_keeps_answering(mocks: dict[str, Served]) -> None:
    url = mocks["tds"].url
    parent = mocks["tds"].proc.pid
    children = [int(p) for p in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
    assert len(children) == 2
    os.kill(children[0], signal.SIGKILL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = [int(p) for p in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
        if len(now) == 2 and children[0] not in now:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the killed process was not replaced")
    seen: set[str] = set()
    for _ in range(200):
        response = get(url, "/_examrig/health")
        assert response.status_code == 200
        seen.add(response.json()["process"])
        if len(seen) == 2:
            break
    assert len(seen) == 2
    assert "restarting it" in mocks["tds"].log.read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_every_process_and_the_urls_are_printed_once(tmp_path: Path, sig: int) -> None:
    served = Served("openam", tmp_path, None, None)
    parent = served.proc.pid
    children = [int(p) for p in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
    assert len(children) == 2
    assert get(served.url, "/_examrig/health").status_code == 200
    served.proc.send_signal(sig)
    assert served.proc.wait(timeout=60) == 0
    assert served.proc.stdout is not None
    rest = served.proc.stdout.read()
    assert "listening on" not in rest  # the one URL line was read by Served; no child printed its own
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
