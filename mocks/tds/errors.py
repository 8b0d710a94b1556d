"""TDS errors and their wire format (Spring's JSON error body)."""

from __future__ import annotations

from datetime import UTC, datetime

from werkzeug.wrappers import Response

from mocks.core.errors import BadRequest, ServiceError
from mocks.core.render import json_response

REASONS = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
           413: "Payload Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
           503: "Service Unavailable"}


class BodyMissing(BadRequest):
    """Spring's answer to an empty body on a ``@RequestBody`` endpoint."""

    code = "body_missing"
    template = "Required request body is missing"


class BodyNotJson(BadRequest):
    """The body does not parse as JSON."""

    code = "json_parse_error"
    template = "JSON parse error: {detail}"


class InvalidField(BadRequest):
    """A field of the reply has the wrong type or form."""

    code = "invalid_field"
    template = "Invalid value for '{field}': {reason}"


class InvalidSeed(BadRequest):
    """Seed data that cannot be loaded."""

    code = "invalid_seed"
    template = "{field}: {reason}"


def render_spring_error(error: ServiceError, path: str, now: datetime) -> Response:
    """``{"timestamp","status","error","message","path"}`` as Spring Boot writes it (plus ``field``)."""
    now = now.astimezone(UTC)
    body: dict[str, object] = {
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00",
        "status": error.status,
        "error": REASONS.get(error.status, "Error"),
        "message": error.message,
        "path": path,
    }
    if error.field:
        body["field"] = error.field
    return json_response(body, status=error.status, headers=error.headers)
