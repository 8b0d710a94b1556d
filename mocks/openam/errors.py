"""OpenAM errors and their wire format (the OAuth2 ``{"error","error_description"}`` JSON body)."""

from __future__ import annotations

from datetime import datetime

from werkzeug.wrappers import Response

from mocks.core import sabotage
from mocks.core.errors import BadRequest, ServiceError
from mocks.core.render import json_response


class InvalidRequest(BadRequest):
    """A parameter is missing or unusable (RFC 6749 ``invalid_request``)."""

    code = "invalid_request"
    template = "Missing parameter, '{field}'"


class InvalidClient(ServiceError):
    """Client authentication failed (unknown client or wrong secret)."""

    code = "invalid_client"
    status = 401
    template = "Client authentication failed"


class InvalidGrant(BadRequest):
    """The resource owner's credentials are wrong, or the user is unknown."""

    code = "invalid_grant"
    template = "The provided access grant is invalid, expired, or revoked."


class UnauthorizedClient(BadRequest):
    """The client may not use this grant type."""

    code = "unauthorized_client"
    template = "Client is not authorized to use grant type: {grant}"


class UnsupportedGrantType(BadRequest):
    """A grant type OpenAM does not offer here."""

    code = "unsupported_grant_type"
    template = "Grant type is not supported: {grant}"


class InvalidToken(BadRequest):
    """A token that is unknown, expired or revoked (``tokeninfo``)."""

    code = "invalid_request"
    template = "Access Token not valid"


def render_oauth_error(error: ServiceError, path: str, now: datetime) -> Response:
    """``{"error": code, "error_description": message}`` as OpenAM's OAuth2 endpoints write it."""
    headers = dict(error.headers)
    headers.setdefault("Cache-Control", "no-store")
    headers.setdefault("Pragma", "no-cache")
    body: dict[str, object] = {"error": error.code, "error_description": "invalid" if isinstance(error, (InvalidRequest, UnsupportedGrantType)) and sabotage.on("openam.description-unworded") else error.message}  # noqa: E501
    return json_response(body, status=error.status, headers=headers)
