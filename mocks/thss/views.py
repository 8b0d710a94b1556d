"""HTTP <-> the THSS model: parse the upload or JSON, make one call, render."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from mocks.core import jsonbody, sabotage
from mocks.core.app import Ctx
from mocks.core.render import json_response
from mocks.thss.errors import AlreadyScored, BadUpload, BodyNotJson, InvalidInput, NoSuchAssignment
from mocks.thss.models import InputError, StateError, Thss

XML_TYPES = ("application/xml", "text/xml")


def _model(ctx: Ctx) -> Thss:
    model: Thss = ctx.app.model  # type: ignore[attr-defined]
    return model


def _json(ctx: Ctx) -> Any:
    try:
        return jsonbody.loads(ctx.body, empty=None)
    except jsonbody.JsonRefused as exc:
        raise BodyNotJson(field=exc.field, detail=exc.message) from None


def test_submit(ctx: Ctx) -> Response:
    """``POST /api/test/submit``: always 200 ``{"Files":[…]}``, one entry per uploaded file part.

    Parts are taken whatever their form-field name (THSS reads ``Request.Files``); a part
    without a filename is a plain field, not a file. A body that is not multipart, or a
    multipart body that does not parse, holds no files.
    """
    model = _model(ctx)
    if ctx.request.mimetype in XML_TYPES and model.profile(ctx.tenant) == "guide":
        try:
            count = model.import_guide(ctx.tenant, ctx.body)
        except InputError as exc:
            raise BadUpload(field=exc.field, reason=f"{exc.field}: {exc.reason}") from None
        ctx.notes["note"] = f"guide profile: {count} responses queued"
        ctx.app.wake()  # type: ignore[attr-defined]
        return json_response({"Files": [{"FileName": None, "Success": True, "ErrorMessage": None}]})
    results: list[dict[str, Any]] = []
    if ctx.request.mimetype == "multipart/form-data":
        for _name, storage in ctx.request.files.items(multi=True):
            if results and sabotage.on("thss.later-parts-dropped"): break  # noqa: E701
            results.append(model.import_file(ctx.tenant, storage.filename, storage.read()).to_dict())
        if ctx.request.form and sabotage.on("thss.form-field-taken"): results += [model.import_file(ctx.tenant, name, value.encode()).to_dict() for name, value in ctx.request.form.items()]  # noqa: E501, E701
    if not results:
        ctx.notes["note"] = f"no file parts in a {ctx.request.mimetype or 'typeless'} body"
    elif any(r["Success"] for r in results):
        ctx.app.wake()  # type: ignore[attr-defined]
    return json_response({"Files": results})


def item_submit(ctx: Ctx) -> Response:
    """``POST /api/item/submit``: a JSON array of item configurations; 200 with the count taken."""
    data = _json(ctx)
    try:
        count = _model(ctx).submit_items(ctx.tenant, data)
    except InputError as exc:
        raise InvalidInput(field=exc.field, reason=exc.reason) from None
    return json_response({"Success": True, "Count": count})


def admin_score(ctx: Ctx) -> Response:
    """``POST /_examrig/score``: the admin API's teacher scores one response; it is posted to TIS at once."""
    data = _json(ctx)
    if not isinstance(data, dict):
        raise InvalidInput(field="body", reason="must be a JSON object")
    key = data.get("assignment")
    if not isinstance(key, str):
        raise InvalidInput(field="assignment", reason="required assignment id")
    try:
        delivery = _model(ctx).claim_manual(ctx.tenant, key, data)
    except InputError as exc:
        raise InvalidInput(field=exc.field, reason=exc.reason) from None
    except StateError as exc:
        if exc.kind == "missing":
            raise NoSuchAssignment(field="assignment", key=exc.key) from None
        raise AlreadyScored(field="assignment", key=exc.key) from None
    outcome = ctx.app.deliver(delivery)  # type: ignore[attr-defined]
    return json_response({"assignment": key, "status": outcome})


def admin_run(ctx: Ctx) -> Response:
    """``POST /_examrig/run``: score and send every due policy assignment now (what the worker does)."""
    sent = ctx.app.run_due(ctx.tenant)  # type: ignore[attr-defined]
    return json_response({"processed": sent})
