"""Response helpers and the generic error renderers (services add their own wire formats)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

from werkzeug.wrappers import Response

from mocks.core.errors import ServiceError


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
