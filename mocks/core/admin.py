"""The one admin door of every mock, under ``/_examrig/``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

from mocks.core import client_check_route, console, errors, jsonbody, openapi_route
from mocks.core.clock import ClockRangeError, check_instant, check_step, parse_iso
from mocks.core.faults import FaultSpecError
from mocks.core.journal import FILTER_KEYS
from mocks.core.metrics import CONTENT_TYPE
from mocks.core.render import json_response
from mocks.core.settings import redact
from mocks.core.store import StoreUnavailable

if TYPE_CHECKING:
    from mocks.core.app import Ctx, ServiceApp

#: the state hook version the admin door implements (conformance/targets.py speaks the same)
STATE_HOOK_VERSION = 1
VERSION = "0.1.0"


def admin_rules(prefix: str) -> list[Rule]:
    """The admin routes (endpoints are prefixed ``admin:``)."""
    spec = [
        ("/health", "health", ["GET"]),
        ("/version", "version", ["GET"]),
        ("/reset", "reset", ["POST"]),
        ("/clock", "clock", ["GET", "POST"]),
        ("/faults", "faults", ["GET", "POST", "DELETE"]),
        ("/faults/<rule_id>", "fault", ["GET", "DELETE"]),
        ("/journal", "journal", ["GET", "DELETE"]),
        ("/journal/verify", "verify", ["POST"]),
        ("/seed", "seed", ["POST"]),
        ("/state/<collection>/<path:key>", "state", ["GET"]),
        ("/config", "config", ["GET"]),
        ("/metrics", "metrics", ["GET"]),
        ("/openapi.json", "openapi", ["GET"]),
        ("/ui", "console", ["GET"]), ("/ui/static/<name>", "consoleStatic", ["GET"]),  # mocks/core/console/
        ("/client-check", "client-check", ["GET"]),  # issue 15: mocks/core/client_check_route.py
    ]
    return [Rule(prefix + path, endpoint=f"admin:{name}", methods=methods) for path, name, methods in spec]


class CrossSiteRefused(errors.Forbidden):
    """A state-changing admin request a browser sent from another site or origin (``field``: the header)."""

    code = "cross_site_refused"
    template = ("{field} says this request comes from another site ({value}): the admin door does not change a "
                "mock's state for another site's page. curl, scripts and the console send it from here.")


STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _from_elsewhere(ctx: Ctx) -> CrossSiteRefused | None:
    """Why a browser's state-changing admin request is refused, or ``None``.

    A page of any site can make a browser POST a form or a no-cors fetch (a JSON body sent as text/plain) to a
    loopback admin door and so reset, seed or fault a mock. Browsers say where a request comes from:
    ``Sec-Fetch-Site: cross-site``, or an ``Origin`` that is not the door's own (a page on another port of the
    same host is another origin). curl, requests and the corpus send neither header and are not affected.
    """
    headers = ctx.request.headers
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site.strip().lower() == "cross-site":
        return CrossSiteRefused(field="Sec-Fetch-Site", value=site[:200])
    origin = headers.get("Origin")
    if origin is not None and not _own_origin(origin, ctx.request.host):
        return CrossSiteRefused(field="Origin", value=origin[:200])
    return None


def _own_origin(origin: str, host: str) -> bool:
    # host and port compared (the scheme's default port when absent), not the scheme: behind a TLS-terminating
    # proxy the door sees http while the browser's Origin says https
    parts, door = urlsplit(origin.strip()), urlsplit(f"//{host}")
    try:
        default = _DEFAULT_PORTS.get(parts.scheme)
        return (default is not None and parts.hostname is not None and door.hostname is not None
                and parts.hostname == door.hostname
                and (parts.port or default) == (door.port or default))
    except ValueError:  # a port that is not a number
        return False


def dispatch_admin(app: ServiceApp, ctx: Ctx, endpoint: str, values: Mapping[str, Any]) -> Response:
    """Run one admin operation; errors come back in examrig's JSON error shape."""
    from mocks.core.render import render_json_error
    if ctx.method in STATE_CHANGING:
        refused = _from_elsewhere(ctx)
        if refused is not None:
            return render_json_error(refused, ctx.request.path, ctx.now())
    try:
        if endpoint.startswith("admin:svc:"):
            own: Response = app.views[endpoint](ctx, **values)
            return own
        handler = _HANDLERS[endpoint.split(":", 1)[1]]
        response: Response = handler(app, ctx, **values)
        return response
    except errors.ServiceError as exc:
        return render_json_error(exc, ctx.request.path, ctx.now())


def _json_body(ctx: Ctx, *, required: bool = False) -> Any:
    """The admin body through the one bounded reader (its refusal is already examrig's error shape)."""
    return jsonbody.loads(ctx.body) if required else jsonbody.loads(ctx.body, empty={})


def _explicit_tenant(ctx: Ctx) -> bool:
    return "X-Examrig-Tenant" in ctx.request.headers


def _scope(ctx: Ctx, body: Any) -> str | None:
    """The tenant an admin operation applies to, or ``None`` for all.

    A body ``{"tenant": "t"}`` or ``?tenant=t`` names one; ``{"all": true}`` or
    ``?all=1`` means every tenant; otherwise the ``X-Examrig-Tenant`` header's tenant
    when the header is sent, and every tenant when it is not.
    """
    if (isinstance(body, dict) and body.get("all") is True) or ctx.request.args.get("all") in ("1", "true"):
        return None
    named = (body.get("tenant") if isinstance(body, dict) else None) or ctx.request.args.get("tenant")
    if named is not None:
        if not isinstance(named, str):
            raise errors.BadRequest(field="tenant", message="tenant must be a string")
        return named
    return ctx.tenant if _explicit_tenant(ctx) else None


def _health(app: ServiceApp, ctx: Ctx) -> Response:
    try:
        app.store.check()
    except StoreUnavailable as exc:
        return json_response({"status": "unavailable", "service": app.name, "database": str(exc)}, status=503)
    # process: which process of the mock answered (several serve one mock with --processes N);
    # state_hook: the state hook version this admin door implements (docs/state-hook.md), so examrig's own
    # mock served as an integrator's target is recognised as one
    return json_response({"status": "ok", "service": app.name, "journal": app.journal.stats(),
                          "process": app.runtime.control.token, "state_hook": STATE_HOOK_VERSION})


def _version(app: ServiceApp, ctx: Ctx) -> Response:
    return json_response({"examrig": VERSION, "service": app.name})


def _reset(app: ServiceApp, ctx: Ctx) -> Response:
    tenant = _scope(ctx, _json_body(ctx))
    app.reset(tenant)
    app.clock.reset(tenant)
    app.faults.clear(tenant=tenant)
    app.journal.clear(tenant)
    if tenant is None:
        app.metrics.reset()
    return json_response({"reset": tenant or "all"})


def _clock(app: ServiceApp, ctx: Ctx) -> Response:
    if ctx.method == "GET":
        return json_response(app.clock.describe(ctx.tenant))
    body = _json_body(ctx, required=True)
    if not isinstance(body, dict):
        raise errors.BadRequest(field="body", message="clock body must be a JSON object")
    allowed = {"set", "frozen", "advance", "freeze", "unfreeze"}
    unknown = set(body) - allowed
    if unknown:
        raise errors.BadRequest(field=sorted(unknown)[0], message=f"unknown clock property '{sorted(unknown)[0]}'")
    try:
        # every check before the first change: a refused body leaves the clock as it was
        at = None
        if "set" in body:
            try:
                at = check_instant(parse_iso(str(body["set"])))
            except ClockRangeError:
                raise
            except (ValueError, OverflowError):
                raise errors.BadRequest(field="set", message="set must be an ISO 8601 instant") from None
        seconds = body.get("advance", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise errors.BadRequest(field="advance", message="advance must be a number of seconds")
        check_step(float(seconds), at or app.clock.now(ctx.tenant))
        if at is not None:
            app.clock.set(ctx.tenant, at, frozen=bool(body.get("frozen", True)))
        if body.get("freeze"):
            app.clock.freeze(ctx.tenant)
        if "advance" in body:
            app.clock.advance(ctx.tenant, float(seconds))
    except ClockRangeError as exc:  # NaN, Infinity, 1e20 seconds, year 9999 or 0001 (issue 12)
        raise errors.BadRequest(field=exc.field, message=str(exc)) from None
    if body.get("unfreeze"):
        app.clock.unfreeze(ctx.tenant)
    return json_response(app.clock.describe(ctx.tenant))


def _faults(app: ServiceApp, ctx: Ctx) -> Response:
    method = ctx.method
    if method == "GET":
        return json_response({"faults": [r.to_dict() for r in app.faults.rules(ctx.tenant)],
                              "seed": app.faults.seed})
    if method == "DELETE":
        return json_response({"removed": app.faults.clear(tenant=ctx.tenant)})
    body = _json_body(ctx, required=True)
    specs = body if isinstance(body, list) else [body]
    try:
        rules = [app.faults.add(spec, ctx.tenant) for spec in specs]
    except FaultSpecError as exc:
        raise errors.BadRequest(field=exc.field, message=str(exc)) from None
    return json_response({"faults": [r.to_dict() for r in rules]}, status=201)


def _fault(app: ServiceApp, ctx: Ctx, rule_id: str) -> Response:
    rule = app.faults.rule(rule_id)
    if rule is None or rule.tenant not in (ctx.tenant, "*"):
        raise errors.NotFound(message=f"no fault rule '{rule_id}'")
    if ctx.method == "DELETE":
        app.faults.clear(rule_id=rule_id)
        return json_response({"removed": 1})
    return json_response(rule.to_dict())


def _journal_filters(ctx: Ctx, source: dict[str, Any]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for key in FILTER_KEYS:
        if key in source and source[key] not in (None, ""):
            filters[key] = source[key]
    if "status" in filters:
        try:
            filters["status"] = int(filters["status"])
        except (TypeError, ValueError):
            raise errors.BadRequest(field="status", message="status must be an integer") from None
    tenant = filters.get("tenant")
    if tenant == "*":
        filters.pop("tenant")
    elif tenant is None and _explicit_tenant(ctx):
        filters["tenant"] = ctx.tenant
    return filters


def _int_arg(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.BadRequest(field=name, message=f"{name} must be an integer") from None


def _journal(app: ServiceApp, ctx: Ctx) -> Response:
    if ctx.method == "DELETE":
        return json_response({"removed": app.journal.clear(_scope(ctx, {}))})
    args = ctx.request.args.to_dict()
    unknown = set(args) - set(FILTER_KEYS) - {"since", "limit"}
    if unknown:
        raise errors.BadRequest(field=sorted(unknown)[0], message=f"unknown journal filter '{sorted(unknown)[0]}'")
    window = app.journal.query(since=_int_arg(args.get("since"), "since"),
                               limit=_int_arg(args.get("limit"), "limit"), **_journal_filters(ctx, args))
    return json_response(window.to_dict())


def _verify(app: ServiceApp, ctx: Ctx) -> Response:
    body = _json_body(ctx, required=True)
    if not isinstance(body, dict):
        raise errors.BadRequest(field="body", message="verify body must be a JSON object")
    unknown = set(body) - set(FILTER_KEYS) - {"since", "count", "at_least"}
    if unknown:
        raise errors.BadRequest(field=sorted(unknown)[0], message=f"unknown verify property '{sorted(unknown)[0]}'")
    result = app.journal.expect(count=_int_arg(body.get("count"), "count"),
                                at_least=_int_arg(body.get("at_least"), "at_least"),
                                since=_int_arg(body.get("since"), "since"), **_journal_filters(ctx, body))
    return json_response({"verdict": result.verdict, "code": result.code, "matched": len(result.matched),
                          "expected": result.expected, "near_misses": result.near_misses})


def _seed(app: ServiceApp, ctx: Ctx) -> Response:
    body = _json_body(ctx, required=True)
    if not isinstance(body, dict):
        raise errors.BadRequest(field="body", message="seed body must be a JSON object of collections")
    for name, items in body.items():
        if not isinstance(items, list):
            raise errors.BadRequest(field=name, message=f"seed collection '{name}' must be a JSON array")
    return json_response({"loaded": app.seed(ctx.tenant, body)}, status=201)


def _state(app: ServiceApp, ctx: Ctx, collection: str, key: str) -> Response:
    obj = app.state(ctx.tenant, collection, key)
    if obj is None:
        raise errors.NotFound(message=f"no {collection} object '{key}' in tenant '{ctx.tenant}'")
    return json_response(obj)


def _config(app: ServiceApp, ctx: Ctx) -> Response:
    # Nothing here changes at run time (settings, options and topology are fixed at start-up; what the admin
    # door changes, clocks and faults, has its own routes and is shared through the database): every process
    # of a mock answers the same. The one per-process difference, a process's share of TIS's workers under
    # --processes N, is shown as configured (tests/core/test_metrics_shared.py, tests/races/test_metrics_processes.py)
    options = app.public_config()
    for key in app.runtime.process_options.get(app.name, {}):
        if key in app.configured_options:
            options[key] = app.configured_options[key]
        else:
            options.pop(key, None)
    return json_response(redact({
        "service": app.name,
        "settings": app.settings.public(),
        "options": options,
        "topology": app.runtime.topology,
        "database": app.store.describe(),
    }))


def _metrics(app: ServiceApp, ctx: Ctx) -> Response:
    # with several processes: the sums over all of them (mocks/core/metrics.py SharedMetrics)
    return Response(app.metrics.exposition(app.name), content_type=CONTENT_TYPE)


_HANDLERS: dict[str, Any] = {
    "health": _health, "version": _version, "reset": _reset, "clock": _clock, "faults": _faults,
    "fault": _fault, "journal": _journal, "verify": _verify, "seed": _seed, "state": _state,
    "config": _config, "metrics": _metrics, "openapi": openapi_route.serve, "client-check": client_check_route.serve,
    "console": console.page, "consoleStatic": console.static_file,
}
