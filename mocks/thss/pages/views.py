"""The teacher's pages: the tenant's queue, one response with its rubric and dimensions, score entry.

Scores go through ``Thss.claim_manual`` and ``Service.deliver``: the validation and the callback to TIS are the
admin API's (``POST /_examrig/score``), not a second implementation. Forms carry a token bound to a per-browser
session cookie (HttpOnly, SameSite=Strict), so a cross-site page cannot score.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from mocks.core import pages
from mocks.core.app import Ctx
from mocks.core.errors import BadRequest, Conflict, NotFound, ServiceError
from mocks.thss.models import InputError, ItemConfig, StateError, Thss, rubric_samples

PACKAGE = "mocks.thss.pages"
COOKIE = "examrig_teacher"
OPEN = ("pending", "tentative")  # what is still the teacher's work; a scored ('sending', 'sent') item leaves


def _model(ctx: Ctx) -> Thss:
    model: Thss = ctx.app.model  # type: ignore[attr-defined]
    return model


def _secret(ctx: Ctx) -> bytes:
    # drawn once per app (every process of the mock agrees through the shared control state)
    app = ctx.app
    found: bytes | None = getattr(app, "_teacher_secret", None)
    if found is None:
        found = app.runtime.control.secret("thss:teacher-pages", app.settings.seed,
                                           lambda: app.ids.token(32)).encode()
        setattr(app, "_teacher_secret", found)  # noqa: B010 - an attribute the Service class does not declare
    return found


def _session(ctx: Ctx) -> tuple[str, bool]:
    found = ctx.request.cookies.get(COOKIE)
    if found and found.isascii() and found.isalnum() and len(found) <= 64:
        return found, False
    return ctx.app.ids.token(16), True


def _page(ctx: Ctx, template: str, status: int = 200, **context: Any) -> Response:
    session, new = _session(ctx)
    response = pages.render(PACKAGE, template, status, csrf=pages.csrf_token(_secret(ctx), "teacher", session),
                            tenant=ctx.tenant, **context)
    if new:
        response.set_cookie(COOKIE, session, path="/teacher", httponly=True, samesite="Strict",
                            secure=ctx.request.scheme == "https")
    return response


def _error(ctx: Ctx, error: ServiceError) -> Response:
    return _page(ctx, "thss/error.html", error.status, message=error.message)


def queue_page(ctx: Ctx) -> Response:
    """The tenant's queue, filtered by item type and status (open work by default)."""
    item_type = ctx.request.args.get("itemType", "")
    status = ctx.request.args.get("status", "open")
    rows = _model(ctx).queue(ctx.tenant)
    types = sorted({r["itemType"] for r in rows if r["itemType"]})
    statuses = sorted({r["status"] for r in rows})
    shown = [r for r in rows if (not item_type or r["itemType"] == item_type)
             and (status == "all" or (r["status"] in OPEN if status == "open" else r["status"] == status))]
    return _page(ctx, "thss/queue.html", rows=shown, types=types, statuses=statuses, item_type=item_type,
                 status_filter=status, scored=ctx.request.args.get("scored"), outcome=ctx.request.args.get("outcome"))


def _assignment(ctx: Ctx, key: str) -> tuple[dict[str, Any], ItemConfig | None]:
    """The queue's row of ``key`` and its item's configuration (``None`` when the item was never configured)."""
    found = next((r for r in _model(ctx).queue(ctx.tenant) if r["id"] == key), None)
    if found is None:
        raise NotFound(message=f"no assignment '{key}' in this queue")
    return found, _model(ctx).item(ctx.tenant, found["bankKey"], found["itemId"])


def assignment_page(ctx: Ctx, key: str, error: ServiceError | None = None,
                    entered: dict[str, str] | None = None) -> Response:
    """One response with its rubric and dimensions, and the score form."""
    try:
        row, cfg = _assignment(ctx, key)
    except ServiceError as exc:
        return _error(ctx, exc)
    dims = cfg.scoring_dimensions if cfg is not None else ()
    samples = rubric_samples(cfg.rubric_list) if cfg is not None and cfg.rubric_list else []
    return _page(ctx, "thss/assignment.html", error.status if error else 200, row=row, dims=dims, samples=samples,
                 error=error.message if error else None, field=getattr(error, "field", None), entered=entered or {},
                 open=row["status"] in OPEN)


def score(ctx: Ctx, key: str) -> Response:
    """Submit the form: the admin API's validation, then the callback to TIS; back to the queue."""
    form = ctx.request.form
    session, _new = _session(ctx)
    if not pages.csrf_ok(_secret(ctx), form.get("csrf"), "teacher", session):
        return _error(ctx, pages.CsrfInvalid())
    try:
        _row, cfg = _assignment(ctx, key)
    except ServiceError as exc:
        return _error(ctx, exc)
    dims = cfg.scoring_dimensions if cfg is not None else ()
    payload: dict[str, Any] = {"dimensions": []}
    for i, dim in enumerate(dims):
        raw = form.get(f"score-{i}", "").strip()
        value: Any = int(raw) if raw.lstrip("-").isdigit() and raw.isascii() else raw
        code = form.get(f"code-{i}", "") or None
        payload["dimensions"].append({"name": dim.name, "score": value, "conditionCode": code})
    if form.get("scorerId", "").strip():
        payload["scorerId"] = form["scorerId"].strip()
    try:
        delivery = _model(ctx).claim_manual(ctx.tenant, key, payload)
    except InputError as exc:
        return assignment_page(ctx, key, BadRequest(field=exc.field, message=f"{exc.field}: {exc.reason}"),
                               entered=dict(form.items()))
    except StateError:
        return assignment_page(ctx, key, Conflict(field="assignment", message="This response is already scored."))
    outcome = ctx.app.deliver(delivery)  # type: ignore[attr-defined]
    return redirect("/teacher?" + urlencode({"scored": key, "outcome": outcome}), 303)


def static_file(ctx: Ctx, name: str) -> Response:
    """The teacher pages' stylesheet."""
    return pages.static(PACKAGE, name)
