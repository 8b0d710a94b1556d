"""Crash safety: kill -9 of a serving TIS mid-processing, restart on the same database, every delivery applied once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from contracts.generate import generate_testpackage, generate_trt
from mocks.core.server import Served
from tests.dbs import fresh_schema, require_postgres
from tests.tis.conftest import opp_key, served_peers

ROOT = Path(__file__).resolve().parents[2]
TRTS = 30
# exactly once at the effect level through the receivers' idempotency ledgers (examrig's extension)
REQUIREMENTS = ("TIS-IDEM-001", "TIS-IDEM-002")

pytestmark = pytest.mark.slow

TOML = """
[services.tis]
poll_interval = 0.02
workers = {workers}
dw_urls = ["peer:dw/exams/imports"]

[services.tis.outbound_auth]
url = "peer:openam/"
realm = "/sbac"
username = "dw-loader@example.org"
password = "password"
client_id = "examrig"
client_secret = "examrig-secret"
"""


class TisProcess:
    """``examrig serve tis`` in a subprocess, on a SQLite file or PostgreSQL, with the peers' URLs in its topology."""

    def __init__(self, tmp: Path, peers: dict[str, str], workers: int = 1, db: str | None = None) -> None:
        self.tmp = tmp
        self.db = db or f"sqlite:///{tmp / 'tis.db'}"
        # read-only on SQLite (the serving process holds no lock between writes); a plain connection on PostgreSQL
        self.engine = create_engine(f"sqlite:///file:{tmp / 'tis.db'}?mode=ro&uri=true" if db is None else db)
        (tmp / "examrig.toml").write_text(TOML.replace("{workers}", str(workers)))
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.env.update({f"EXAMRIG_TOPOLOGY_{name.upper()}": url for name, url in peers.items()})
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.cli", "serve", "tis", "--config", str(self.tmp / "examrig.toml"),
             "--db", self.db, "--port", "0", "--seed", "5"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # ends when the process does: a failed start is reported below
            if " listening on " in line:
                self.url = line.strip().rsplit(" ", 1)[-1]
            if line.startswith("examrig: database"):
                return
        raise AssertionError(f"tis did not start (exit {self.proc.wait()})")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Read the TIS database the way an operator would."""
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql)).all()]


@pytest.fixture
def peers() -> Iterator[dict[str, Served]]:
    """tds, dw and openam served over HTTP from this process (tests/tis/conftest.py)."""
    with served_peers() as served:
        yield served


class Trap:
    """Holds the ``nth`` keyed request a receiver takes until :meth:`release`, before its effect.

    TIS cannot have heard the answer of a held request, so a kill while one is held leaves that send in doubt
    for certain (its outbox row ``sending``) although the receiver has it: after the restart it is sent again
    with the same key, and the receiver must apply it once.
    """

    def __init__(self, nth: int) -> None:
        self.nth = nth
        self.seen = 0
        self.key: str | None = None
        self.arrived = threading.Event()
        self.finished = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()

    def wrap(self, method: Callable[..., Any], key_of: Callable[[tuple[Any, ...], dict[str, Any]], Any]) -> Any:
        def held(*args: Any, **kwargs: Any) -> Any:
            keyed = key_of(args, kwargs)
            with self._lock:
                self.seen += keyed is not None
                mine = keyed is not None and self.seen == self.nth
                if mine:
                    self.key = keyed.key
            if not mine:
                return method(*args, **kwargs)
            self.arrived.set()
            self._released.wait(30)
            try:
                return method(*args, **kwargs)
            finally:
                self.finished.set()
        return held

    def release(self) -> None:
        self._released.set()


def _wait(predicate: object, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _keys_heard(journal: Any, path: str) -> dict[str, list[str]]:
    """Per Idempotency-Key, what became of each inbound request with it, from the receiver's journal note:
    ``applied`` (first use: the effect), ``replay`` (answered from the ledger), or ``unread`` (no note: it never
    reached the ledger, e.g. a body cut off by the kill), with the status.
    """
    heard: dict[str, list[str]] = {}
    for entry in journal.query(path=path, direction="in").entries:
        key = entry.request_headers.get("Idempotency-Key", "").strip('"')
        assert key, f"a delivery without an Idempotency-Key: {entry.request_headers}"
        note = json.loads(entry.note or "{}")
        fate = "unread" if "replay" not in note else "replay" if note["replay"] else "applied"
        heard.setdefault(key, []).append(f"{fate} {entry.status}")
    return heard


def _check_heard(heard: dict[str, list[str]], in_doubt: dict[str, str], held: str | None, ok: int) -> None:
    """Each delivery applied once; heard again only when it was in doubt; the held one resent and replayed."""
    assert len(heard) == TRTS, heard
    for key, fates in heard.items():
        assert [f for f in fates if f.startswith("applied")] == [f"applied {ok}"], (key, fates)
        assert len(fates) == 1 or key in in_doubt, (key, fates, in_doubt)
    assert sorted(heard[str(held)]) == [f"applied {ok}", f"replay {ok}"], heard[str(held)]


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
@pytest.mark.parametrize("workers", [1, 4])  # 1: examrig serve's default; 4: the benchmark's figures
def test_kill_9_during_processing_applies_every_delivery_exactly_once(tmp_path: Path, peers: dict[str, Served],
                                                                     workers: int, database: str) -> None:
    db = None if database == "sqlite" else fresh_schema(require_postgres())
    tds, dw = peers["tds"].app, peers["dw"].app
    package = generate_testpackage(31, items=8, hand_scored=False)
    trts = [generate_trt(100 + i, package=package, items=8) for i in range(TRTS)]
    keys = [opp_key(t) for t in trts]
    assert len(set(keys)) == TRTS
    tds.model.seed("default", [{"oppKey": k, "status": "submitted"} for k in keys])  # type: ignore[attr-defined]
    # the fourth warehouse post (and, with several workers, the fourth acknowledgement) is held at the receiver
    # until TIS has been killed: a send that reached its peer while TIS never heard the answer
    dw_trap, ack_trap = Trap(4), Trap(4)
    dw_model: Any = dw.model  # type: ignore[attr-defined]
    tds_model: Any = tds.model  # type: ignore[attr-defined]
    # the views call take(tenant, receiver, body, content_type, creator, keyed, answer), legacy_reply(tenant, reply,
    # keyed)
    dw_model.take = dw_trap.wrap(dw_model.take, lambda a, k: k.get("keyed", a[5] if len(a) > 5 else None))
    if workers > 1:  # one worker held in a warehouse post never reaches an acknowledgement
        tds_model.legacy_reply = ack_trap.wrap(tds_model.legacy_reply,
                                               lambda a, k: k.get("keyed", a[2] if len(a) > 2 else None))
    traps = [dw_trap] + ([ack_trap] if workers > 1 else [])

    tis = TisProcess(tmp_path, {name: s.url for name, s in peers.items()}, workers, db)
    tis.start()
    try:
        assert requests.post(tis.url + "/api/testpackage", data=package, timeout=10).status_code == 201
        callback = peers["tds"].url + "/student/TIS/API/tisReply"
        for trt in trts:  # every 200 is a promise: the TRT is committed
            r = requests.post(tis.url + "/api/testresult", params={"statusCallback": callback}, data=trt,
                              headers={"Content-Type": "application/xml"}, timeout=10)
            assert r.status_code == 200, r.text

        # kill -9 while the trapped sends are held at their receivers and some acknowledgements are already out
        _wait(lambda: all(t.arrived.is_set() for t in traps)
              and tis.query("SELECT count(*) FROM tis_outbox WHERE kind='ack' AND state='sent'")[0][0] >= 3,
              "the trapped sends to arrive")
        tis.kill()
        for trap in traps:  # the receivers now apply the held requests, answering a connection nobody reads
            trap.release()
            assert trap.finished.wait(15)
        done_before = tis.query("SELECT count(*) FROM tis_outbox WHERE kind='ack' AND state='sent'")[0][0]
        assert 3 <= done_before < TRTS  # the kill really interrupted the processing
        # the sends in doubt: marked 'sending', so the peer may or may not have taken them before the kill
        in_doubt = dict(tis.query("SELECT 'tis-' || key_nonce || '-' || id, kind FROM tis_outbox "
                                  "WHERE state='sending'"))
        assert len(in_doubt) <= workers  # one send in hand per worker at most
        assert in_doubt.get(str(dw_trap.key)) == "dw"  # the held warehouse post is in doubt for TIS ...
        if workers > 1:
            assert in_doubt.get(str(ack_trap.key)) == "ack"  # ... and so is the held acknowledgement

        tis.start()  # same database, new port: recovery, then the worker finishes the rest
        _wait(lambda: all(tds.model.opportunity("default", k)["status"] == "reported"  # type: ignore[attr-defined]
                          for k in keys), "every opportunity reported at tds", timeout=120)
        _wait(lambda: tis.query("SELECT count(*) FROM xmlrepository WHERE location IN ('source','processing')")
              == [(0,)], "tis to drain its queue", timeout=120)
    finally:
        tis.terminate()
        tis.engine.dispose()

    # the warehouse took one import per opportunity ...
    receipts = Counter(r["oppKey"].lower() for r in dw.model.receipts_of("default"))  # type: ignore[attr-defined]
    assert receipts == Counter(keys)
    # ... although every send in doubt went out again with its key: the resend was answered from the ledger
    _check_heard(_keys_heard(dw.journal, "/exams/imports"), in_doubt, dw_trap.key, 202)
    # tds applied exactly one acknowledgement per opportunity: 'reported', never a second one ('QA Reported')
    for key in keys:
        audit = tds.model.opportunity("default", key)["audit"]  # type: ignore[attr-defined]
        assert [a["accessType"] for a in audit if a["source"] == "tisReply"] == ["reported"], (key, audit)
    acks = _keys_heard(tds.journal, "/student/TIS/API/tisReply")
    if workers > 1:
        _check_heard(acks, in_doubt, ack_trap.key, 200)
    else:  # one worker held in a warehouse post had no acknowledgement in hand
        assert sorted(acks.values()) == [["applied 200"]] * TRTS, acks
    # and tis processed each TRT once: one archived original and one destination file per opportunity
    rows = tis.query("SELECT oppkey, location FROM xmlrepository")
    assert Counter(loc for _, loc in rows) == Counter({"archive": TRTS, "destination": TRTS})
    assert Counter(str(k) for k, loc in rows if loc == "destination") == Counter(keys)
    assert tis.query("SELECT kind, count(*) FROM tis_outbox WHERE state='sent' GROUP BY kind ORDER BY kind") == [
        ("ack", TRTS), ("dw", TRTS)]
