"""Serving over real HTTP: port 0, connection-level faults on the wire, clean shutdown."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.routing import Rule

from mocks.core.app import Ctx, Runtime, View
from mocks.core.render import json_response
from mocks.core.server import Served, ServeError, bind, start, stop
from mocks.core.settings import Settings
from tests.core.conftest import NotesService


@pytest.fixture
def served() -> Iterator[Served]:
    runtime = Runtime.create(Settings(seed=1), db="sqlite://")
    s = bind("notes", NotesService(runtime), "127.0.0.1", 0)
    start(s)
    yield s
    stop(s)
    runtime.store.dispose()


def test_port_zero_binds_a_free_port_and_serves(served: Served) -> None:
    assert served.port > 0 and served.url == f"http://127.0.0.1:{served.port}"
    assert requests.put(served.url + "/notes/k", data="v", timeout=5).status_code == 201
    assert requests.get(served.url + "/notes/k", timeout=5).json() == {"key": "k", "value": "v"}
    assert requests.get(served.url + "/_examrig/health", timeout=5).json()["status"] == "ok"


def test_reset_fault_resets_the_tcp_connection(served: Served) -> None:
    served.app.faults.add({"kind": "reset", "route": "get"}, tenant="f")
    with pytest.raises(requests.ConnectionError):
        requests.get(served.url + "/notes/k", headers={"X-Examrig-Tenant": "f"}, timeout=5)
    # the server is still healthy afterwards
    assert requests.get(served.url + "/_examrig/health", timeout=5).status_code == 200


def test_truncate_fault_is_an_incomplete_read_not_a_hang(served: Served) -> None:
    requests.put(served.url + "/notes/k", data="x" * 100, headers={"X-Examrig-Tenant": "f"}, timeout=5)
    served.app.faults.add({"kind": "truncate", "route": "get", "fraction": 0.5}, tenant="f")
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
    conn.request("GET", "/notes/k", headers={"X-Examrig-Tenant": "f"})
    response = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    conn.close()


def test_port_in_use_is_a_one_line_error(served: Served) -> None:
    with pytest.raises(ServeError, match=f"port {served.port} on 127.0.0.1 is already in use"):
        bind("again", served.app, "127.0.0.1", served.port)


def test_unknown_host_is_a_one_line_error(served: Served) -> None:
    with pytest.raises(ServeError, match="cannot serve x"):
        bind("x", served.app, "203.0.113.254", 0)


def test_debug_server_binds_too() -> None:
    runtime = Runtime.create(Settings(), db="sqlite://")
    s = bind("notes", NotesService(runtime), "127.0.0.1", 0, debug=True)
    start(s)
    try:
        assert s.kind == "werkzeug-dev"
        assert requests.get(s.url + "/_examrig/version", timeout=5).json()["service"] == "notes"
    finally:
        stop(s)


def test_free_port_helper_sanity() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        assert sock.getsockname()[1] > 0


def test_https_with_a_self_signed_certificate(tmp_path: Path) -> None:
    from mocks.core.tls import self_signed
    cert, key = self_signed(tmp_path)
    again = self_signed(tmp_path)
    assert again == (cert, key) and cert.read_bytes() == again[0].read_bytes()  # reused, not remade
    runtime = Runtime.create(Settings(), db="sqlite://")
    s = bind("notes", NotesService(runtime), "127.0.0.1", 0, tls=(str(cert), str(key)))
    start(s)
    try:
        assert s.url.startswith("https://127.0.0.1:")
        assert requests.get(s.url + "/_examrig/health", verify=str(cert), timeout=10).json()["status"] == "ok"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(s.url + "/_examrig/health", timeout=10)  # untrusted without the certificate
    finally:
        stop(s)


class _Waiting(NotesService):
    """NotesService with a route whose requests wait (parked) until the test lets them go."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.release = threading.Event()
        self.waiting = 0
        self._count = threading.Lock()

    def routes(self) -> list[tuple[Rule, View]]:
        return [*super().routes(), (Rule("/wait", endpoint="wait", methods=["GET"]), self.wait)]

    def wait(self, ctx: Ctx) -> Any:
        with self._count:
            self.waiting += 1
        with self.parked():
            self.release.wait(30)
        return json_response({"released": self.release.is_set()})


def test_waiting_requests_do_not_take_the_base_threads_away() -> None:
    # a base of 2 working threads and 6 requests parked on a wait: the others are still served,
    # and once the waits end the pool goes back to its base
    runtime = Runtime.create(Settings(seed=1), db="sqlite://")
    app = _Waiting(runtime)
    s = bind("waiting", app, "127.0.0.1", 0, threads=2)
    start(s)
    pool = s.server.requests
    try:
        with ThreadPoolExecutor(max_workers=6) as executor:
            waits = [executor.submit(requests.get, s.url + "/wait", timeout=60) for _ in range(6)]
            deadline = time.monotonic() + 30
            while app.waiting < 6 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert app.waiting == 6  # all six are inside the view, each on its own thread
            while sum(t.is_alive() for t in pool._threads) < 2 + 6 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert sum(t.is_alive() for t in pool._threads) == 2 + 6  # a spare for every waiting thread
            # without parking both base threads would be stuck: these would wait for the release
            assert requests.put(s.url + "/notes/k", data="v", timeout=10).status_code == 201
            assert requests.get(s.url + "/notes/k", timeout=10).json() == {"key": "k", "value": "v"}
            app.release.set()
            assert [w.result().json() for w in waits] == [{"released": True}] * 6
        deadline = time.monotonic() + 30
        while sum(t.is_alive() for t in pool._threads) > 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sum(t.is_alive() for t in pool._threads) == 2
        assert requests.get(s.url + "/notes/k", timeout=10).status_code == 200
    finally:
        app.release.set()
        stop(s)
        runtime.store.dispose()


def test_a_latency_fault_parks_its_thread() -> None:
    runtime = Runtime.create(Settings(seed=1), db="sqlite://")
    app = NotesService(runtime)
    s = bind("slow", app, "127.0.0.1", 0, threads=1)
    start(s)
    try:
        app.faults.add({"kind": "latency", "route": "get", "distribution": "fixed", "ms": 2000}, tenant="slow")
        with ThreadPoolExecutor(max_workers=1) as executor:
            slow = executor.submit(requests.get, s.url + "/notes/k", headers={"X-Examrig-Tenant": "slow"}, timeout=60)
            deadline = time.monotonic() + 30
            while s.app.parking.parked == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert s.app.parking.parked == 1
            # the only base thread sleeps in the fault; a spare is started to serve the others
            while sum(t.is_alive() for t in s.server.requests._threads) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert sum(t.is_alive() for t in s.server.requests._threads) == 2
            assert requests.get(s.url + "/_examrig/health", timeout=10).status_code == 200
            assert slow.result().status_code == 404
    finally:
        stop(s)
        runtime.store.dispose()


def test_a_chunked_request_body_is_read_over_http(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"chun"
        yield b"ked"

    response = requests.put(served.url + "/notes/c", data=chunks(), timeout=5)  # Transfer-Encoding: chunked
    assert response.status_code == 201, response.text
    assert requests.get(served.url + "/notes/c", timeout=5).json() == {"key": "c", "value": "chunked"}


def test_only_long_waits_of_the_servers_own_workers_cost_a_thread(served: Served) -> None:
    from mocks.core.server import ElasticPool

    pool: ElasticPool = served.app.parking
    assert pool.park() is False  # the test's own thread is no worker of this server: nothing counted
    assert pool.parked == 0
    before = sum(t.is_alive() for t in served.server.requests._threads)
    for _ in range(20):  # a peer answering in a few ms: a park shorter than the watcher's patience
        assert requests.get(served.url + "/_examrig/health", timeout=5).status_code == 200
    assert pool.spares == 0 and sum(t.is_alive() for t in served.server.requests._threads) == before


def test_an_outbound_call_from_a_request_parks_its_thread() -> None:
    runtime = Runtime.create(Settings(seed=1), db="sqlite://")
    app = _Waiting(runtime)
    peer = bind("peer", app, "127.0.0.1", 0, threads=2)
    caller_app = NotesService(runtime)
    caller = bind("caller", caller_app, "127.0.0.1", 0, threads=1)
    seen: list[int] = []

    def call_peer(ctx: Ctx, key: str) -> Any:
        response = caller_app.outbound.request("GET", peer.url + "/wait", tenant=ctx.tenant, peer="peer")
        return json_response({"peer": response.status_code})

    caller_app.views["get"] = call_peer  # GET /notes/<key> now calls the peer and waits for it
    for s in (peer, caller):
        start(s)
    try:
        with ThreadPoolExecutor(max_workers=1) as executor:
            waiting = executor.submit(lambda: requests.get(caller.url + "/notes/x", timeout=60))
            deadline = time.monotonic() + 30
            while (caller_app.parking.parked == 0 or caller_app.parking.spares == 0) and time.monotonic() < deadline:
                time.sleep(0.01)
            seen.append(caller_app.parking.parked)
            # the caller's only base thread waits on its peer; a spare answers meanwhile
            assert requests.get(caller.url + "/_examrig/health", timeout=10).status_code == 200
            app.release.set()
            assert waiting.result().json() == {"peer": 200}
        assert seen == [1]
    finally:
        app.release.set()
        for s in (caller, peer):
            stop(s)
        runtime.store.dispose()
