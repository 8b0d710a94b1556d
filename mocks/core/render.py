"""Response helpers and the generic error renderers (services add their own wire formats)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, overload

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Response

from mocks.core.errors import ServiceError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None,
                  content_type: str = "application/json; charset=utf-8") -> Response:
    """A JSON response (compact, UTF-8)."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status=status, headers=headers, content_type=content_type)


def text_response(text: str, status: int = 200, headers: dict[str, str] | None = None,
                  content_type: str = "text/plain; charset=utf-8") -> Response:
    """A plain-text response."""
    return Response(text, status=status, headers=headers, content_type=content_type)


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    """A response without a body."""
    response = Response(b"", status=status, headers=headers)
    response.headers.pop("Content-Type", None)
    return response


class BufferedResponse(Response):
    """werkzeug's ``Response`` for a body that is bytes already and headers that go out as built.

    werkzeug's constructor runs every header through ``Headers`` (a copy and a check of each value),
    looks the Content-Type up and sets Content-Length through ``Headers.__setitem__``; its ``__call__``
    copies the headers again and scans them for Location, Content-Location and Content-Length. On a
    hot GET that was a sixth of the app's CPU. Here the list as built *is* the headers (values
    checked for line breaks as werkzeug checks them, Content-Length appended once), werkzeug's
    ``Headers`` is made only when someone asks for :attr:`headers` (and is the truth from then on),
    and the list goes out as it is. A response werkzeug would rewrite on the way out (a 1xx, 204 or
    304, a given Content-Length or Content-Location, a Location that is not a plain ASCII URL) is
    built and sent by werkzeug itself. HEAD still gets no body. Everything else is werkzeug's
    ``Response``; tests/core/test_buffered_response.py holds it to werkzeug's output.
    """

    def __init__(self, body: bytes, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> None:
        hdrs = list(headers)
        self._headers: Headers | None = None
        # what werkzeug would rewrite on the way out goes its way: a 1xx, 204 or 304 (Content-Length dropped), a
        # Content-Length or Content-Location given, a Location that is not a plain ASCII URL (iri_to_uri)
        self._as_built = not (100 <= status < 200 or status in (204, 304))
        typed = False
        for name, value in hdrs:
            if "\n" in value or "\r" in value:
                raise ValueError("Header values must not contain newline characters.")  # as werkzeug's Headers
            low = name.lower()
            if low == "content-type":
                typed = True
            elif low in ("content-length", "content-location") or (low == "location" and not plain_location(value)):
                self._as_built = False
        if not self._as_built:
            super().__init__(body, status, hdrs)
            return
        if not typed:
            hdrs.append(("Content-Type", "text/plain; charset=utf-8"))  # werkzeug's default mimetype
        hdrs.append(("Content-Length", str(len(body))))
        self._list = hdrs
        self.status = status
        self.direct_passthrough = False
        self._on_close = []
        self.response = [body]

    @property
    def headers(self) -> Headers:
        """werkzeug's ``Headers`` of the response (made on first use from the list as built)."""
        made = self._headers
        if made is None:
            made = self._headers = Headers(self._list)
        return made

    @headers.setter
    def headers(self, value: Headers) -> None:
        self._headers = value

    def header_list(self) -> list[tuple[str, str]]:
        """The response's headers (do not change the list: change :attr:`headers`)."""
        made = self._headers
        return self._list if made is None else made.to_wsgi_list()

    @overload
    def get_data(self, as_text: Literal[False] = False) -> bytes: ...

    @overload
    def get_data(self, as_text: Literal[True]) -> str: ...

    def get_data(self, as_text: bool = False) -> bytes | str:
        """The body (werkzeug's ``get_data`` unless it is still the one buffer it was built with)."""
        parts = self.response
        if not as_text and type(parts) is list and len(parts) == 1 and type(parts[0]) is bytes:
            return parts[0]
        return super().get_data(as_text) if as_text else super().get_data()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not self._as_built:
            return super().__call__(environ, start_response)
        start_response(self.status, list(self.header_list()))
        if environ["REQUEST_METHOD"] == "HEAD":
            return []
        return [self.get_data()]


# a Location werkzeug sends unchanged (its iri_to_uri leaves these characters alone; tested against it)
_PLAIN_URL = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._()\-/$]*)?$")


def plain_location(url: str) -> bool:
    """Whether werkzeug would send ``url`` as a Location unchanged."""
    return _PLAIN_URL.match(url) is not None


def header_list(response: Response) -> list[tuple[str, str]]:
    """A response's headers as a WSGI list (without making werkzeug's ``Headers`` of a BufferedResponse)."""
    if isinstance(response, BufferedResponse):
        return response.header_list()
    return response.headers.to_wsgi_list()


class ErrorRenderer(Protocol):
    """Writes the body of a :class:`ServiceError` in one wire format."""

    def __call__(self, error: ServiceError, path: str, now: datetime) -> Response:
        """Render ``error`` for a request to ``path`` at the tenant's instant ``now``."""
        ...


def render_json_error(error: ServiceError, path: str, now: datetime | None = None) -> Response:
    """examrig's own JSON error shape: ``{"error": {"code", "message", "field"}}``."""
    return json_response({"error": error.to_dict()}, status=error.status, headers=error.headers)


HTTP_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                405: "Method Not Allowed",
                408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large", 415: "Unsupported Media Type",
                500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def _spring(error: ServiceError, path: str, timestamp: object) -> Response:
    body: dict[str, object] = {"timestamp": timestamp, "status": error.status,
                               "error": HTTP_REASONS.get(error.status, "Error"), "message": error.message, "path": path}
    if error.field:
        body["field"] = error.field
    return json_response(body, status=error.status, headers=error.headers)


def render_spring_error(error: ServiceError, path: str, now: datetime) -> Response:
    """Spring Boot 2's ``{"timestamp","status","error","message","path"}`` (ISO timestamp), plus ``field``."""
    now = now.astimezone(UTC)
    return _spring(error, path, now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00")


def render_spring_error_epoch(error: ServiceError, path: str, now: datetime) -> Response:
    """The same body with the timestamp in epoch milliseconds (Spring Boot 1.x), plus ``field``."""
    return _spring(error, path, int(now.astimezone(UTC).timestamp() * 1000))


def render_text_error(error: ServiceError, path: str, now: datetime | None = None) -> Response:
    """The message alone, as plain text."""
    return text_response(error.message, status=error.status, headers=error.headers)
