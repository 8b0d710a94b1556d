"""Every rule that reads then writes, raced over HTTP across two processes: the mocks served by one
``examrig serve … --processes 2`` on a SQLite file and on PostgreSQL, 20 concurrent requests of one rule, ten on
each process, give exactly the one effect the rule allows (tests/races/test_model_races.py races the same rules
in one process).

Each racing request goes on a connection of its own, opened before the barrier. Sixteen of them are pinned: a
keep-alive ``GET /_examrig/health`` on the connection names the process that accepted it (a connection stays with
that process), and the thread opens connections until it has one on the process it was given (eight threads each
process); the other four are new connections opened at the barrier, given to either process by the kernel. Every
request carries ``Connection: close``. So every race really crosses the two processes, and each pinned answer says
which process gave it. (cheroot keeps at most 10 idle keep-alive connections per server, ``keep_alive_conn_limit``,
and answers the next with ``Connection: close``: hence eight pinned per process, not ten.)
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from contracts.generate import generate_trt
from features.steps.deliveryodata import AUTH, CUSTOMER, STANDARD_SEED, _lobby
from features.steps.thss import thss_trt
from tests.dbs import fresh_schema, require_postgres
from tests.races.conftest import N
from tests.races.test_processes import _env
from tests.scaleout.test_processes import CLOSE, T, get, process_of
from tests.tis.conftest import opp_key

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

SERVICES = ("deliveryodata", "tds", "tis", "thss", "proctoru", "openam", "dw")


class ServedAll:
    """``examrig serve SERVICE… --port-base 0 --processes 2`` on one database: every mock on a free port of its own,
    two processes each; ``urls`` by service, ``processes`` the two process names of each (from their health)."""

    def __init__(self, db: str, where: Path) -> None:
        self.log = where / "serve.log"
        cmd = [sys.executable, "-m", "conformance.cli", "serve", *SERVICES, "--port-base", "0", "--processes", "2",
               "--db", db, "--data-dir", str(where), "--seed", "1234",
               "--option", "tis.worker=false"]  # the TRTs wait in `source`: no worker, no package, nothing to race
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=self.log.open("wb"),
                                     text=True)
        assert self.proc.stdout is not None
        self.urls: dict[str, str] = {}
        for line in self.proc.stdout:  # one line per mock once every child listens, then the database's
            found = re.match(r"examrig: (\w+) listening on (http://\S+)", line)
            if found:
                self.urls[found.group(1)] = found.group(2)
            if line.startswith("examrig: database"):
                break
        if set(self.urls) != set(SERVICES):
            self.stop()
            raise AssertionError(f"examrig serve did not start: {self.urls}; {self.log.read_text()[-3000:]}")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # never blocks on a full pipe
        self.processes: dict[str, list[str]] = {}
        for name, url in self.urls.items():
            seen: set[str] = set()
            for _ in range(200):
                seen.add(process_of(url))
                if len(seen) == 2:
                    break
            assert len(seen) == 2, f"{name}: only {seen} answered"
            self.processes[name] = sorted(seen)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def rig(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedAll]:
    """Every mock of the races, served twice over on one database (a SQLite file, or a fresh PostgreSQL schema)."""
    where = tmp_path_factory.mktemp(f"http-races-{request.param}")
    db = f"sqlite:///{where / 'races.db'}" if request.param == "sqlite" else fresh_schema(require_postgres())
    served = ServedAll(db, where)
    try:
        yield served
    finally:
        served.stop()
    # a 500 answered to an admin call or to a peer's outbound call (thss to tis, dw to openam) is logged here
    log = served.log.read_text(errors="replace")
    assert "unexpected error" not in log and "Traceback" not in log, log[-4000:]


@pytest.fixture
def tenant(request: pytest.FixtureRequest) -> str:
    """A tenant of the test's own (the mocks and the database are the module's)."""
    name = re.sub(r"[^A-Za-z0-9_.:-]", "-", request.node.name)[:40]
    return f"h-{name}-{time.monotonic_ns()}"


# -- the race ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One racing request's answer, and the process that gave it."""

    process: str
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def code(self) -> str | None:
        """The ``code`` of examrig's JSON error body ``{"error": {"code"}}`` (the lobby, the admin door, thss)."""
        error = self.json().get("error")
        return str(error.get("code")) if isinstance(error, dict) else None

    def odata_message(self) -> str:
        """The message of an OData error body (``{"odata.error": {"code": "", "message": {"value"}}}``)."""
        return str(self.json()["odata.error"]["message"]["value"])


Make = Callable[[int], requests.PreparedRequest]


PINNED = 16  # racing requests on a connection pinned to a known process, half on each (the module docstring)


def _pinned(url: str, tenant: str, process: str) -> http.client.HTTPConnection:
    """A kept-alive connection to ``url`` that ``process`` accepted (a new connection per try)."""
    parts = urlsplit(url)
    for _ in range(200):
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
        conn.request("GET", "/_examrig/health", headers={T: tenant})
        answer = conn.getresponse()
        health = json.loads(answer.read())
        assert answer.status == 200 and "process" in health, (answer.status, health)
        # only a connection kept alive is pinned: on a closed one the next request opens another, to either process
        if health["process"] == process and conn.sock is not None and not answer.will_close:
            return conn
        conn.close()
    raise AssertionError(f"no kept-alive connection reached {process} in 200 tries")


def race(rig: ServedAll, service: str, tenant: str, make: Make, n: int = N) -> list[Reply]:
    """``make(0)`` … ``make(n-1)`` sent to ``service`` together: request i < PINNED on a connection of process
    ``i % 2``, the others on new connections (process ``?``: the kernel's choice)."""
    url = rig.urls[service]
    wanted = rig.processes[service]
    prepared = [make(i) for i in range(n)]
    barrier = threading.Barrier(n)
    out: list[Reply | BaseException | None] = [None] * n
    parts = urlsplit(url)

    def run(i: int) -> None:
        conn: http.client.HTTPConnection | None = None
        try:
            pinned = i < PINNED
            conn = (_pinned(url, tenant, wanted[i % 2]) if pinned
                    else http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120))
            p = prepared[i]
            headers = dict(p.headers)
            headers.update({T: tenant, **CLOSE})
            body = p.body.encode() if isinstance(p.body, str) else p.body
            barrier.wait(timeout=120)
            assert p.method is not None
            conn.request(p.method, p.path_url, body=body, headers=headers)
            answer = conn.getresponse()
            out[i] = Reply(wanted[i % 2] if pinned else "?", answer.status,
                           {k.lower(): v for k, v in answer.getheaders()}, answer.read())
        except BaseException as exc:
            barrier.abort()
            out[i] = exc
        finally:
            if conn is not None:
                conn.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a racing request never finished (a deadlock?)"
    failed = [r for r in out if not isinstance(r, Reply)]
    assert not failed, failed[:3]
    return [r for r in out if isinstance(r, Reply)]


def prepare(url: str, method: str, path: str, **kwargs: Any) -> requests.PreparedRequest:
    return requests.Request(method, url + path, **kwargs).prepare()


def statuses(replies: list[Reply]) -> Counter[int]:
    return Counter(r.status for r in replies)


def admin(rig: ServedAll, service: str, tenant: str, method: str, what: str, **kwargs: Any) -> Any:
    """An admin-door call (``/_examrig/…``) on a new connection; its JSON."""
    response = get(rig.urls[service], f"/_examrig/{what}", tenant, method=method, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


# -- deliveryodata -----------------------------------------------------------------------------------------------

ODATA = f"/deliveryodata/{CUSTOMER}"
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def _seeded(rig: ServedAll, tenant: str) -> str:
    url = rig.urls["deliveryodata"]
    admin(rig, "deliveryodata", tenant, "POST", "seed", json=STANDARD_SEED)
    return url


def _attempt(rig: ServedAll, tenant: str, **extra: Any) -> dict[str, Any]:
    body = {"ExternalAttemptID": "ext-1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543", **extra}
    r = get(rig.urls["deliveryodata"], f"{ODATA}/Attempts", tenant, method="POST", json=body,
            headers={**AUTH, **JSON})
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _lobby_url(rig: ServedAll, tenant: str, key: int) -> str:
    r = get(rig.urls["deliveryodata"], f"{ODATA}/Attempts({key})", tenant, headers={**AUTH, **JSON})
    assert r.status_code == 200, r.text
    return _lobby({"lobby_url": r.json()["ParticipantFacingQMLobbyUrl"]})


def _enter(rig: ServedAll, tenant: str, key: int) -> tuple[str, str]:
    """Enter the lobby: the Start URL (no query) and the lobby session."""
    lobby = _lobby_url(rig, tenant, key)
    r = requests.get(lobby, headers={T: tenant, **CLOSE, "Accept": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    return lobby.split("?", 1)[0].replace("/lobby/SystemCheck/", "/lobby/Start/"), str(r.json()["Session"])


def _audit(rig: ServedAll, tenant: str, key: int) -> list[str]:
    state = admin(rig, "deliveryodata", tenant, "GET", f"state/attempts/{key}")
    return [row["Event"] for row in state["audit"]]


def test_lobby_start_of_one_attempt_creates_one_result(rig: ServedAll, tenant: str) -> None:
    url = _seeded(rig, tenant)
    key = int(_attempt(rig, tenant)["ID"])
    start, session = _enter(rig, tenant, key)
    replies = race(rig, "deliveryodata", tenant, lambda _: prepare(start, "POST", "", json={"Session": session},
                                                                   headers=JSON))
    assert statuses(replies) == {200: 1, 409: N - 1}, statuses(replies)
    assert {r.code() for r in replies if r.status == 409} == {"state_conflict"}
    results = get(url, f"{ODATA}/Results", tenant, headers={**AUTH, **JSON}).json()["value"]
    assert len(results) == 1
    assert _audit(rig, tenant, key).count("Started") == 1


def test_one_lobby_url_enters_once(rig: ServedAll, tenant: str) -> None:
    _seeded(rig, tenant)
    key = int(_attempt(rig, tenant)["ID"])
    lobby = _lobby_url(rig, tenant, key)
    replies = race(rig, "deliveryodata", tenant, lambda _: prepare(lobby, "GET", "",
                                                                   headers={"Accept": "application/json"}))
    assert statuses(replies) == {200: 1, 403: N - 1}, statuses(replies)
    assert {r.code() for r in replies if r.status == 403} == {"link_used"}


def test_proctor_unlock_applies_once_and_add_time_loses_no_minute(rig: ServedAll, tenant: str) -> None:
    url = _seeded(rig, tenant)
    created = _attempt(rig, tenant, LockRequired=True)
    key = int(created["ID"])
    widget = str(created["ProctorFacingQMControlsWidgetUrl"])

    def action(name: str, body: dict[str, Any] | None = None) -> Make:
        target = widget.replace("/proctorwidget/Index/", f"/proctorwidget/{name}/")
        return lambda _: prepare(target, "POST", "", json=body or {}, headers=JSON)

    unlocked = race(rig, "deliveryodata", tenant, action("Unlock"))
    assert statuses(unlocked) == {200: 1, 409: N - 1}, statuses(unlocked)
    assert _audit(rig, tenant, key).count("Unlocked") == 1
    start, session = _enter(rig, tenant, key)
    again = action("Unlock")(0)  # entering re-locked the lobby (LockRequired)
    assert requests.post(str(again.url), data=again.body, headers={**dict(again.headers), T: tenant, **CLOSE},
                         timeout=60).status_code == 200
    started = requests.post(start, json={"Session": session}, headers={T: tenant, **CLOSE, **JSON}, timeout=60)
    assert started.status_code == 200, started.text
    result = started.json()["ResultID"]
    # each AddTime reads ExtraTime and writes it plus its minutes: none may be lost
    added = race(rig, "deliveryodata", tenant, action("AddTime", {"Minutes": 1}))
    assert statuses(added) == {200: N}, [r.body[:200] for r in added if r.status != 200][:3]
    extra = get(url, f"{ODATA}/Results({result})", tenant, headers={**AUTH, **JSON}).json()["ExtraTime"]
    assert extra == N
    # Pause is allowed once from in-progress; the others find it paused already
    paused = race(rig, "deliveryodata", tenant, action("Pause"))
    assert statuses(paused) == {200: 1, 409: N - 1}, statuses(paused)
    assert _audit(rig, tenant, key).count("Paused") == 1


def test_patch_result_transition_applies_once(rig: ServedAll, tenant: str) -> None:
    url = _seeded(rig, tenant)
    key = int(_attempt(rig, tenant)["ID"])
    start, session = _enter(rig, tenant, key)
    started = requests.post(start, json={"Session": session}, headers={T: tenant, **CLOSE, **JSON}, timeout=60)
    assert started.status_code == 200, started.text
    result = started.json()["ResultID"]
    replies = race(rig, "deliveryodata", tenant, lambda _: prepare(
        url, "PATCH", f"{ODATA}/Results({result})", json={"Status": 7}, headers={**AUTH, **JSON}))
    # 1 -> 7 once; the others see 7 already (no change: no transition, no second audit row)
    assert statuses(replies) == {204: N}, [r.body[:200] for r in replies if r.status != 204][:3]
    assert _audit(rig, tenant, key).count("Terminated") == 1


def test_patch_attempt_lock_status_changes_once(rig: ServedAll, tenant: str) -> None:
    """PATCH Attempts reads LockStatus and audits a change of it (not raced in one process by test_model_races)."""
    url = _seeded(rig, tenant)
    key = int(_attempt(rig, tenant, LockRequired=True, LockStatus=True)["ID"])
    replies = race(rig, "deliveryodata", tenant, lambda _: prepare(
        url, "PATCH", f"{ODATA}/Attempts({key})", json={"LockStatus": False}, headers={**AUTH, **JSON}))
    assert statuses(replies) == {204: N}, [r.body[:200] for r in replies if r.status != 204][:3]
    assert _audit(rig, tenant, key).count("Unlocked") == 1


def test_post_attempts_with_one_external_id_creates_one(rig: ServedAll, tenant: str) -> None:
    url = _seeded(rig, tenant)
    body = {"ExternalAttemptID": "ext-1", "ParticipantID": 987654321, "AssessmentID": "1234567890876543"}
    replies = race(rig, "deliveryodata", tenant, lambda _: prepare(url, "POST", f"{ODATA}/Attempts", json=body,
                                                                   headers={**AUTH, **JSON}))
    assert statuses(replies) == {201: 1, 409: N - 1}, statuses(replies)
    assert {r.odata_message() for r in replies if r.status == 409} == {
        "An entity with ExternalAttemptID 'ext-1' already exists."}
    assert len(get(url, f"{ODATA}/Attempts", tenant, headers={**AUTH, **JSON}).json()["value"]) == 1


def test_one_open_attempt_list_per_test_center(rig: ServedAll, tenant: str) -> None:
    url = _seeded(rig, tenant)
    replies = race(rig, "deliveryodata", tenant, lambda i: prepare(
        url, "POST", f"{ODATA}/AttemptLists", headers={**AUTH, **JSON},
        json={"ExternalAttemptListID": f"list-{i}", "TestCenterID": 7, "Open": True}))
    assert statuses(replies) == {201: 1, 409: N - 1}, statuses(replies)
    assert {r.odata_message() for r in replies if r.status == 409} == {
        "TestCenter 7 already has an open AttemptList (Open)."}
    lists = get(url, f"{ODATA}/AttemptLists", tenant, headers={**AUTH, **JSON}).json()["value"]
    assert [x["Open"] for x in lists] == [True]


# -- tds ---------------------------------------------------------------------------------------------------------

OPP = "aa19a641-c782-4426-8586-e7d77edf2d02"


def _tds(rig: ServedAll, tenant: str) -> str:
    admin(rig, "tds", tenant, "POST", "seed", json={"opportunities": [{"oppKey": OPP, "status": "submitted"}]})
    return rig.urls["tds"]


def _tds_audit(rig: ServedAll, tenant: str) -> list[str]:
    return [a["accessType"] for a in admin(rig, "tds", tenant, "GET", f"state/opportunities/{OPP}")["audit"]]


@pytest.mark.parametrize("path", ["/student/TIS/API/tisReply", "/tis"])
def test_tds_callback_reports_once(rig: ServedAll, tenant: str, path: str) -> None:
    """20 unkeyed acknowledgements of one submitted opportunity (legacy ``tisReply``, the ERT callback)."""
    url = _tds(rig, tenant)
    replies = race(rig, "tds", tenant, lambda _: prepare(url, "POST", path, json={"oppKey": OPP, "success": True}))
    assert statuses(replies) == {200: N}, [r.body[:200] for r in replies if r.status != 200][:3]
    assert _tds_audit(rig, tenant).count("reported") == 1
    assert admin(rig, "tds", tenant, "GET", f"state/opportunities/{OPP}")["status"] == "reported"


def test_tds_one_idempotency_key_applies_once(rig: ServedAll, tenant: str) -> None:
    """The idempotency ledger: 20 deliveries with one key, one effect and 19 replays of its answer."""
    url = _tds(rig, tenant)
    replies = race(rig, "tds", tenant, lambda _: prepare(
        url, "POST", "/student/TIS/API/tisReply", json={"oppKey": OPP, "success": True},
        headers={"Idempotency-Key": '"tis-race-1"'}))
    assert statuses(replies) == {200: N}
    assert Counter(r.headers.get("idempotent-replayed") for r in replies) == {None: 1, "true": N - 1}
    assert _tds_audit(rig, tenant) == ["reported"]


# -- tis ---------------------------------------------------------------------------------------------------------


def test_tis_opp_id_zero_gets_distinct_ids(rig: ServedAll, tenant: str) -> None:
    url = rig.urls["tis"]
    bodies = [re.sub(rb'oppId="[0-9]+"', b'oppId="0"', generate_trt(100 + i, kind="scored"), count=1)
              for i in range(N)]
    callback = rig.urls["tds"] + "/student/TIS/API/tisReply"
    replies = race(rig, "tis", tenant, lambda i: prepare(
        url, "POST", "/api/testresult", params={"statusCallback": callback}, data=bodies[i],
        headers={"Content-Type": "application/xml"}))
    assert statuses(replies) == {200: N}, [r.body[:200] for r in replies if r.status != 200][:3]
    ids = []
    for body in bodies:
        files = admin(rig, "tis", tenant, "GET", f"state/opportunities/{opp_key(body)}")["files"]
        ids += [f["oppId"] for f in files]
    assert sorted(ids) == list(range(1, N + 1))


# -- thss --------------------------------------------------------------------------------------------------------

THSS_OPP = "71a3ee01-f215-4ccd-b74d-df1097a01a0c"
ITEMS = [{"itemId": str(k), "bankKey": "200", "maxScore": "2", "HandScored": "1", "scoreType": "SA",
          "rubriclist": "", "dimensions": []} for k in (1, 2)]


def _thss(rig: ServedAll, tenant: str) -> str:
    url = rig.urls["thss"]
    r = get(url, "/api/item/submit", tenant, method="POST", json=ITEMS)
    assert r.status_code == 200, r.text
    return url


def _upload(rig: ServedAll, items: str) -> requests.PreparedRequest:
    # the scores go to the co-served TIS's callback (200 whatever it makes of them): a sent score stays sent (a
    # callback that fails puts the work back to `tentative`, which a teacher may score again)
    doc = thss_trt(THSS_OPP, items, callback=rig.urls["tis"] + "/ItemScoringCallbackRcv.axd")
    return prepare(rig.urls["thss"], "POST", "/api/test/submit", files={"file": ("f.xml", doc, "application/xml")})


def _queue(rig: ServedAll, tenant: str) -> list[dict[str, Any]]:
    assignments: list[dict[str, Any]] = admin(rig, "thss", tenant, "GET", "state/queue/all")["assignments"]
    return assignments


def test_thss_scores_one_assignment_once(rig: ServedAll, tenant: str) -> None:
    url = _thss(rig, tenant)
    prepared = _upload(rig, "200-1:SA:NOTSCORED")
    sent = requests.post(str(prepared.url), data=prepared.body, headers={**dict(prepared.headers), T: tenant,
                                                                         **CLOSE}, timeout=60)
    assert sent.status_code == 200 and sent.json()["Files"][0]["Success"], sent.text
    (work,) = _queue(rig, tenant)
    replies = race(rig, "thss", tenant, lambda _: prepare(url, "POST", "/_examrig/score",
                                                          json={"assignment": work["id"], "score": 1}))
    assert statuses(replies) == {200: 1, 409: N - 1}, statuses(replies)
    assert {r.code() for r in replies if r.status == 409} == {"already_scored"}
    assert [r.json()["status"] for r in replies if r.status == 200] == ["sent"]
    assert [w["status"] for w in _queue(rig, tenant)] == ["sent"]
    callbacks = admin(rig, "thss", tenant, "GET", "state/callbacks/all")["callbacks"]
    assert [c["status"] for c in callbacks] == [200]  # one score posted to TIS, once


def test_thss_uploads_of_one_opportunity_replace_each_other(rig: ServedAll, tenant: str) -> None:
    _thss(rig, tenant)
    replies = race(rig, "thss", tenant, lambda _: _upload(rig, "200-1:SA:NOTSCORED;200-2:SA:NOTSCORED"))
    assert statuses(replies) == {200: N}
    assert all(r.json()["Files"][0]["Success"] for r in replies), [r.body[:200] for r in replies][:3]
    assert sorted(w["itemId"] for w in _queue(rig, tenant)) == [1, 2]  # the work once, not once per upload


def test_thss_item_configuration_upserts_never_collide(rig: ServedAll, tenant: str) -> None:
    url = rig.urls["thss"]
    replies = race(rig, "thss", tenant, lambda i: prepare(url, "POST", "/api/item/submit", json=[
        {"itemId": "9", "bankKey": "200", "maxScore": str(i + 1), "HandScored": "1", "scoreType": "SA"}]))
    assert statuses(replies) == {200: N}, [r.body[:200] for r in replies if r.status != 200][:3]
    assert all(r.json() == {"Success": True, "Count": 1} for r in replies)


# -- proctoru ----------------------------------------------------------------------------------------------------

PU = {"Authorization-Token": "", "Content-Type": "application/x-www-form-urlencoded"}
ADA = {"student_id": "42", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
       "time_zone_id": "Romance Standard Time", "duration": "60", "takeitnow": "N"}


def _proctoru(rig: ServedAll, tenant: str) -> tuple[str, dict[str, str]]:
    from mocks.proctoru.models import DEFAULT_TOKEN

    admin(rig, "proctoru", tenant, "POST", "clock", json={"set": "2026-03-02T09:00:00Z"})
    return rig.urls["proctoru"], {**PU, "Authorization-Token": DEFAULT_TOKEN}


def _pu_call(url: str, tenant: str, headers: dict[str, str], endpoint: str, form: dict[str, str]) -> Any:
    r = requests.post(f"{url}/api/{endpoint}", data=form, headers={**headers, T: tenant, **CLOSE}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _error_counts(replies: list[Reply]) -> list[int]:
    """The ``Error count N of 50`` of each error answer (ProctorU repeats the suffix; each repeat says one N)."""
    counts = []
    for r in replies:
        found = set(re.findall(r"Error count (\d+) of 50", r.json()["message"]))
        assert len(found) == 1, r.json()
        counts.append(int(found.pop()))
    return counts


def test_proctoru_overlapping_bookings_of_one_student_book_once(rig: ServedAll, tenant: str) -> None:
    url, headers = _proctoru(rig, tenant)
    replies = race(rig, "proctoru", tenant, lambda i: prepare(url, "POST", "/api/addAdHocProcess", headers=headers,
                                                              data={**ADA, "reservation_id": f"r-{i}",
                                                                    "start_date": f"2026-03-03T09:{i:02d}:00Z"}))
    assert statuses(replies) == {200: N}
    codes = Counter(r.json()["response_code"] for r in replies)
    assert codes[1] == 1, [r.json() for r in replies][:3]
    losers = [r for r in replies if r.json()["response_code"] != 1]
    assert all(r.json()["message"].startswith("OVERLAP") for r in losers), [r.json() for r in losers][:3]
    # each error answer counts the errors before it and records itself: 19 errors, 19 different counts
    assert sorted(_error_counts(losers)) == list(range(N - 1))
    listed = _pu_call(url, tenant, headers, "getStudentReservationList", {"student_id": "42"})["data"]
    assert len(listed) == 1


def test_proctoru_one_reservation_id_books_once(rig: ServedAll, tenant: str) -> None:
    url, headers = _proctoru(rig, tenant)
    replies = race(rig, "proctoru", tenant, lambda i: prepare(url, "POST", "/api/addAdHocProcess", headers=headers,
                                                              data={**ADA, "student_id": f"s{i}",
                                                                    "reservation_id": "same",
                                                                    "start_date": "2026-03-03T09:00:00Z"}))
    assert statuses(replies) == {200: N}
    assert Counter(r.json()["response_code"] for r in replies)[1] == 1, [r.json() for r in replies][:3]
    losers = [r for r in replies if r.json()["response_code"] != 1]
    assert all(r.json()["message"].startswith("reservation_id_EXIST_FOR_THIS_INSTITUTION") for r in losers)


def test_proctoru_one_reservation_is_cancelled_once(rig: ServedAll, tenant: str) -> None:
    """``removeReservation`` reads the status then cancels (not raced in one process by test_model_races)."""
    url, headers = _proctoru(rig, tenant)
    booked = _pu_call(url, tenant, headers, "addAdHocProcess",
                      {**ADA, "reservation_id": "r-1", "start_date": "2026-03-03T09:00:00Z"})
    assert booked["response_code"] == 1, booked
    number = str(booked["data"]["reservation_no"])
    replies = race(rig, "proctoru", tenant, lambda _: prepare(url, "POST", "/api/removeReservation", headers=headers,
                                                              data={"student_id": "42", "reservation_no": number}))
    assert statuses(replies) == {200: N}
    assert Counter(r.json()["response_code"] for r in replies)[1] == 1, [r.json() for r in replies][:3]
    losers = [r for r in replies if r.json()["response_code"] != 1]
    assert all(r.json()["message"].startswith("Reservation Cancelled.") for r in losers), [r.json() for r in losers]
    assert admin(rig, "proctoru", tenant, "GET", f"state/reservations/{number}")["status"] == "cancelled"


def test_proctoru_one_reservation_is_moved_once(rig: ServedAll, tenant: str) -> None:
    """``moveReservation`` checks the reservation and its overlaps, then renumbers it (not raced in one process by
    test_model_races): one move of one reservation number; the others find that number gone."""
    url, headers = _proctoru(rig, tenant)
    booked = _pu_call(url, tenant, headers, "addAdHocProcess",
                      {**ADA, "reservation_id": "r-1", "start_date": "2026-03-03T09:00:00Z"})
    assert booked["response_code"] == 1, booked
    number = str(booked["data"]["reservation_no"])
    replies = race(rig, "proctoru", tenant, lambda i: prepare(
        url, "POST", "/api/moveReservation", headers=headers,
        data={"reservation_no": number, "start_date": f"2026-03-04T{8 + i // 4:02d}:{i % 4 * 15:02d}:00Z"}))
    assert statuses(replies) == {200: N}
    moved = [r.json() for r in replies if r.json()["response_code"] == 1]
    assert len(moved) == 1, [r.json() for r in replies][:3]
    losers = [r for r in replies if r.json()["response_code"] != 1]
    assert all(r.json()["message"].startswith("Reservation Not found") for r in losers), [r.json() for r in losers]
    listed = _pu_call(url, tenant, headers, "getStudentReservationList", {"student_id": "42"})["data"]
    assert [x["reservation_no"] for x in listed] == [moved[0]["data"]["reservation_no"]]


# -- openam ------------------------------------------------------------------------------------------------------

FORM = {"grant_type": "password", "username": "tis-admin@example.org", "password": "password",
        "client_id": "examrig", "client_secret": "examrig-secret"}


def test_openam_concurrent_issues_give_distinct_working_tokens(rig: ServedAll, tenant: str) -> None:
    url = rig.urls["openam"]
    replies = race(rig, "openam", tenant, lambda _: prepare(url, "POST", "/auth/oauth2/access_token",
                                                            params={"realm": "/sbac"}, data=FORM))
    assert statuses(replies) == {200: N}, [r.body[:200] for r in replies if r.status != 200][:3]
    tokens = {r.json()["access_token"] for r in replies}
    assert len(tokens) == N
    for token in tokens:
        info = get(url, "/auth/oauth2/tokeninfo", tenant, params={"access_token": token})
        assert info.status_code == 200 and info.json()["access_token"] == token, info.text


# -- dw ----------------------------------------------------------------------------------------------------------


def _loader(rig: ServedAll, tenant: str) -> tuple[str, dict[str, str]]:
    """A bearer token of the default loader user (role ASMTDATALOAD) from the co-served openam."""
    r = get(rig.urls["openam"], "/auth/oauth2/access_token", tenant, method="POST", params={"realm": "/sbac"},
            data={**FORM, "username": "dw-loader@example.org"})
    assert r.status_code == 200, r.text
    return rig.urls["dw"], {"Authorization": f"Bearer {r.json()['access_token']}",
                            "Content-Type": "application/xml"}


def _receipts(rig: ServedAll, tenant: str) -> list[dict[str, Any]]:
    receipts: list[dict[str, Any]] = admin(rig, "dw", tenant, "GET", "state/receipts/imports")["receipts"]
    return receipts


def test_rdw_import_of_one_payload_is_recorded_once(rig: ServedAll, tenant: str) -> None:
    url, headers = _loader(rig, tenant)
    body = generate_trt(1, kind="scored")
    replies = race(rig, "dw", tenant, lambda _: prepare(url, "POST", "/exams/imports", data=body, headers=headers))
    assert statuses(replies) == {202: N}, [r.body[:200] for r in replies if r.status != 202][:3]
    assert len({r.json()["id"] for r in replies}) == 1
    assert len(_receipts(rig, tenant)) == 1


def test_rdw_imports_of_one_opportunity_keep_one_exam(rig: ServedAll, tenant: str) -> None:
    url, headers = _loader(rig, tenant)
    base = generate_trt(1, kind="scored")
    # 20 different payloads (a comment apart) of one opportunity: 20 receipts, one exam row
    bodies = [base.replace(b"<TDSReport>", f"<TDSReport><!-- {i} -->".encode(), 1) for i in range(N)]
    replies = race(rig, "dw", tenant, lambda i: prepare(url, "POST", "/exams/imports", data=bodies[i],
                                                        headers=headers))
    assert statuses(replies) == {202: N}, [r.body[:200] for r in replies if r.status != 202][:3]
    assert len({r.json()["id"] for r in replies}) == N
    assert len(_receipts(rig, tenant)) == N
    assert len(admin(rig, "dw", tenant, "GET", "state/exams/all")["exams"]) == 1


def test_dw_one_idempotency_key_applies_once(rig: ServedAll, tenant: str) -> None:
    """The warehouse's ledger: 20 imports with one key, one effect and 19 replays of its answer."""
    url, headers = _loader(rig, tenant)
    body = generate_trt(2, kind="scored")
    replies = race(rig, "dw", tenant, lambda _: prepare(url, "POST", "/exams/imports", data=body,
                                                        headers={**headers, "Idempotency-Key": '"dw-race-1"'}))
    assert statuses(replies) == {202: N}, [r.body[:200] for r in replies if r.status != 202][:3]
    assert Counter(r.headers.get("idempotent-replayed") for r in replies) == {None: 1, "true": N - 1}
    assert len({r.body for r in replies}) == 1  # the replays are the first answer
    assert len(_receipts(rig, tenant)) == 1
