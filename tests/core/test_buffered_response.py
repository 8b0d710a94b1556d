"""mocks.core.render.BufferedResponse sends what werkzeug's Response sends for the same body, status and headers."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import run_wsgi_app
from werkzeug.wrappers import Response

from mocks.core.render import BufferedResponse, header_list

ENV = {"SERVER_NAME": "h", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
CASES: list[tuple[bytes, int, list[tuple[str, str]]]] = [
    (b'{"a":1}', 200, [("Content-Type", "application/json"), ("DataServiceVersion", "3.0")]),
    (b"{}", 201, [("Content-Type", "application/json"), ("Location", "http://h/Attempts(1)")]),
    (b"", 204, [("Content-Type", "application/json")]),
    (b"no type", 409, [("X-A", "1"), ("X-A", "2")]),  # werkzeug's default Content-Type is added
    (b"x" * 5000, 413, [("Content-Type", "text/plain"), ("Connection", "close")]),
    (b"given", 200, [("Content-Type", "text/plain"), ("Content-Length", "99")]),  # werkzeug replaces it
    (b"odd", 599, [("Content-Type", "text/plain")]),
    (b"{}", 201, [("Content-Type", "application/json"), ("Location", "http://h/d\u00e9j\u00e0(1)")]),  # IRI -> URI
    (b"{}", 201, [("Content-Type", "application/json"), ("Location", "http://h/a b")]),
    (b"{}", 200, [("Content-Type", "application/json"), ("Content-Location", "http://h/\u00e9")]),
    (b"", 304, [("Content-Type", "application/json"), ("ETag", '"1"')]),
    (b"", 100, [("Content-Type", "text/plain")]),
]


def _sent(app: Any, method: str = "GET") -> tuple[bytes, str, list[tuple[str, str]]]:
    body, status, headers = run_wsgi_app(app, {**ENV, "REQUEST_METHOD": method}, buffered=True)
    return b"".join(body), status, list(headers.to_wsgi_list())


@pytest.mark.parametrize(("body", "status", "headers"), CASES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_sends_what_werkzeug_sends(body: bytes, status: int, headers: list[tuple[str, str]], method: str) -> None:
    ours = BufferedResponse(body, status=status, headers=headers)
    theirs = Response(body, status=status, headers=headers)
    assert _sent(ours, method) == _sent(theirs, method)
    assert (ours.status, ours.status_code, ours.get_data(), ours.get_data(as_text=True), ours.is_streamed) == \
        (theirs.status, theirs.status_code, theirs.get_data(), theirs.get_data(as_text=True), theirs.is_streamed)
    assert header_list(ours) == header_list(theirs) == theirs.headers.to_wsgi_list()
    assert ours.headers == theirs.headers and ours.mimetype == theirs.mimetype


def test_changes_through_headers_and_set_data_are_sent() -> None:
    """The core's fault paths change a built response (Connection: close, a malformed body)."""
    ours = BufferedResponse(b"abc", status=200, headers=[("Content-Type", "application/json")])
    theirs = Response(b"abc", status=200, headers=[("Content-Type", "application/json")])
    for response in (ours, theirs):
        response.headers["Connection"] = "close"
        response.set_data(b"{malformed")
    assert _sent(ours) == _sent(theirs)
    assert header_list(ours) == theirs.headers.to_wsgi_list()
    assert ours.get_data() == b"{malformed" and ours.headers["Content-Length"] == "10"


def test_header_values_with_line_breaks_are_refused_as_werkzeug_refuses_them() -> None:
    for bad in ("a\r\nSet-Cookie: x=1", "a\nb", "a\rb"):
        with pytest.raises(ValueError, match="newline"):
            Response(b"", headers=[("Location", bad)])
        with pytest.raises(ValueError, match="newline"):
            BufferedResponse(b"", headers=[("Location", bad)])


def test_sending_twice_sends_the_same_headers() -> None:
    """The core appends a Date header to the list it is given: never to the response's own list."""
    ours = BufferedResponse(b"{}", status=200, headers=[("Content-Type", "application/json")])
    seen: list[list[tuple[str, str]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen.append(list(headers))
        headers.append(("Date", "x"))
        return lambda data: None

    for _ in range(2):
        assert ours({**ENV, "REQUEST_METHOD": "GET"}, start_response) == [b"{}"]
    assert seen[0] == seen[1] == [("Content-Type", "application/json"), ("Content-Length", "2")]
