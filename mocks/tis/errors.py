"""TIS errors and their wire formats (ASP.NET Web API ``HttpError`` JSON, or plain text)."""

from __future__ import annotations

from datetime import datetime

from werkzeug.wrappers import Response

from mocks.core import sabotage
from mocks.core.errors import ServiceError
from mocks.core.render import json_response, text_response


class TisError(ServiceError):
    """A TIS error rendered as Web API's ``{"Message": …}`` (``MessageDetail`` names the field)."""

    plain = False


class NotProperlyFormatted(TisError):
    """``statusCallback`` missing or empty."""

    code = "callback_missing"
    status = 400
    template = "This request is not properly formatted."


class IllegalCallback(TisError):
    """``statusCallback`` is not an absolute URI."""

    code = "callback_illegal"
    status = 400
    template = "Illegal statusCallback format."


class ContentNotValid(TisError):
    """The body is not well-formed XML (or has a DTD)."""

    code = "content_invalid"
    status = 400
    template = "Content format is not valid."


class InvalidTestResult(TisError):
    """The root element is not ``TDSReport``."""

    code = "invalid_test_result"
    status = 400
    template = "Invalid test result: {root}"


class CouldNotPersist(TisError):
    """The code's 500 for a well-formed TRT whose key fields do not parse."""

    code = "could_not_persist"
    status = 500
    template = "Could not persist the request."


class NotAuthorized(TisError):
    """No bearer token, or one that is not a GUID (plain text, as the filter writes it)."""

    code = "not_authorized"
    status = 401
    template = "Not authorized to access this endpoint."
    plain = True


class TokenNotAuthenticated(TisError):
    """OpenAM's token info has an error, or no ``TIS Admin`` role."""

    code = "token_not_authenticated"
    status = 401
    template = "Token not authenticated: {error}, {description}"
    plain = True


class CouldNotReadToken(TisError):
    """OpenAM's token info is not JSON."""

    code = "token_unreadable"
    status = 401
    template = "Could not read token: {detail}"
    plain = True


class OAuthServerUnreachable(TisError):
    """OpenAM could not be reached."""

    code = "oauth_unreachable"
    status = 500
    template = "An exception occurred while attempting to access the oauth server."
    plain = True


class PackageLoadFailed(TisError):
    """Any exception while loading a test package: 500 with the exception's message."""

    code = "package_load_failed"
    status = 500


class AssessmentKeyMissing(TisError):
    """``DELETE /api/assessments/`` without a key."""

    code = "assessment_key_missing"
    status = 400
    template = "An assessment key must be provided"


class AssessmentDeleteFailed(TisError):
    """The delete failed (no such assessment)."""

    code = "assessment_delete_failed"
    status = 500
    template = "Could not delete assessment {key} from TIS"


class InvalidSeed(TisError):
    """Seed data (config, resubmissions) that cannot be used."""

    code = "invalid_seed"
    status = 400
    template = "{field}: {reason}"


def render_tis_error(error: ServiceError, path: str, now: datetime) -> Response:
    """One renderer for TIS: ``{"Message": …[, "MessageDetail": …]}``, or the text of a plain error."""
    if getattr(error, "plain", False):
        return text_response(error.message, status=error.status, headers=error.headers)
    body: dict[str, str] = {"Message": error.message}
    detail = error.params.get("detail") if isinstance(error, TisError) else None
    if error.field and not sabotage.on("tis.message-detail-dropped"):
        body["MessageDetail"] = f"{error.field}: {detail}" if detail else error.field
    return json_response(body, status=error.status, headers=error.headers)
