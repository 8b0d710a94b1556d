"""Serving over real HTTP: port 0, connection-level faults on the wire, clean shutdown."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mocks.core.app import Runtime
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
