"""The HTML side of the signed URLs: every state change is the same model call the JSON endpoints make.

A browser navigation (``Accept`` ranking ``text/html`` first) to the lobby or proctor URL gets a page; API
clients keep the JSON answers. The lobby session lives in an HttpOnly, SameSite=Strict cookie scoped to the
customer's lobby path; forms carry a CSRF token derived from the customer secret and the session (lobby) or
the signature (proctor), so a cross-site page can neither send nor forge them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from mocks.core import pages
from mocks.core.app import Ctx, View
from mocks.core.errors import MethodNotAllowed, ServiceError
from mocks.core.render import json_response
from mocks.deliveryodata import errors as e
from mocks.deliveryodata.models import PROCTOR_ACTIONS, DeliveryOData, shown
from mocks.deliveryodata.signing import Presented

# the signed URL's parameters and the customer are read exactly as the JSON endpoints read them (one implementation)
from mocks.deliveryodata.views import _known, _presented, check_action

PACKAGE = "mocks.deliveryodata.pages"
STATUS_NAMES = {1: "In progress", 5: "Finished", 6: "Paused", 7: "Terminated"}
# what a candidate or proctor reads for each refusal (the status stays the JSON endpoint's)
ERROR_TEXT = {
    "link_expired": ("This link has expired",
                     "Lobby links are valid for a short time only. Go back to your exam portal and open the exam "
                     "again to get a new link."),
    "link_used": ("This link has already been used",
                  "Each lobby link opens the lobby once. Go back to your exam portal and open the exam again."),
    "wrong_role": ("This link is not for this page",
                   "The link was issued for a different person (a candidate's link opens the lobby, a proctor's "
                   "link opens the proctor controls)."),
    "signature_invalid": ("This link is not valid",
                          "The link is incomplete or has been changed. Open the exam again from your portal."),
    "session_invalid": ("Your lobby session has ended",
                        "Open the exam again from your exam portal."),
    "csrf_invalid": ("This form has expired",
                     "The page that sent this form is not the one this server gave you. Reload the page and "
                     "try again."),
}


def _model(ctx: Ctx) -> DeliveryOData:
    model: DeliveryOData = ctx.app.model  # type: ignore[attr-defined]
    return model


def _secret(ctx: Ctx, customer: str) -> bytes:
    return _model(ctx).config.customers[customer].secret


def error_page(error: ServiceError) -> Response:
    """The refusal as a page a person understands, with the JSON endpoint's status."""
    title, advice = ERROR_TEXT.get(error.code, ("This page cannot be shown", ""))
    return pages.render(PACKAGE, "deliveryodata/error.html", error.status, title=title, advice=advice,
                        detail=error.message, code=error.code)


def _guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    def run(ctx: Ctx, **values: Any) -> Response:
        try:
            return view(ctx, **values)
        except ServiceError as exc:
            return error_page(exc)
    return run


def _form_post(ctx: Ctx) -> bool:
    return ctx.method == "POST" and ctx.request.mimetype == "application/x-www-form-urlencoded"


def negotiated(json_view: View, page_view: Callable[..., Response]) -> View:
    """``page_view`` for a browser (GET preferring HTML, or a form POST), ``json_view`` for everyone else."""
    guarded = _guarded(page_view)

    def view(ctx: Ctx, **values: Any) -> Any:
        if _form_post(ctx) or (ctx.method == "GET" and pages.wants_html(ctx.request)):
            return guarded(ctx, **values)
        return json_view(ctx, **values)
    view.__doc__ = json_view.__doc__
    return view


# -- the candidate's side ---------------------------------------------------------------------------


def _cookie(key: int) -> str:
    return f"examrig_lobby_{key}"


def _session(ctx: Ctx, key: int) -> str | None:
    return ctx.request.cookies.get(_cookie(key))


def lobby_enter(ctx: Ctx, customer: str, key: int) -> Response:
    """The lobby URL opened in a browser: checked and used up exactly as the JSON endpoint does, then the
    lobby page (a redirect, so a reload shows the lobby rather than 'link used')."""
    _known(ctx, customer)
    state = _model(ctx).enter_lobby(ctx.tenant, customer, key, _presented(ctx))
    response = redirect(f"/lobby/{customer}/page/Lobby/{key}", 303)
    response.set_cookie(_cookie(key), state["Session"], path=f"/lobby/{customer}/", httponly=True,
                        samesite="Strict", secure=ctx.request.scheme == "https")
    return response


def _status(ctx: Ctx, customer: str, key: int) -> dict[str, Any]:
    state = _model(ctx).lobby_status(ctx.tenant, customer, key, _session(ctx, key))
    state["ResultStatusName"] = STATUS_NAMES.get(state["ResultStatus"]) if state["ResultStatus"] else None
    return state


def lobby_page(ctx: Ctx, customer: str, key: int, error: ServiceError | None = None) -> Response:
    """The lobby: system check, waiting for the proctor (or an unlock code), Start."""
    _known(ctx, customer)
    state = _status(ctx, customer, key)
    if state["ResultID"] is not None and error is None:
        return redirect(f"/lobby/{customer}/page/Delivery/{key}", 303)
    token = pages.csrf_token(_secret(ctx, customer), "lobby", str(key), _session(ctx, key) or "")
    return pages.render(PACKAGE, "deliveryodata/lobby.html", error.status if error else 200, state=state,
                        customer=customer, key=key, csrf=token, error=error.message if error else None)


def lobby_state(ctx: Ctx, customer: str, key: int) -> Response:
    """The lobby's state as JSON for the page's polling (the cookie's session only)."""
    _known(ctx, customer)
    return json_response(_status(ctx, customer, key))


def lobby_start(ctx: Ctx, customer: str, key: int) -> Response:
    """Start from the lobby form: the same ``start`` the JSON endpoint calls, then the delivery page."""
    _known(ctx, customer)
    session = _session(ctx, key)
    if not pages.csrf_ok(_secret(ctx, customer), ctx.request.form.get("csrf"), "lobby", str(key), session or ""):
        raise pages.CsrfInvalid()
    code = ctx.request.form.get("UnlockCode", "").strip() or None
    try:
        _model(ctx).start(ctx.tenant, customer, key, session, code)
    except (e.AttemptStateConflict, e.BadUnlockCode) as exc:
        return lobby_page(ctx, customer, key, exc)
    return redirect(f"/lobby/{customer}/page/Delivery/{key}", 303)


def delivery_page(ctx: Ctx, customer: str, key: int) -> Response:
    """The (very simple) delivery page: the assessment, status and time left, updating by itself."""
    _known(ctx, customer)
    state = _status(ctx, customer, key)
    if state["ResultID"] is None:
        return redirect(f"/lobby/{customer}/page/Lobby/{key}", 303)
    token = pages.csrf_token(_secret(ctx, customer), "lobby", str(key), _session(ctx, key) or "")
    return pages.render(PACKAGE, "deliveryodata/delivery.html", state=state, customer=customer, key=key, csrf=token)


def delivery_finish(ctx: Ctx, customer: str, key: int) -> Response:
    """The Finish button: the model's ``finish`` (in progress → 5, Finished at User Request)."""
    _known(ctx, customer)
    session = _session(ctx, key)
    if not pages.csrf_ok(_secret(ctx, customer), ctx.request.form.get("csrf"), "lobby", str(key), session or ""):
        raise pages.CsrfInvalid()
    _model(ctx).finish(ctx.tenant, customer, key, session)
    return redirect(f"/lobby/{customer}/page/Delivery/{key}", 303)


# -- the proctor's side -----------------------------------------------------------------------------


def _frame_ancestors(ctx: Ctx) -> str:
    # the proctoring system embeds the widget in its own page: its origin is named in the option; by default no
    # page may frame the widget (a page framing it could overlay its buttons: clickjacking)
    return pages.frame_ancestors(ctx.app.options.get("proctor_frame_ancestors"), "proctor_frame_ancestors")


def _signed_query(ctx: Ctx) -> str:
    args = ctx.request.args
    return urlencode({k: args[k] for k in ("nonce", "timestamp", "role", "signature") if k in args})


def _attempt_view(ctx: Ctx, customer: str, key: int, state: dict[str, Any]) -> dict[str, Any]:
    model = _model(ctx)
    attempt = model.get(ctx.tenant, customer, "Attempts", key)
    try:
        audit = model.audit_rows(ctx.tenant, customer, key)
    except e.EntityNotFound:
        audit = []
    code, expires = attempt["UnlockCode"], attempt["UnlockCodeExpiresDateTime"]
    code_text = "none" if not code else code + (f" (expires {expires.strftime('%Y-%m-%d %H:%M UTC')})"
                                                if expires else "")
    return {"key": key, "state": state, "status_name": STATUS_NAMES.get(state["ResultStatus"] or 0, "Not started"),
            "code_text": code_text, "external_id": attempt["ExternalAttemptID"], "audit": audit}


def _attempt_views(ctx: Ctx, customer: str, presented: Presented, key: int | None, list_id: int | None) \
        -> list[dict[str, Any]]:
    """The widget's attempt, or every attempt of the list, as the page shows them (the signature checked)."""
    model = _model(ctx)
    if list_id is None:
        if key is None:
            raise TypeError("the widget's attempt or a list is needed")
        return [_attempt_view(ctx, customer, key, model.proctor(ctx.tenant, customer, key, presented, "Index"))]
    lst = model.get(ctx.tenant, customer, "AttemptLists", list_id, [["Attempts"]])
    if not lst["Attempts"]:
        model.proctor_check_list(ctx.tenant, customer, list_id, presented)
    return [_attempt_view(ctx, customer, a["ID"], model.proctor(ctx.tenant, customer, a["ID"], presented, "Index",
                                                                 list_id=list_id)) for a in lst["Attempts"]]


def _poll_json(views: list[dict[str, Any]]) -> Response:
    # what the widget's script redraws: the states, the unlock code and the whole audit log of each attempt
    return json_response({"Attempts": [{**v["state"], "ResultStatusName": v["status_name"],
                                        "UnlockCode": v["code_text"], "Audit": v["audit"]} for v in views]})


def proctor_state(ctx: Ctx, customer: str, key: int) -> Response:
    """The widget's polling read (its signed query): state and SessionAuditLog of the attempt as JSON."""
    _known(ctx, customer)
    return _poll_json(_attempt_views(ctx, customer, _presented(ctx), key, None))


def list_state(ctx: Ctx, customer: str, list_id: int) -> Response:
    """The attempt-list page's polling read: every attempt's state and audit log as JSON."""
    _known(ctx, customer)
    return _poll_json(_attempt_views(ctx, customer, _presented(ctx), None, list_id))


def _proctor_csrf(ctx: Ctx, customer: str, presented: Presented) -> str:
    return pages.csrf_token(_secret(ctx, customer), "proctor", presented.signature)


def proctor_page(ctx: Ctx, customer: str, key: int, action: str = "Index", error: ServiceError | None = None) \
        -> Response:
    """The proctor widget for one attempt (embeddable: ``frame-ancestors`` from the options)."""
    _known(ctx, customer)
    presented = _presented(ctx)
    if action != "Index" and error is None:
        return _proctor_act(ctx, customer, key, action, presented, None)
    query = _signed_query(ctx)
    return pages.render(PACKAGE, "deliveryodata/proctor.html", error.status if error else 200,
                        frame_ancestors=_frame_ancestors(ctx), customer=customer, query=query,
                        attempts=_attempt_views(ctx, customer, presented, key, None), actions=PROCTOR_ACTIONS,
                        csrf=_proctor_csrf(ctx, customer, presented), list_id=None,
                        error=error.message if error else None,
                        poll=f"/lobby/{customer}/page/ProctorState/{key}?{query}")


def _minutes(ctx: Ctx, action: str) -> int | None:
    if action != "AddTime":
        return None
    raw = ctx.request.form.get("Minutes", "").strip()
    if not raw.isascii() or not raw.isdigit():
        raise e.InvalidValue(field="Minutes", type="Edm.Int32", value=shown(raw))
    return int(raw)


def _proctor_act(ctx: Ctx, customer: str, key: int, action: str, presented: Presented, list_id: int | None) \
        -> Response:
    check_action(action)  # 404 for a control the widget does not have, as the JSON endpoint answers
    if ctx.method != "POST":  # a control never runs on a GET (the action paths answer GET only to say so)
        raise MethodNotAllowed(method=ctx.method)
    if not pages.csrf_ok(_secret(ctx, customer), ctx.request.form.get("csrf"), "proctor", presented.signature):
        raise pages.CsrfInvalid()
    back = (f"/lobby/{customer}/attemptlist/Index/{list_id}" if list_id is not None
            else f"/lobby/{customer}/proctorwidget/Index/{key}") + f"?{_signed_query(ctx)}"
    try:
        _model(ctx).proctor(ctx.tenant, customer, key, presented, action, _minutes(ctx, action), list_id=list_id)
    except (e.AttemptStateConflict, e.InvalidValue) as exc:
        if list_id is not None:
            return list_page(ctx, customer, list_id, error=exc)
        return proctor_page(ctx, customer, key, error=exc)
    return redirect(back, 303)


def list_page(ctx: Ctx, customer: str, list_id: int, action: str = "Index", key: int | None = None,
              error: ServiceError | None = None) -> Response:
    """The attempt-list controls: every attempt of the list with the widget's controls."""
    _known(ctx, customer)
    presented = _presented(ctx)
    if key is not None and error is None:
        return _proctor_act(ctx, customer, key, action, presented, list_id)
    query = _signed_query(ctx)
    return pages.render(PACKAGE, "deliveryodata/proctor.html", error.status if error else 200,
                        frame_ancestors=_frame_ancestors(ctx), customer=customer, query=query,
                        attempts=_attempt_views(ctx, customer, presented, None, list_id),
                        actions=PROCTOR_ACTIONS, csrf=_proctor_csrf(ctx, customer, presented), list_id=list_id,
                        error=error.message if error else None,
                        poll=f"/lobby/{customer}/page/ListState/{list_id}?{query}")


def static_file(ctx: Ctx, name: str) -> Response:
    """The pages' script and stylesheet."""
    return pages.static(PACKAGE, name)


GUARDED = {name: _guarded(view) for name, view in
           {"lobby": lobby_page, "start": lobby_start, "delivery": delivery_page,
            "finish": delivery_finish}.items()}
