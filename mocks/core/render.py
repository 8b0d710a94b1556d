"""Response helpers and the generic error renderers (services add their own wire formats)."""

from __future__ import annotations

import json
from datetime import datetime
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


def render_text_error(error: ServiceError, path: str, now: datetime | None = None) -> Response:
    """The message alone, as plain text."""
    return text_response(error.message, status=error.status, headers=error.headers)
