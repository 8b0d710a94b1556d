"""HTTP <-> the ProctorU model: read the parameters (query, form body even on GET, or JSON), one call, the envelope."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Response

from mocks.core import bounds, jsonbody
from mocks.core.app import Ctx
from mocks.core.render import json_response
from mocks.proctoru import errors
from mocks.proctoru.models import AdHoc, Institution, ProctorU

TOKEN_HEADER = "Authorization-Token"
# maximum lengths ProctorU documents for addAdHocProcess fields (the xBlock truncates to them)
# the documented limits (reference/proctoring.md 2.3, addAdHocProcess), then the stored columns' widths where no
# source gives one: state and zipcode String(255), notes (a Text column) at 4000 (issue 12: a string of any length
# was stored; PostgreSQL refuses one wider than its VARCHAR with a DataError, a 500)
MAX_LEN = {"student_id": 50, "last_name": 50, "first_name": 50, "email": 50, "address1": 100, "city": 50,
           "country": 2, "phone1": 15, "time_zone_id": 60, "description": 255, "reservation_id": 50,
           "state": 255, "zipcode": 255, "notes": 4000}
PROFILE_FIELDS = ("address1", "city", "state", "country", "zipcode", "phone1")

Params = dict[str, str]
Handler = Callable[[Ctx, ProctorU, Institution, Params], Any]


def _model(ctx: Ctx) -> ProctorU:
    model: ProctorU = ctx.app.model  # type: ignore[attr-defined]
    return model


def _params(ctx: Ctx) -> Params:
    """Query string first, then the body: form-encoded (the xBlock sends one even on GET) or JSON."""
    params: Params = dict(ctx.request.args.items())
    body = ctx.body
    if not body.strip():
        return params
    if ctx.request.mimetype == "application/json":
        try:
            data = jsonbody.loads(body)
        except jsonbody.JsonRefused as exc:
            raise errors.InvalidValue(field=exc.field, reason=exc.reason) from None
        if not isinstance(data, dict):
            raise errors.InvalidValue(field="body", reason="must be a JSON object")
        params.update({str(k): _text(v) for k, v in data.items() if v is not None})
        return params
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise errors.InvalidValue(field="body", reason="is not UTF-8 form data") from None
    params.update(pairs)
    return params


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    return value if isinstance(value, str) else json.dumps(value)


def parse_date(text: str) -> datetime:
    """ISO 8601 with ``Z``, an offset or none (UTC), with or without fractions; a date alone; ``MM/DD/YYYY``."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        parsed = datetime.strptime(value, "%m/%d/%Y")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _required(params: Params, name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise errors.MissingField(field=name)
    _length(name, value)
    return value


def _optional(params: Params, name: str) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    _length(name, value)
    return value


def _length(name: str, value: str) -> None:
    limit = MAX_LEN.get(name)
    if limit is not None and len(value) > limit:
        raise errors.InvalidValue(field=name, reason=f"is longer than {limit} characters")


def _notes(params: Params) -> str:
    value = params.get("notes", "")  # kept as sent (the xBlock's "Password is - …\nExam Notes - …")
    _length("notes", value)
    return value


def _date(params: Params, name: str, *, required: bool = True) -> datetime | None:
    value = _required(params, name) if required else _optional(params, name)
    if value is None:
        return None
    try:
        return bounds.check_instant(parse_date(value), name)  # year 9999 overflowed the first "+ duration"
    except (ValueError, OverflowError):  # InputError is a ValueError
        raise errors.InvalidDate(field=name) from None


def _int(params: Params, name: str, *, required: bool = True, default: int | None = None) -> int | None:
    value = _required(params, name) if required else _optional(params, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise errors.InvalidValue(field=name, reason="must be an integer") from None
    if not bounds.INT32_MIN <= number <= bounds.INT32_MAX:  # the columns' width (SQLite overflowed past Int64)
        raise errors.InvalidValue(field=name, reason="is outside the range of a 32-bit integer")
    return number


#: the longest exam accepted, in minutes (no source gives ProctorU's limit: a week, far past any exam; an
#: Int32 of minutes is 4,000 years, and start + duration overflowed datetime)
MAX_DURATION = 7 * 24 * 60


def _duration(minutes: int | None) -> int | None:
    if minutes is not None and minutes > MAX_DURATION:
        raise errors.InvalidValue(field="duration", reason=f"is longer than {MAX_DURATION} minutes")
    return minutes


def _flag(params: Params, name: str) -> bool:
    return params.get(name, "N").strip().upper() in ("Y", "YES", "TRUE", "1")


def envelope(data: Any, now: datetime) -> Response:
    """A success answer."""
    return json_response({"time_sent": errors.envelope_time(now, millis=False), "response_code": errors.SUCCESS,
                          "message": "", "data": data})


def endpoint(handler: Handler) -> Callable[[Ctx], Response]:
    """Token, ``time_sent`` and parameters for every endpoint; errors get the institution's error count."""

    @functools.wraps(handler)
    def view(ctx: Ctx) -> Response:
        model = _model(ctx)
        token = ctx.request.headers.get(TOKEN_HEADER, "").strip()
        if not token:
            raise errors.MissingToken(field=TOKEN_HEADER)
        inst = model.institution(ctx.tenant, token)
        if inst is None:
            raise errors.InvalidToken(field=TOKEN_HEADER)
        try:
            params = _params(ctx)
            model.check_fresh(ctx.tenant, _date(params, "time_sent", required=False))
            data = handler(ctx, model, inst, params)
        except errors.ProctorUError as exc:
            if exc.suffix:
                exc.params["error_count"] = model.note_error(ctx.tenant, inst.id)
            raise
        return envelope(data, ctx.now())

    return view


@endpoint
def get_time_zone_list(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``getTimeZoneList``."""
    return model.time_zones(ctx.tenant)


@endpoint
def get_schedule_info_available_times_list(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``getScheduleInfoAvailableTimesList``: only ad hoc exams (``isadhoc=Y``) exist here."""
    if params.get("isadhoc", "Y").strip().upper() == "N":
        raise errors.ExamNotFound(field="exam_id")
    zone = _required(params, "time_zone_id")
    start = _date(params, "start_date")
    assert start is not None
    duration = _duration(_int(params, "duration", required=False, default=60))
    assert duration is not None
    return model.available_times(ctx.tenant, inst, time_zone_id=zone, start=start, duration=duration,
                                 student_id=_optional(params, "student_id"), takeitnow=_flag(params, "takeitnow"))


@endpoint
def add_adhoc_process(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``addAdHocProcess``: schedule, or reschedule when ``reservation_no`` is sent."""
    takeitnow = _flag(params, "takeitnow")
    fields = {name: _required(params, name) for name in
              ("student_id", "first_name", "last_name", "email", "time_zone_id", "reservation_id")}
    start = _date(params, "start_date", required=not takeitnow)
    duration = _duration(_int(params, "duration"))
    assert duration is not None
    profile = tuple((name, value) for name in PROFILE_FIELDS if (value := _optional(params, name)) is not None)
    attempt = _int(params, "deliveryodata_attempt_id", required=False)
    request = AdHoc(start=None if takeitnow else start, duration=duration,
                    reservation_no=_int(params, "reservation_no", required=False),
                    description=_optional(params, "description") or "", notes=_notes(params),
                    profile=profile, attempt_id=attempt, **fields)
    return model.add_adhoc(ctx.tenant, inst, request)


@endpoint
def remove_reservation(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``removeReservation``."""
    student = _required(params, "student_id")
    number = _int(params, "reservation_no")
    assert number is not None
    return model.remove(ctx.tenant, inst, student, number)


@endpoint
def get_student_reservation_list(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``getStudentReservationList``: one student's, or the institution's when no student is named."""
    return model.student_reservations(ctx.tenant, inst, _optional(params, "student_id"))


@endpoint
def begin_reservation(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``beginReservation``; the first begin of a reservation with an attempt links it to deliveryodata."""
    student = _required(params, "student_id")
    number = _int(params, "reservation_no", required=False)
    reservation_id = _optional(params, "reservation_id")
    if number is None and reservation_id is None:
        raise errors.MissingField(field="reservation_no")
    begun = model.begin(ctx.tenant, inst, student, reservation_id, number)
    if begun.attempt_id is not None:
        # outside any transaction: the begin is committed, the link's outcome is recorded after
        outcome = ctx.app.link_attempt(ctx.tenant, begun.attempt_id, begun.reservation)  # type: ignore[attr-defined]
        model.record_link(ctx.tenant, int(begun.reservation["reservation_no"]), status=outcome.status,
                          error=outcome.error, appointment_id=outcome.appointment_id,
                          proctor_widget_url=outcome.proctor_widget_url)
        ctx.notes["note"] = json.dumps({"deliveryodata": outcome.status, "error": outcome.error})
    return {"url": begun.url}


@endpoint
def move_reservation(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``moveReservation``: ``reservation_no`` and ``start_date``; ``url_return`` and ``notify`` are accepted."""
    number = _int(params, "reservation_no")
    start = _date(params, "start_date")
    assert number is not None and start is not None
    return model.move(ctx.tenant, inst, number, start, _optional(params, "reservation_id"))


@endpoint
def auto_login(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``autoLogin``: a login URL for a known student; with ``update=Y`` the profile fields sent replace the stored."""
    student = _required(params, "student_id")
    changes = {name: value for name in ("first_name", "last_name", "email", "time_zone_id", *PROFILE_FIELDS)
               if (value := _optional(params, name)) is not None}
    return model.auto_login(ctx.tenant, inst, student, changes, _flag(params, "update"))


@endpoint
def client_activity_report(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``clientActivityReport``: the reservations starting in ``[start_date, end_date]``."""
    start = _date(params, "start_date")
    end = _date(params, "end_date")
    assert start is not None and end is not None
    if end < start:
        raise errors.InvalidValue(field="end_date", reason="is before start_date")
    return model.activity(ctx.tenant, inst, _optional(params, "student_id"), start, end)


@endpoint
def edit_student(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``editStudent``: change the named fields of a known student."""
    student = _required(params, "student_id")
    changes = {name: value for name in ("first_name", "last_name", "email", "time_zone_id", *PROFILE_FIELDS)
               if (value := _optional(params, name)) is not None}
    return model.edit_student(ctx.tenant, inst, student, changes)


@endpoint
def get_student_profile(ctx: Ctx, model: ProctorU, inst: Institution, params: Params) -> Any:
    """``getStudentProfile``."""
    return model.student_profile(ctx.tenant, inst, _required(params, "student_id"))
