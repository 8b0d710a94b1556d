"""DW errors and their wire format (Spring Boot's JSON error body, as RDW's import service writes it)."""

from __future__ import annotations

from datetime import UTC, datetime

from werkzeug.wrappers import Response

from mocks.core.errors import BadRequest, Forbidden, ServiceError, Unauthorized
from mocks.core.render import json_response

REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           413: "Payload Too Large", 500: "Internal Server Error", 502: "Bad Gateway"}


class BadPayload(BadRequest):
    """A TRT that cannot be taken (empty, not XML, schema-invalid, semantically wrong)."""

    code = "bad_payload"
    template = "{reason}"


class NoToken(Unauthorized):
    """No bearer token, or one OpenAM does not know."""

    code = "invalid_token"
    template = "{reason}"


class MissingRole(Forbidden):
    """The token's user lacks ASMTDATALOAD (or a mail address)."""

    code = "access_denied"
    template = "{reason}"


class InvalidSeed(BadRequest):
    """Seed data that cannot be loaded."""

    code = "invalid_seed"
    template = "{field}: {reason}"


def render_spring_error(error: ServiceError, path: str, now: datetime) -> Response:
    """``{"timestamp","status","error","message","path"}`` (plus ``field``)."""
    body: dict[str, object] = {"timestamp": int(now.astimezone(UTC).timestamp() * 1000), "status": error.status,
                               "error": REASONS.get(error.status, "Error"), "message": error.message, "path": path}
    if error.field:
        body["field"] = error.field
    return json_response(body, status=error.status, headers=error.headers)
