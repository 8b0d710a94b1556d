"""DW errors; their wire format is Spring Boot's JSON error body with an epoch timestamp, as RDW writes it."""

from __future__ import annotations

from mocks.core.errors import BadRequest, Forbidden, Unauthorized

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
