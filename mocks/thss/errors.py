"""THSS errors and their wire format (ASP.NET Web API's ``{"Message", "ModelState"}`` JSON)."""

from __future__ import annotations

from datetime import datetime

from werkzeug.wrappers import Response

from mocks.core.errors import BadRequest, NotFound, ServiceError
from mocks.core.render import json_response


class InvalidInput(BadRequest):
    """A field of a request body is missing or has the wrong form."""

    code = "invalid_input"
    template = "{reason}"


class BodyNotJson(BadRequest):
    """The body does not parse as JSON."""

    code = "json_parse_error"
    template = "The request body is not valid JSON: {detail}"


class BadUpload(BadRequest):
    """A guide-profile per-item ItemScoreRequest that cannot be taken."""

    code = "bad_upload"
    template = "{reason}"


class NoSuchAssignment(NotFound):
    """The admin API named a response that is not in the work queue."""

    code = "no_such_assignment"
    template = "No assignment '{key}' in the work queue"


class AlreadyScored(ServiceError):
    """The response has been scored and sent already."""

    code = "already_scored"
    status = 409
    template = "Assignment '{key}' was already sent to TIS"


def render_webapi_error(error: ServiceError, path: str, now: datetime) -> Response:
    """``{"Message": …}``, with ``ModelState`` naming the offending field as Web API's model binding does."""
    body: dict[str, object]
    if error.field and error.status == 400:
        body = {"Message": "The request is invalid.", "ModelState": {error.field: [error.message]}}
    else:
        body = {"Message": error.message}
        if error.field:
            body["field"] = error.field
    return json_response(body, status=error.status, headers=error.headers)
