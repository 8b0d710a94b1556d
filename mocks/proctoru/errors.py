"""ProctorU errors and their wire format: the ``{time_sent, response_code, message, data}`` envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from werkzeug.wrappers import Response

from mocks.core.errors import ServiceError
from mocks.core.render import json_response

SUCCESS = 1
ERROR = 2
BAD_REQUEST = 3
ERROR_LIMIT = 50


class ProctorUError(ServiceError):
    """An answer with ``response_code`` 2 (or 3), sent with HTTP 200 as ProctorU does.

    ``suffix`` is how many times ProctorU appends ``" : Error count N of 50"`` to the
    message (twice for two of its errors, per the recorded fixtures; never for a stale
    request). ``N`` comes from the ``error_count`` parameter, filled in by the view.
    """

    status = 200
    response_code: ClassVar[int] = ERROR
    suffix: ClassVar[int] = 1


class BadRequestError(ProctorUError):
    """A request that cannot be read (response_code 3, the "Bad Request" code)."""

    response_code = BAD_REQUEST


class MissingToken(ProctorUError):
    code = "missing_token"
    template = "Authorization-Token header is missing"


class InvalidToken(ProctorUError):
    code = "invalid_token"
    template = "Invalid Authorization-Token"


class StaleRequest(ProctorUError):
    code = "stale_request"
    template = "stale request"
    suffix = 0


class MissingField(BadRequestError):
    code = "missing_field"
    template = "{field} is required"


class InvalidDate(BadRequestError):
    code = "invalid_date"
    template = "{field} is not a valid date"


class InvalidValue(BadRequestError):
    code = "invalid_value"
    template = "{field} {reason}"


class StudentNotFound(ProctorUError):
    code = "student_not_found"
    template = "Student Not found"


class ReservationNotFound(ProctorUError):
    code = "reservation_not_found"
    template = "Reservation Not found"


class ReservationNotForInstitution(ProctorUError):
    code = "reservation_not_for_this_institution"
    template = "RESERVATION_NOT_FOR_THIS_INSTITUTION"
    suffix = 2


class AutoLoginStudentNotFound(ProctorUError):
    """``autoLogin`` spells it with a capital F (SmarterServices' fixture), unlike every other endpoint."""

    code = "student_not_found"
    template = "Student Not Found"


class ReservationCancelled(ProctorUError):
    code = "reservation_cancelled"
    template = "Reservation Cancelled."


class ReservationIdExists(ProctorUError):
    code = "reservation_id_exists"
    template = "reservation_id_EXIST_FOR_THIS_INSTITUTION"
    suffix = 2


class Overlap(ProctorUError):
    code = "overlap"
    template = "OVERLAP"
    suffix = 2


class TimeZoneNotFound(ProctorUError):
    code = "timezone_not_found"
    template = "TimeZone not found."


class StartInPast(ProctorUError):
    code = "start_in_past"
    template = "start_date in the past"


class ReservationInFuture(ProctorUError):
    code = "reservation_in_future"
    template = "Reservation is in the future"


class ExamNotFound(ProctorUError):
    code = "exam_not_found"
    template = "Exam Not found"


class InvalidSeed(ServiceError):
    """Seed data that cannot be loaded (admin door, examrig's JSON error shape)."""

    code = "invalid_seed"
    template = "{field}: {reason}"


def envelope_time(now: datetime, *, millis: bool) -> str:
    """``time_sent`` of an answer: UTC, ``Z``; ProctorU's error answers carry milliseconds."""
    now = now.astimezone(UTC)
    text = now.strftime("%Y-%m-%dT%H:%M:%S")
    return (text + f".{now.microsecond // 1000:03d}Z") if millis else text + "Z"


def error_message(error: ServiceError) -> str:
    """The message with ProctorU's ``" : Error count N of 50"`` suffix(es)."""
    repeats = error.suffix if isinstance(error, ProctorUError) else 1
    count = int(error.params.get("error_count", 0))
    return error.message + f" : Error count {count} of {ERROR_LIMIT}" * repeats


def render_proctoru_error(error: ServiceError, path: str, now: datetime) -> Response:
    """Every error in the envelope; domain errors with HTTP 200, routing and server errors with theirs."""
    code = error.response_code if isinstance(error, ProctorUError) else (BAD_REQUEST if error.status < 500 else ERROR)
    body: dict[str, object] = {"time_sent": envelope_time(now, millis=True), "response_code": code,
                               "message": error_message(error), "data": None}
    if error.field:
        body["field"] = error.field
    return json_response(body, status=error.status, headers=error.headers)
