"""HTTP <-> the TDS model: parse the reply, make one call, render."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from mocks.core import jsonbody, sabotage
from mocks.core.app import Ctx
from mocks.core.errors import InputError, InternalError, UnsupportedMediaType
from mocks.core.idempotency import HEADER, Applied, KeyConflict, Keyed, KeyReused
from mocks.core.idempotency_views import request_key, respond
from mocks.tds.errors import BodyMissing, BodyNotJson, InvalidField
from mocks.tds.models import Outcome, Tds, TisReply, normalise_key


def _model(ctx: Ctx) -> Tds:
    model: Tds = ctx.app.model  # type: ignore[attr-defined]
    return model


def _require_json(ctx: Ctx) -> None:
    mimetype = ctx.request.mimetype
    if mimetype != "application/json":
        raise UnsupportedMediaType(field="Content-Type", content_type=ctx.request.content_type or "")


def _load(ctx: Ctx) -> dict[str, Any]:
    if not ctx.body.strip():
        raise BodyMissing(field="body")
    try:
        data = jsonbody.loads(ctx.body)
    except jsonbody.JsonRefused as exc:
        raise BodyNotJson(field=exc.field, detail=exc.message) from None
    if not isinstance(data, dict):
        raise BodyNotJson(field="body", detail="expected a JSON object")
    return data


def _reply(data: dict[str, Any], *, success_required: bool) -> TisReply:
    key = data.get("oppKey")
    if key is None and sabotage.on("tds.null-key-npe"): raise InternalError(ref="NullPointerException")  # noqa: E701
    if key is None:
        raise InvalidField(field="oppKey", reason="required")
    if not isinstance(key, str):
        raise InvalidField(field="oppKey", reason="must be a string")
    norm = normalise_key(key)
    if norm is None:
        raise InvalidField(field="key" if sabotage.on("tds.refusal-field-renamed") else "oppKey", reason=f"'{key}' is not a UUID")  # noqa: E501
    success = data.get("success")
    if success is None and not success_required:
        success = False
    if success is None and sabotage.on("tds.null-success-npe"): raise InternalError(ref="NullPointerException")  # noqa: E701
    if not isinstance(success, bool):
        raise InvalidField(field="success", reason="required boolean" if success is None else "must be a boolean")
    error = data.get("error")
    if error is not None and not isinstance(error, str):
        raise InvalidField(field="error", reason="must be a string")
    trt = data.get("trt")
    if trt is not None and not isinstance(trt, str):
        raise InvalidField(field="trt", reason="must be a string")
    return TisReply(norm, success, error, trt)


def _keyed(ctx: Ctx) -> Keyed | None:
    try:
        return request_key(ctx)
    except InputError as exc:
        if sabotage.on("tds.bad-key-ignored"): return None  # noqa: E701
        raise InvalidField(field=exc.field, reason=exc.reason) from None


def _answer(ctx: Ctx, keyed: Keyed | None, outcome: Outcome) -> Response:
    applied = Applied(None if outcome.action == "replay" else outcome, outcome.answer, outcome.action == "replay")
    return respond(ctx, keyed, applied, outcome.to_dict())


def tis_reply(ctx: Ctx) -> Response:
    """Legacy TDS: ``POST /student/TIS/API/tisReply``; 200 whatever the branch taken."""
    _require_json(ctx)
    reply = _reply(_load(ctx), success_required=True)
    keyed = _keyed(ctx)
    try:
        outcome = _model(ctx).legacy_reply(ctx.tenant, reply, keyed)
    except KeyReused as exc:
        raise KeyConflict(field=HEADER, key=exc.key) from None
    return _answer(ctx, keyed, outcome)


def ert_callback(ctx: Ctx) -> Response:
    """ExamResultsTransmitter: ``POST /tis[?jobid=]``; always 200 once the body reads."""
    _require_json(ctx)
    reply = _reply(_load(ctx), success_required=False)
    job_id = ctx.request.args.get("jobid")
    keyed = _keyed(ctx)
    try:
        outcome = _model(ctx).ert_callback(ctx.tenant, reply, job_id, keyed)
    except KeyReused as exc:
        raise KeyConflict(field=HEADER, key=exc.key) from None
    return _answer(ctx, keyed, outcome)
