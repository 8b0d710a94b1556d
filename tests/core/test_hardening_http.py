"""Issue 12: request framing (RFC 9112), slow clients, and the admin door's error shape, on real served mocks."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from werkzeug.test import Client

from mocks import registry
from mocks.core.app import Runtime
from mocks.core.server import Served, bind, start, stop
from mocks.core.settings import Settings
from tests.core.conftest import NotesService


def _serve(name: str, settings: Settings) -> Iterator[Served]:
    runtime = Runtime.create(settings, db="sqlite://")
    app = NotesService(runtime) if name == "notes" else registry.build(name, runtime)
    served = bind(name, app, "127.0.0.1", 0)
    start(served)
    try:
        yield served
    finally:
        stop(served)
        runtime.store.dispose()


@pytest.fixture
def notes() -> Iterator[Served]:
    yield from _serve("notes", Settings(seed=1, max_body=1000))


def exchange(served: Served, raw: bytes, *, timeout: float = 20.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except TimeoutError:
            pass
    return b"".join(chunks)


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_chunked_body_over_max_body_is_413_not_cut(notes: Served) -> None:
    chunk = b"x" * 600
    raw = (b"PUT /notes/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
           + b"%x\r\n%s\r\n" % (len(chunk), chunk) * 2 + b"0\r\n\r\n")
    answer = exchange(notes, raw)
    assert status_of(answer) == 413
    assert requests.get(notes.url + "/notes/k", timeout=10).status_code == 404  # nothing reached the view


def test_a_chunked_body_within_max_body_reaches_the_view(notes: Served) -> None:
    raw = b"PUT /notes/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    assert status_of(exchange(notes, raw)) == 201
    assert requests.get(notes.url + "/notes/k", timeout=10).json()["value"] == "abcde"


def test_an_absurd_chunk_size_is_refused(notes: Served) -> None:
    raw = b"PUT /notes/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nab"
    assert status_of(exchange(notes, raw)) == 413
    bad = b"PUT /notes/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"
    assert status_of(exchange(notes, bad)) == 400


@pytest.mark.parametrize("length", [b"99999999999999999999999999999999", b"1001"])
def test_a_huge_content_length_is_413(notes: Served, length: bytes) -> None:
    raw = b"PUT /notes/k HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\nabc"
    answer = exchange(notes, raw)
    assert status_of(answer) == 413 and b"payload_too_large" in answer


def test_conflicting_content_lengths_are_400_in_process() -> None:
    """cheroot refuses a list itself; the app refuses it behind any server (RFC 9112 section 6.3)."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    app = NotesService(Runtime.create(Settings(seed=1), db="sqlite://"))
    for value in ("3, 4", "３", "-1", "0x3"):
        environ = EnvironBuilder(path="/notes/k", method="PUT", data=b"abc").get_environ()
        environ["CONTENT_LENGTH"] = value
        _, status, _ = run_wsgi_app(app, environ)
        assert status.startswith("400"), value


def test_conflicting_content_lengths_on_the_wire(notes: Served) -> None:
    raw = b"PUT /notes/k HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"
    assert status_of(exchange(notes, raw)) == 400
    assert requests.get(notes.url + "/notes/k", timeout=10).status_code == 404


def test_slow_clients_do_not_make_a_mock_unreachable() -> None:
    """Three connections declaring 100,000 bytes and sending one byte now and then (the issue's case, with
    shorter intervals): health still answers while they dribble, and each gets a 408 at the deadline."""
    serving = _serve("tds", Settings(seed=1, body_timeout=3.0))
    served = next(serving)
    answers: list[bytes] = []
    try:
        def dribble() -> None:
            with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
                sock.sendall(b"POST /student/TIS/API/tisReply HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                got = b""
                sock.settimeout(0.5)
                for _ in range(60):  # at most 30 s, far past the deadline
                    try:
                        sock.sendall(b" ")
                        data = sock.recv(65536)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    got += data
                answers.append(got)

        threads = [threading.Thread(target=dribble) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # all three are holding a request open now
        health = requests.get(served.url + "/_examrig/health", timeout=20)
        assert health.status_code == 200
        for t in threads:
            t.join(timeout=60)
        assert len(answers) == 3
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers
        assert requests.get(served.url + "/_examrig/health", timeout=20).status_code == 200
    finally:
        serving.close()


# -- the admin door answers in examrig's shape, whatever the service's own format -----------------------

@pytest.mark.parametrize("service", sorted(registry.ORDER))
def test_admin_door_errors_are_examrig_json(service: str) -> None:
    app = registry.build(service, Runtime.create(Settings(seed=1, max_body=100), db="sqlite://"))
    client = Client(app)
    cases = [
        client.delete("/_examrig/health"),  # 405
        client.get("/_examrig/nothing-here"),  # 404
        client.get("/_examrig/health", headers={"X-Examrig-Tenant": "bad tenant!"}),  # bad tenant
        client.post("/_examrig/seed", data=b"[" * 200, content_type="application/json"),  # 413
    ]
    statuses = [r.status_code for r in cases]
    assert statuses == [405, 404, 400, 413]
    for response in cases:
        assert response.mimetype == "application/json"
        error = json.loads(response.get_data())["error"]
        assert error["status"] == response.status_code and error["code"] and error["message"]
    app.stop()


def test_admin_door_500_is_examrig_json(monkeypatch: pytest.MonkeyPatch) -> None:
    import mocks.core.admin as admin

    app = registry.build("tis", Runtime.create(Settings(seed=1), db="sqlite://"))
    monkeypatch.setitem(admin._HANDLERS, "version", lambda app, ctx: 1 / 0)
    response = Client(app).get("/_examrig/version")
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
    app.stop()


# -- integers, dates and clocks at the boundary ---------------------------------------------------------

@pytest.mark.parametrize("body", [{"advance": 1e20}, {"advance": 1e300}, {"set": "9999-12-31T23:59:59Z"},
                                  {"set": "0001-01-01T00:00:00Z"}, {"set": "2024-01-01T00:00:00Z", "advance": 1e20}])
def test_clock_out_of_range_is_400_and_changes_nothing(body: dict[str, object]) -> None:
    app = registry.build("tds", Runtime.create(Settings(seed=1), db="sqlite://"))
    client = Client(app)
    before = client.get("/_examrig/clock").get_json()
    response = client.post("/_examrig/clock", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] in body
    after = client.get("/_examrig/clock").get_json()
    assert after["frozen"] == before["frozen"]
    app.stop()


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_clock_advance_by_a_non_number_is_400(text: str) -> None:
    app = registry.build("tds", Runtime.create(Settings(seed=1), db="sqlite://"))
    response = Client(app).post("/_examrig/clock", data=f'{{"advance": {text}}}', content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "advance"
    app.stop()


@pytest.mark.parametrize(("service", "path"), [("tis", "/_examrig/state/files/²"), ("dw", "/_examrig/state/receipts/²"),
                                               ("deliveryodata", "/_examrig/state/attempts/400449/²"),
                                               ("tis", "/_examrig/state/files/99999999999999999999999")])
def test_unicode_digits_and_huge_keys_in_state_are_404(service: str, path: str) -> None:
    app = registry.build(service, Runtime.create(Settings(seed=1), db="sqlite://"))
    response = Client(app).get(path)
    assert response.status_code == 404 and "error" in response.get_json()
    app.stop()


@pytest.mark.parametrize("path", ["/exams/imports/99999999999999999999", "/exams/imports/²"])
def test_int_route_values_beyond_int64_are_no_match(path: str) -> None:
    app = registry.build("dw", Runtime.create(Settings(seed=1), db="sqlite://"))
    assert Client(app).get(path).status_code == 404
    app.stop()


def test_deliveryodata_keys_beyond_int64_are_refused_in_the_converter() -> None:
    import base64
    app = registry.build("deliveryodata", Runtime.create(Settings(seed=1), db="sqlite://"))
    auth = {"Authorization": "Basic " + base64.b64encode(b"examrig:examrig").decode()}
    for key in ("9999999999999999999", "9223372036854775808L"):
        response = Client(app).get(f"/deliveryodata/400449/Results({key})", headers=auth)
        assert response.status_code == 404 and "odata.error" in response.get_json()
    app.stop()
