"""TDS errors; their wire format is Spring's JSON error body (``mocks.core.render.render_spring_error``)."""

from __future__ import annotations

from mocks.core.errors import BadRequest

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
