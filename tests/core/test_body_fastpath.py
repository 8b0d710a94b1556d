"""A request body that came with its head is read from memory: no deadline armed, no thread parked; any other
body is still read under the deadline with its thread parked (mocks.core.app ServiceApp._read_body)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import mocks.core.app as core_app
from mocks.core.app import Runtime
from mocks.core.server import Served, bind, start, stop
from mocks.core.settings import Settings
from tests.core.conftest import NotesService


class Spy:
    """Counts the calls of the deadline watchdog's ``arm`` and the pool's ``park`` while passing them on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, served: Served) -> None:
        self.armed = 0
        self.parked = 0
        arm, park = core_app._WATCHDOG.arm, served.app.parking.park

        def counting_arm(*args: Any) -> Any:
            self.armed += 1
            return arm(*args)

        def counting_park() -> bool:
            self.parked += 1
            return bool(park())

        monkeypatch.setattr(core_app._WATCHDOG, "arm", counting_arm)
        monkeypatch.setattr(served.app.parking, "park", counting_park)


@pytest.fixture
def served() -> Iterator[Served]:
    runtime = Runtime.create(Settings(seed=1, body_timeout=30.0), db="sqlite://")
    app = NotesService(runtime)
    serving = bind("notes", app, "127.0.0.1", 0, threads=2)
    start(serving)
    try:
        yield serving
    finally:
        stop(serving)
        runtime.store.dispose()


def _put(key: str, value: bytes) -> tuple[bytes, bytes]:
    head = (f"PUT /notes/{key} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(value)}\r\n\r\n").encode()
    return head, value


def _read_answers(sock: socket.socket, count: int) -> list[bytes]:
    """``count`` responses read off ``sock`` (each with its Content-Length)."""
    reader = sock.makefile("rb")
    answers = []
    for _ in range(count):
        lines = [reader.readline()]
        length = 0
        while lines[-1] not in (b"\r\n", b""):
            lines.append(reader.readline())
            if lines[-1].lower().startswith(b"content-length:"):
                length = int(lines[-1].split(b":")[1])
        answers.append(b"".join(lines) + reader.read(length))
    reader.close()
    return answers


def test_a_body_sent_with_its_head_is_read_without_deadline_or_parking(served: Served,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch, served)
    head, body = _put("k", b"x" * 500)
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall(head + body)  # one write, as wrk and curl send a small request
        (answer,) = _read_answers(sock, 1)
    assert answer.startswith(b"HTTP/1.1 201")
    assert requests.get(served.url + "/notes/k", timeout=30).json()["value"] == "x" * 500
    assert (spy.armed, spy.parked) == (0, 0)


def test_pipelined_requests_each_get_their_own_body(served: Served) -> None:
    """The read from memory stops at the Content-Length: the next request's bytes stay the server's."""
    first, second = _put("a", b"first"), _put("b", b"second body")
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall(first[0] + first[1] + second[0] + second[1])
        answers = _read_answers(sock, 2)
    assert all(a.startswith(b"HTTP/1.1 201") for a in answers), answers
    assert requests.get(served.url + "/notes/a", timeout=30).json()["value"] == "first"
    assert requests.get(served.url + "/notes/b", timeout=30).json()["value"] == "second body"


def test_a_body_still_on_its_way_is_read_under_the_deadline_parked(served: Served,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch, served)
    head, body = _put("late", b"y" * 400)
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as sock:
        sock.sendall(head + body[:100])  # the rest cannot be in the server's buffer yet
        deadline = time.monotonic() + 30
        while spy.parked == 0 and time.monotonic() < deadline:  # the thread parks to wait for the rest
            time.sleep(0.01)
        assert spy.parked == 1 and spy.armed == 1
        sock.sendall(body[100:])
        (answer,) = _read_answers(sock, 1)
    assert answer.startswith(b"HTTP/1.1 201")
    assert requests.get(served.url + "/notes/late", timeout=30).json()["value"] == "y" * 400


def test_behind_another_server_nothing_counts_as_buffered() -> None:
    assert core_app._buffered({}) == 0
    assert core_app._buffered({core_app.CONN_KEY: object()}) == 0
