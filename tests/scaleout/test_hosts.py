"""Several hosts over one PostgreSQL, for real: network namespaces as hosts (docs/scale-out.md, "Tried on several
hosts").

One bridge, six namespaces (:mod:`tests.scaleout.netns`), each with its own loopback, address and host name:

- ``db``: a throwaway PostgreSQL cluster of this test (``EXAMRIG_PG_LISTEN=<db address> scripts/pg start``, run
  as the ``postgres`` user), reached by everyone else over the bridge;
- ``a`` and ``b``: each runs the documented command, ``examrig serve --config examrig.toml``, with the same file
  (``db`` on the cluster, ``shared_control = true``, ``host = "0.0.0.0"``, ``processes = 2``; host ``b``
  overrides it with ``EXAMRIG_PROCESSES=1``, so one host is pre-forked and the other is not). ``[topology]``
  names one of the two hosts for each mock, standing in for the load balancer of the docs, so TIS's calls to
  tds, dw and openam cross hosts;
- ``c``: ``examrig worker tis --config examrig.toml``, a third TIS processor;
- ``lm`` and ``lw``: locust's master and its worker (``examrig load smoke --master`` / ``--worker``).

The test process (the root namespace, on the bridge too) is the client: every request crosses a veth pair. It
needs root for the namespaces: skipped without, failed under ``CI=true``; a PostgreSQL that cannot start likewise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from contracts.generate import generate_testpackage, generate_trt
from features.steps.deliveryodata import AUTH, CUSTOMER, STANDARD_SEED, _lobby
from tests.core.test_metrics import parse, requests_by
from tests.load.conftest import _require_locust, summary_path
from tests.load.conftest import env as load_env
from tests.load.test_load import _csv, _total, _valid
from tests.scaleout.netns import Network, network, require_netns
from tests.tis.conftest import opp_key

ROOT = Path(__file__).resolve().parents[2]
# postgresql: tox's py-pg env runs it (py deselects the marker); one xdist group, so that under -n 2 --dist loadgroup
# (py-pg) every test of the module goes to one worker and the hosts are set up once
pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.xdist_group("hosts")]
T = "X-Examrig-Tenant"
SERVICES = ("deliveryodata", "proctoru", "tis", "thss", "tds", "dw", "openam")
PORTS = {name: 8600 + i for i, name in enumerate(SERVICES)}  # the default port layout, the same on every host
#: the host that stands for each mock's load balancer in [topology]
TOPOLOGY_HOST = {"deliveryodata": "a", "proctoru": "b", "tis": "a", "thss": "b", "tds": "b", "dw": "b", "openam": "a"}
READY_S = 180.0  # generous: interpreters importing every mock on a loaded 2-core machine


def _clean(env: dict[str, str]) -> dict[str, str]:
    """``env`` without the caller's ``EXAMRIG_*`` settings (py-pg's ``EXAMRIG_TEST_DB``, a reader's ``EXAMRIG_DB``):
    the hosts take theirs from examrig.toml only."""
    return {k: v for k, v in env.items() if not k.startswith("EXAMRIG_")}


def _env(**extra: str) -> dict[str, str]:
    return {**_clean(dict(os.environ)), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **extra}


def wait_for(predicate: Callable[[], Any], what: str | Callable[[], str], timeout: float = READY_S) -> Any:
    """Poll ``predicate`` until it returns something true; that value. Never an assertion by itself: the
    assertions come after, on what it waited for. ``what`` (or what it returns) names it on a timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except requests.RequestException:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            named = what if isinstance(what, str) else what()
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {named}")
        time.sleep(0.1)


@dataclass
class Proc:
    """A child started in a namespace; its output collected by a thread (never a full pipe)."""

    name: str
    popen: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, name: str, argv: list[str], cwd: Path, env: dict[str, str]) -> Proc:
        popen = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        proc = cls(name, popen)
        threading.Thread(target=lambda: proc.lines.extend(popen.stdout or []), daemon=True).start()
        return proc

    def output(self) -> str:
        return "".join(self.lines)[-3000:]

    def terminate(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def stop(self) -> int | None:
        self.terminate()
        try:
            return self.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait()


@dataclass
class Deployment:
    """The network, the hosts' base URLs and what runs where."""

    net: Network
    db: str
    work: Path
    procs: dict[str, Proc]

    def url(self, host: str, service: str) -> str:
        return f"http://{self.net[host].address}:{PORTS[service]}"


def config(db: str, net: Network) -> str:
    """examrig.toml, the same on every host: docs/scale-out.md's, with this network's addresses."""
    topology = "\n".join(f'{name} = "http://{net[host].address}:{PORTS[name]}"' for name, host in TOPOLOGY_HOST.items())
    return f"""[examrig]
db = "{db}"
host = "0.0.0.0"
shared_control = true
control_poll_ms = 100
processes = 2

[topology]
{topology}
"""


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def _leases(db: str) -> set[str]:
    """The hosts of the TIS processors that hold a lease in the database."""
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return {str(h) for h in conn.execute(text("SELECT host FROM tis_worker")).scalars()}
    finally:
        engine.dispose()


def _serving(deployment: Deployment, host: str) -> None:
    """Wait until every mock answers on ``host``'s address (from the root namespace: across the bridge)."""
    proc = deployment.procs[host]
    for name in SERVICES:
        url = deployment.url(host, name)
        wait_for(lambda: requests.get(f"{url}/_examrig/health", timeout=5).status_code == 200,  # noqa: B023
                 lambda: f"{name} on host {host} (exit {proc.popen.poll()}): {proc.output()}")  # noqa: B023


@pytest.fixture(scope="module")
def hosts() -> Iterator[Deployment]:
    require_netns()
    work = Path(tempfile.mkdtemp(prefix="examrig-hosts-"))
    work.chmod(0o755)  # the cluster runs as `postgres`, which must reach its directory inside
    cluster = work / "pg"
    try:
        with network(["db", "a", "b", "c", "lm", "lw"]) as net:
            started = subprocess.run(net["db"].argv("env", f"EXAMRIG_PG_LISTEN={net['db'].address}",
                                                    str(ROOT / "scripts" / "pg"), "start", str(cluster)),
                                     capture_output=True, text=True, timeout=180)
            procs: dict[str, Proc] = {}
            try:
                if started.returncode != 0:
                    _pg_unavailable(f"PostgreSQL could not start (scripts/pg exit {started.returncode}): "
                                    f"{started.stderr.strip()[-500:]}")
                made = subprocess.run([str(ROOT / "scripts" / "pg"), "createdb", str(cluster), "examrig"],
                                      capture_output=True, text=True, timeout=60, check=True)
                db = made.stdout.strip().splitlines()[-1]
                toml = config(db, net)
                for name in ("a", "b", "c"):
                    (work / name).mkdir()
                    (work / name / "examrig.toml").write_text(toml)
                serve = [sys.executable, "-m", "conformance.cli", "serve", "--config", "examrig.toml"]
                # host a first: it creates the tables (docs/scale-out.md: before several hosts start together)
                procs["a"] = Proc.start("a", net["a"].argv(*serve), work / "a", _env())
                deployment = Deployment(net, db, work, procs)
                _serving(deployment, "a")
                procs["b"] = Proc.start("b", net["b"].argv(*serve), work / "b", _env(EXAMRIG_PROCESSES="1"))
                procs["c"] = Proc.start("c", net["c"].argv(sys.executable, "-m", "conformance.cli", "worker", "tis",
                                                           "--config", "examrig.toml"), work / "c", _env())
                _serving(deployment, "b")
                wait_for(lambda: "worker running" in procs["c"].output() and _leases(db) >= {net["c"].ns},
                         lambda: f"the worker on host c to hold a lease: {procs['c'].output()}")
                yield deployment
            finally:
                for proc in procs.values():
                    proc.terminate()  # all at once: each host stops in parallel, as separate machines would
                for proc in procs.values():
                    proc.stop()
                subprocess.run([str(ROOT / "scripts" / "pg"), "stop", str(cluster)], capture_output=True, timeout=60)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def call(url: str, path: str, tenant: str, method: str = "GET", **kwargs: Any) -> requests.Response:
    headers = {T: tenant, "Connection": "close", **kwargs.pop("headers", {})}
    return requests.request(method, url + path, headers=headers, timeout=60, **kwargs)


def _attempt(url: str, tenant: str, external: str) -> int:
    body = {"ExternalAttemptID": external, "ParticipantID": 987654321, "AssessmentID": "1234567890876543",
            "LockRequired": True, "LockStatus": True}
    created = call(url, f"/deliveryodata/{CUSTOMER}/Attempts", tenant, "POST", data=json.dumps(body),
                   headers={**AUTH, "Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    return int(created.json()["ID"])


def _process(url: str) -> str:
    return str(call(url, "/_examrig/health", "default").json()["process"])


def test_the_hosts_are_separate_hosts(hosts: Deployment) -> None:
    """Each host's mocks answer on its own address, from processes of its own host name: two on host a
    (``processes = 2``; new connections reach both), one on host b. (Each health call is a journal barrier
    across the hosts, up to ``control_poll_ms``: a few of them.)"""
    a: set[str] = set()
    for _ in range(40):
        a.add(_process(hosts.url("a", "tds")))
        if len(a) == 2:
            break
    b = {_process(hosts.url("b", "tds")) for _ in range(6)}
    assert {p.split(":")[0] for p in a} == {hosts.net["a"].ns} and len(a) == 2, a
    assert {p.split(":")[0] for p in b} == {hosts.net["b"].ns} and len(b) == 1, b


def test_an_attempt_created_on_a_reads_back_on_b(hosts: Deployment) -> None:
    tenant = f"attempt-{time.monotonic_ns()}"
    a, b = hosts.url("a", "deliveryodata"), hosts.url("b", "deliveryodata")
    assert call(a, "/_examrig/seed", tenant, "POST", json=STANDARD_SEED).status_code == 201
    attempt = _attempt(a, tenant, "across-1")
    read = call(b, f"/deliveryodata/{CUSTOMER}/Attempts({attempt})", tenant, headers=AUTH)
    assert read.status_code == 200, read.text
    assert read.json()["ExternalAttemptID"] == "across-1"
    again = call(b, f"/deliveryodata/{CUSTOMER}/Attempts", tenant, "POST", headers={**AUTH, "Content-Type":
                 "application/json"}, data=json.dumps({"ExternalAttemptID": "across-1", "ParticipantID": 987654321,
                                                       "AssessmentID": "1234567890876543"}))
    assert again.status_code == 409, again.text  # the ExternalAttemptID taken on host a is taken on host b


def test_a_lobby_url_minted_on_a_is_used_once_on_b(hosts: Deployment) -> None:
    tenant = f"lobby-{time.monotonic_ns()}"
    a, b = hosts.url("a", "deliveryodata"), hosts.url("b", "deliveryodata")
    assert call(a, "/_examrig/seed", tenant, "POST", json=STANDARD_SEED).status_code == 201
    attempt = _attempt(a, tenant, "lobby-1")
    entity = call(a, f"/deliveryodata/{CUSTOMER}/Attempts({attempt})", tenant, headers=AUTH).json()
    lobby = _lobby({"lobby_url": entity["ParticipantFacingQMLobbyUrl"]})
    assert lobby.startswith(a + "/"), lobby  # minted by host a, for host a
    path = lobby[len(a):]
    used = call(b, path, tenant)
    assert used.status_code == 200, used.text
    for again in (call(b, path, tenant), call(a, path, tenant)):
        assert again.status_code == 403 and again.json()["error"]["code"] == "link_used", again.text


def test_a_fault_added_through_a_applies_to_b_and_its_count_is_shared(hosts: Deployment) -> None:
    tenant = f"fault-{time.monotonic_ns()}"
    a, b = hosts.url("a", "tds"), hosts.url("b", "tds")
    assert call(b, "/tis", tenant, "POST").status_code == 415  # the ERT callback without a body: no fault yet
    added = call(a, "/_examrig/faults", tenant, "POST", json={"kind": "status", "status": 418, "route": "ertCallback"})
    assert added.status_code == 201, added.text
    rule = added.json()["faults"][0]["id"]
    assert [r["id"] for r in call(b, "/_examrig/faults", tenant).json()["faults"]] == [rule]
    # host b's request path learns of the change within control_poll_ms (100 ms; docs/scale-out.md): waited for
    # generously here, the machine being loaded; then every request it serves is faulted
    waited: list[int] = []

    def faulted_on_b() -> bool:
        waited.append(call(b, "/tis", tenant, "POST").status_code)
        return waited[-1] == 418

    wait_for(faulted_on_b, "host b to apply the rule added through host a", timeout=30)
    assert set(waited) <= {415, 418}, waited
    statuses = [call(b, "/tis", tenant, "POST").status_code for _ in range(5)]
    assert statuses == [418] * 5
    applied = call(a, "/_examrig/faults", tenant).json()["faults"][0]["applied"]
    assert applied == waited.count(418) + 5  # host b's applications, counted in the row host a reads
    assert call(b, f"/_examrig/faults/{rule}", tenant, "DELETE").status_code in (200, 204)
    assert call(a, "/_examrig/faults", tenant).json()["faults"] == []
    wait_for(lambda: call(a, "/tis", tenant, "POST").status_code == 415,
             "host a to stop applying the rule removed through host b", timeout=30)


def test_the_journal_read_through_b_shows_as_exchanges_in_order(hosts: Deployment) -> None:
    tenant = f"journal-{time.monotonic_ns()}"
    a, b = hosts.url("a", "tds"), hosts.url("b", "tds")
    since = call(b, "/_examrig/health", tenant).json()["journal"]["next_seq"]
    for i in range(8):
        call(a if i % 2 == 0 else b, f"/tis?n={i}", tenant, "POST")
    window = call(b, f"/_examrig/journal?since={since}", tenant).json()
    assert [e["url"].rsplit("?", 1)[1] for e in window["entries"]] == [f"n={i}" for i in range(8)], window
    assert window["overflow"] is False
    hosts_seen = {e["url"].split("/")[2] for e in window["entries"]}
    assert hosts_seen == {a.split("/")[2], b.split("/")[2]}, hosts_seen  # both hosts' exchanges, one order


def test_trts_posted_on_either_host_are_each_processed_once_and_acknowledged_at_tds(hosts: Deployment) -> None:
    """Three TIS processors compete (a worker in host a's processes, one in host b's, ``examrig worker tis`` on host
    c): each TRT is archived once, planned once, sent to dw once and acknowledged at tds once."""
    tenant = "default"  # TIS's callbacks to tds carry no tenant of the caller's
    package = generate_testpackage(41, items=6, hand_scored=False)
    trts = [generate_trt(700 + i, package=package, items=6) for i in range(6)]
    keys = [opp_key(t) for t in trts]
    seeded = call(hosts.url("b", "tds"), "/_examrig/seed", tenant, "POST",
                  json={"opportunities": [{"oppKey": k, "status": "submitted"} for k in keys]})
    assert seeded.status_code in (200, 201), seeded.text
    assert call(hosts.url("a", "tis"), "/api/testpackage", tenant, "POST", data=package).status_code == 201
    for i, trt in enumerate(trts):
        # posted on host a and host b in turn, each acknowledged at the other host's tds
        to, callback = ("a", "b") if i % 2 == 0 else ("b", "a")
        posted = call(hosts.url(to, "tis"), "/api/testresult", tenant, "POST", data=trt,
                      headers={"Content-Type": "application/xml"},
                      params={"statusCallback": f"{hosts.url(callback, 'tds')}/student/TIS/API/tisReply"})
        assert posted.status_code == 200, posted.text

    def opportunity(key: str) -> dict[str, Any]:
        state: dict[str, Any] = call(hosts.url("a", "tds"), f"/_examrig/state/opportunities/{key}", tenant).json()
        return state

    wait_for(lambda: all(opportunity(k).get("status") == "reported" for k in keys), "every TRT reported at tds", 120)
    receipts = call(hosts.url("a", "dw"), "/_examrig/state/receipts/all", tenant).json()["receipts"]
    assert Counter(str(r["oppKey"]).lower() for r in receipts) == Counter(keys), receipts
    for key in keys:
        audit = opportunity(key)["audit"]
        assert [a["accessType"] for a in audit if a["source"] == "tisReply"] == ["reported"], (key, audit)
        tis = call(hosts.url("b", "tis"), f"/_examrig/state/opportunities/{key}", tenant).json()
        assert Counter(f["location"] for f in tis["files"]) == Counter({"archive": 1, "destination": 1}), tis["files"]
        assert sorted((s["kind"], s["state"]) for s in tis["sends"]) == [("ack", "sent"), ("dw", "sent")], tis["sends"]
    engine = create_engine(hosts.db)
    try:
        with engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM xmlrepository WHERE location IN "
                                     "('source', 'processing', 'staged')")).scalar_one()
    finally:
        engine.dispose()
    assert left == 0  # no file left behind
    # three processors hold leases, one on each host (host a's in one of its two processes), on the one database
    assert _leases(hosts.db) == {hosts.net[h].ns for h in ("a", "b", "c")}


def _scrape(url: str) -> dict[tuple[str, str], float]:
    return requests_by(parse(requests.get(f"{url}/_examrig/metrics", timeout=60).text), "openam")


def test_metrics_from_either_host_sum_both_hosts_traffic(hosts: Deployment) -> None:
    a, b = hosts.url("a", "openam"), hosts.url("b", "openam")
    before = {name: _scrape(url) for name, url in (("a", a), ("b", b))}
    for i in range(7):
        call(a, f"/no/such/path/{i}", "metrics")
    for i in range(5):
        call(b, f"/no/such/path/{i}", "metrics")
    after = {name: _scrape(url) for name, url in (("a", a), ("b", b))}
    for name in ("a", "b"):
        grew = after[name].get(("unmatched", "404"), 0) - before[name].get(("unmatched", "404"), 0)
        assert grew == 12, (name, before[name], after[name])
    assert after["a"] == after["b"]


def test_locust_master_and_worker_on_two_more_hosts_drive_both(hosts: Deployment) -> None:
    """``examrig load smoke --master`` on host lm, its worker on host lw, every target both hosts' URLs."""
    _require_locust()
    reports = hosts.work / "reports"
    targets: list[str] = []
    for name in SERVICES:
        targets += ["--target", f"{name}={hosts.url('a', name)},{hosts.url('b', name)}"]
    load = [sys.executable, "-m", "conformance.cli", "load", "smoke"]
    master = subprocess.Popen(
        hosts.net["lm"].argv(*load, "--master", "--expect-workers", "1", *targets, "--shape", "none",
                             "--duration", "6s", "--tenant", "hosts-load", "--report-dir", str(reports)),
        cwd=hosts.work, env=_clean(load_env()), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    worker = subprocess.Popen(hosts.net["lw"].argv(*load, "--worker", "--master-host", hosts.net["lm"].address),
                              cwd=hosts.work, env=_clean(load_env()), text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        out, err = master.communicate(timeout=240)
        worker_out = worker.communicate(timeout=120)
    finally:
        for p in (master, worker):
            if p.poll() is None:
                p.kill()
    assert master.returncode == 0, out[-3000:] + err[-3000:]
    assert worker.returncode == 0, worker_out
    summary = json.loads(summary_path(out).read_text())
    _valid(summary)
    assert summary["options"]["master"] is True and summary["options"]["workers"] == 1
    assert summary["served_by_examrig"] == [] and summary["complete"] and summary["verdict"] == "met"
    total = _total(summary)
    entries = summary["requests"][:-1]
    assert total["requests"] == sum(r["requests"] for r in entries) > 20
    assert total["failures"] == sum(r["failures"] for r in entries) == 0
    stats = {f"{r['Type']} {r['Name']}": r for r in _csv(summary["reports"]["csv_stats"])}
    assert int(stats[" Aggregated"]["Request Count"]) == total["requests"]
    # each host's scrape is the whole mock's: both views of deliveryodata agree, and cover what locust sent it
    views = {url: {route: n for route, n in summary["mocks"][f"deliveryodata {url}"]["requests"].items()
                   if not route.startswith("admin:")}  # the scrapes' own health calls differ
             for url in (hosts.url("a", "deliveryodata"), hosts.url("b", "deliveryodata"))}
    first, second = views.values()
    assert first == second, views
    attempts = next(r["requests"] for r in entries if (r["method"], r["name"]) == ("POST", "Attempts"))
    assert sum(first.get("collection", {}).values()) >= attempts > 0, (first, attempts)
