"""HTTP <-> the deliveryodata model: version and format negotiation, auth, query options, one model call, a
writer per format (JSON Light minimal in wire.py; full/no metadata, verbose JSON and Atom in fmt_*.py)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from mocks.core import jsonbody
from mocks.core.app import Ctx
from mocks.core.errors import MethodNotAllowed, ServiceError, UnsupportedMediaType
from mocks.core.render import BufferedResponse, empty_response, json_response
from mocks.deliveryodata import errors as e
from mocks.deliveryodata import fmt_atom, fmt_jsonlight, fmt_verbose, jsonreader
from mocks.deliveryodata import negotiate as n
from mocks.deliveryodata.config import Customer
from mocks.deliveryodata.fmt_common import Feed
from mocks.deliveryodata.models import PROCTOR_ACTIONS, DeliveryOData, shown
from mocks.deliveryodata.odata import parse_options
from mocks.deliveryodata.signing import Presented
from mocks.deliveryodata.wire import VERSION_HEADERS, encode_entity, odata_json

COLLECTION_METHODS = {"Attempts": ("GET", "POST"), "AttemptLists": ("GET", "POST"), "AttemptMetadata": ("GET", "POST"),
                      "Appointments": ("GET", "POST")}
ENTITY_METHODS = {"Attempts": ("GET", "PATCH", "MERGE"), "Results": ("GET", "PATCH", "MERGE"),
                  "Appointments": ("GET", "DELETE")}


def _model(ctx: Ctx) -> DeliveryOData:
    model: DeliveryOData = ctx.app.model  # type: ignore[attr-defined]
    return model


_BASES: dict[tuple[str, str], str] = {}


def _base(ctx: Ctx) -> str:
    public = _model(ctx).config.public_url
    if public:
        return public
    environ = ctx.environ
    key = (environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", ""))
    found = _BASES.get(key)
    if found is None:
        found = ctx.request.host_url.rstrip("/")
        if len(_BASES) < 64:  # a handful of host names in practice; never grows without bound
            _BASES[key] = found
    return found


def _root(ctx: Ctx, customer: str) -> str:
    return f"{_base(ctx)}/deliveryodata/{customer}/"


def _authorize(ctx: Ctx, customer: str) -> Customer:
    model = _model(ctx)
    found = model.config.customers.get(customer)
    if found is None:
        raise e.UnknownCustomer(customer=customer)
    header = ctx.environ.get("HTTP_AUTHORIZATION", "")
    # Authorization values already accepted, per customer: the decode and the two constant-time comparisons
    # run once per distinct header (bounded; only accepted credentials are remembered)
    accepted = model.auth_cache
    known = accepted.get((customer, header))
    if known is found:
        return found
    challenge = {"WWW-Authenticate": f'Basic realm="deliveryodata/{customer}"'}
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise e.AuthRequired(headers=challenge)
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise e.AuthRequired(headers=challenge) from None
    # compare both halves whatever the first gives, in constant time
    ok_user = hmac.compare_digest(user.encode(), found.user.encode())
    ok_password = hmac.compare_digest(password.encode(), found.password.encode())
    if not (sep and ok_user and ok_password):
        raise e.AuthRequired(headers=challenge)
    if len(accepted) >= 256:
        accepted.clear()
    accepted[(customer, header)] = found
    return found


# the JSON Light minimal metadata answer at 3.0: today's writer (wire.py), kept on the hot path
DEFAULT = n.choose(None, n.ENTRY, 3)
View = Callable[..., Response]


def _version(ctx: Ctx) -> int:
    env = ctx.environ
    # four membership tests, not a generator: this runs on every request, the hot path included
    if "HTTP_DATASERVICEVERSION" not in env and "HTTP_MAXDATASERVICEVERSION" not in env \
            and "HTTP_ODATA_VERSION" not in env and "HTTP_ODATA_MAXVERSION" not in env:
        return 3
    version = n.response_version(env)
    if version is None:  # ODataVersionConstraint: the OData route does not match
        raise e.ResourceNotFound(uri=ctx.request.url)
    return version


def odata_view(payload: str) -> Callable[[View], View]:
    """Negotiate the version and the format of ``payload`` first, and write errors in the format chosen."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(ctx: Ctx, **values: Any) -> Response:
            version = _version(ctx)
            fmt = n.choose(ctx.environ.get("HTTP_ACCEPT"), payload, version)
            try:
                return view(ctx, fmt, **values)
            except ServiceError as exc:
                # the error renderer (wire.render_error) writes it as the client asked, at its version
                exc.odata_format = n.choose(ctx.environ.get("HTTP_ACCEPT"), n.ERROR, version)  # type: ignore[attr-defined]
                raise
        return wrapped
    return decorate


def _versioned(fmt: n.Format) -> dict[str, str]:
    return VERSION_HEADERS if fmt.version == 3 else {"DataServiceVersion": fmt.version_header}


def _respond(body: bytes, fmt: n.Format, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    hdrs = [("Content-Type", fmt.content_type), ("DataServiceVersion", fmt.version_header)]
    if headers:
        hdrs.extend(headers.items())
    return BufferedResponse(body, status=status, headers=hdrs)


def _light(data: dict[str, Any], fmt: n.Format, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if fmt is DEFAULT or fmt.content_type == DEFAULT.content_type:
        return odata_json(data, status, headers)
    return _respond(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), fmt, status,
                    headers)


def _write_entry(ctx: Ctx, fmt: n.Format, customer: str, entity_set: str, entity: dict[str, Any], status: int = 200,
                 headers: dict[str, str] | None = None) -> Response:
    model = _model(ctx)
    root = _root(ctx, customer)
    if fmt.kind == n.LIGHT:
        if fmt.level == n.MINIMAL:
            return _light(_entity_body(ctx, customer, entity_set, entity), fmt, status, headers)
        return _light(fmt_jsonlight.entity(model.csdl, root, entity_set, entity, fmt.level), fmt, status, headers)
    if fmt.kind == n.VERBOSE:
        return _respond(fmt_verbose.entry(model.csdl, root, entity_set, entity, fmt.version), fmt, status, headers)
    return _respond(fmt_atom.entry(model.csdl, root, entity_set, entity, model.clock.now(ctx.tenant)), fmt, status,
                    headers)


def _entity_in(ctx: Ctx, entity_set: str) -> dict[str, Any]:
    """The request body as the model's input, from JSON Light, verbose JSON or an Atom entry."""
    model = _model(ctx)
    type_name = model.csdl.sets[entity_set]
    kind = n.body_format(ctx.request.content_type or "")
    if kind == n.ATOM:
        try:
            return fmt_atom.decode(model.csdl, type_name, ctx.body or b"")
        except fmt_atom.AtomBodyError as exc:
            raise e.InvalidBody(field="body", detail=str(exc)) from None
    body = _body(ctx, odata=True)
    request_version = n.parse_version(ctx.environ.get("HTTP_DATASERVICEVERSION"))
    if kind == n.VERBOSE or "__metadata" in body or (request_version is not None and request_version < 3):
        return fmt_verbose.decode(model.csdl, type_name, body)
    return body


def _check_method(ctx: Ctx, allowed: tuple[str, ...]) -> None:
    if ctx.method not in allowed:
        raise MethodNotAllowed(method=ctx.method)


def _odata_json(body: bytes) -> Any:
    """An OData request body: strict JSON first (every well-formed client, the hot path), then what ODataLib's
    own reader also takes (``{ExternalAttemptID: "x"}``, single quotes: jsonreader.py), bounded the same way."""
    try:
        return jsonbody.loads(body, empty=None)
    except jsonbody.JsonRefused as exc:
        if not exc.reason.startswith("is not valid JSON"):
            raise
        try:
            strict = jsonreader.to_strict(body.decode("utf-8"))
        except (UnicodeDecodeError, jsonreader.NotODataJson):
            raise exc from None
        try:
            return jsonbody.loads(strict, empty=None)
        except jsonbody.JsonRefused:
            raise exc from None


def _body(ctx: Ctx, *, odata: bool = False) -> dict[str, Any]:
    if ctx.request.mimetype not in ("application/json", ""):
        raise UnsupportedMediaType(field="Content-Type", content_type=ctx.request.content_type or "")
    try:
        data = _odata_json(ctx.body) if odata else jsonbody.loads(ctx.body, empty=None)
    except jsonbody.JsonRefused as exc:
        raise e.InvalidBody(field=exc.field, detail=exc.message) from None
    if data is None:
        raise e.InvalidBody(field="body", detail="a JSON object is required")
    if not isinstance(data, dict):
        raise e.InvalidBody(field="body", detail="expected a JSON object")
    return data


def _prefer(ctx: Ctx, name: str) -> bool:
    return name in [p.strip().lower() for p in ctx.request.headers.get("Prefer", "").split(",")]


@odata_view(n.SERVICE)
def service_document(ctx: Ctx, fmt: n.Format, customer: str) -> Response:
    """The service document: every entity set served."""
    _authorize(ctx, customer)
    sets = list(_model(ctx).csdl.sets)
    root = _root(ctx, customer)
    if fmt.kind == n.LIGHT:
        if fmt.level == n.MINIMAL:
            return _light({"odata.metadata": root + "$metadata", "value": [{"name": s, "url": s} for s in sets]},
                          fmt)
        return _light(fmt_jsonlight.service_document(root, sets, fmt.level), fmt)
    if fmt.kind == n.VERBOSE:
        return _respond(fmt_verbose.service_document(sets), fmt)
    return _respond(fmt_atom.service_document(root, sets), fmt)


@odata_view(n.METADATA)
def metadata(ctx: Ctx, fmt: n.Format, customer: str) -> Response:
    """``$metadata``: the CSDL examrig keeps in contracts/odata (XML whatever the Accept: the only writer of it)."""
    _authorize(ctx, customer)
    return Response(_model(ctx).csdl.text, headers=_versioned(fmt), content_type="application/xml; charset=utf-8")


def _entity_body(ctx: Ctx, customer: str, entity_set: str, entity: dict[str, Any]) -> dict[str, Any]:
    model = _model(ctx)
    etype = model.csdl.set_type(entity_set)
    return encode_entity(model.csdl, etype.name, entity,
                         {"odata.metadata": f"{_root(ctx, customer)}$metadata#{entity_set}/@Element"})


@odata_view(n.FEED)
def collection(ctx: Ctx, fmt: n.Format, customer: str, entity_set: str) -> Response:
    """GET a feed (query options, paging) or POST a new entity."""
    _authorize(ctx, customer)
    _check_method(ctx, COLLECTION_METHODS.get(entity_set, ("GET",)))
    model = _model(ctx)
    if ctx.method == "POST":
        out = fmt if fmt is DEFAULT else n.choose(ctx.environ.get("HTTP_ACCEPT"), n.ENTRY, fmt.version)
        body = _entity_in(ctx, entity_set)
        creators = {"Attempts": model.create_attempt, "AttemptLists": model.create_attempt_list,
                    "AttemptMetadata": model.create_metadata, "Appointments": model.create_appointment}
        entity = creators[entity_set](ctx.tenant, customer, body)
        if entity_set == "Attempts":
            entity["ProctorFacingQMControlsWidgetUrl"] = model.proctor_url(ctx.tenant, customer, entity["ID"],
                                                                           _base(ctx))
        location = {"Location": f"{_root(ctx, customer)}{entity_set}({entity['ID']})"}
        if _prefer(ctx, "return-no-content"):
            return empty_response(204, {**_versioned(out), **location, "Preference-Applied": "return-no-content"})
        if out is DEFAULT:
            return odata_json(_entity_body(ctx, customer, entity_set, entity), 201, location)
        return _write_entry(ctx, out, customer, entity_set, entity, 201, location)
    args = ctx.request.args
    opts = parse_options(args, model.csdl, entity_set, single=False, orderby_mode=model.config.orderby)
    page = model.query(ctx.tenant, customer, entity_set, opts)
    next_link = None
    if page.more:
        shown = len(page.entities)
        params = [(k, v) for k, v in args.items(multi=True) if k not in ("$skip", "$top")]
        if opts.top is not None:
            params.append(("$top", str(opts.top - shown)))
        params.append(("$skip", str(opts.skip + shown)))
        next_link = f"{_root(ctx, customer)}{entity_set}?{urlencode(params, safe='$/,')}"
    root = _root(ctx, customer)
    if fmt.kind == n.LIGHT and fmt.level == n.MINIMAL:
        etype = model.csdl.set_type(entity_set)
        data: dict[str, Any] = {"odata.metadata": f"{root}$metadata#{entity_set}"}
        if page.total is not None:
            data["odata.count"] = str(page.total)
        data["value"] = [encode_entity(model.csdl, etype.name, ent) for ent in page.entities]
        if next_link is not None:
            data["odata.nextLink"] = next_link
        return _light(data, fmt)
    written = Feed(entity_set, page.entities, page.total, next_link)
    if fmt.kind == n.LIGHT:
        return _light(fmt_jsonlight.feed(model.csdl, root, written, fmt.level), fmt)
    if fmt.kind == n.VERBOSE:
        return _respond(fmt_verbose.feed(model.csdl, root, written, fmt.version), fmt)
    return _respond(fmt_atom.feed(model.csdl, root, written, fmt.version, model.clock.now(ctx.tenant)), fmt)


@odata_view(n.ENTRY)
def entity(ctx: Ctx, fmt: n.Format, customer: str, entity_set: str, key: int) -> Response:
    """GET, PATCH/MERGE or DELETE one entity."""
    _authorize(ctx, customer)
    _check_method(ctx, ENTITY_METHODS.get(entity_set, ("GET",)))
    model = _model(ctx)
    method = ctx.method
    if method == "DELETE":
        model.delete_appointment(ctx.tenant, customer, key)
        return empty_response(204, dict(_versioned(fmt)))
    if method in ("PATCH", "MERGE"):
        body = _entity_in(ctx, entity_set)
        updated = (model.update_attempt if entity_set == "Attempts" else model.update_result)(
            ctx.tenant, customer, key, body)
        if _prefer(ctx, "return-content"):
            if entity_set == "Attempts":
                updated = model.attempt_with_urls(ctx.tenant, customer, key, _base(ctx))
            return _write_entry(ctx, fmt, customer, entity_set, updated,
                                headers={"Preference-Applied": "return-content"})
        return empty_response(204, dict(_versioned(fmt)))
    if fmt is not DEFAULT:
        return _entity_formatted(ctx, fmt, customer, entity_set, key)
    if entity_set == "Attempts" and not ctx.environ.get("QUERY_STRING"):
        # the launch read (GET Attempts(n) without query options): the service's hot path
        base = _base(ctx)
        found = model.attempt_with_urls(ctx.tenant, customer, key, base)
        return odata_json(encode_entity(model.csdl, "Attempt", found, {
            "odata.metadata": f"{base}/deliveryodata/{customer}/$metadata#Attempts/@Element"}))
    return odata_json(_entity_body(ctx, customer, entity_set, _read(ctx, customer, entity_set, key)))


def _read(ctx: Ctx, customer: str, entity_set: str, key: int) -> dict[str, Any]:
    model = _model(ctx)
    opts = parse_options(ctx.request.args, model.csdl, entity_set, single=True, orderby_mode=model.config.orderby)
    if entity_set == "Attempts":
        return model.attempt_with_urls(ctx.tenant, customer, key, _base(ctx), opts.expand)
    if entity_set == "AttemptLists":
        return model.list_with_url(ctx.tenant, customer, key, _base(ctx), opts.expand)
    return model.get(ctx.tenant, customer, entity_set, key, opts.expand)


def _entity_formatted(ctx: Ctx, fmt: n.Format, customer: str, entity_set: str, key: int) -> Response:
    return _write_entry(ctx, fmt, customer, entity_set, _read(ctx, customer, entity_set, key))


@odata_view(n.ENTRY)
def audit_value(ctx: Ctx, fmt: n.Format, customer: str, key: int) -> Response:
    """``SessionAuditLogs(key)/$value``: the media resource, CSV."""
    _authorize(ctx, customer)
    text = _model(ctx).audit_csv(ctx.tenant, customer, key)
    return Response(text, headers=_versioned(fmt), content_type="text/csv; charset=utf-8")


# -- behind the signed URLs ------------------------------------------------------------------------


def _presented(ctx: Ctx) -> Presented:
    args = ctx.request.args
    for name in ("nonce", "timestamp", "role", "signature"):
        if not args.get(name):
            raise e.SignatureInvalid(field=name)
    return Presented(args["nonce"], args["timestamp"], args["role"], args["signature"])


def _known(ctx: Ctx, customer: str) -> None:
    if customer not in _model(ctx).config.customers:
        raise e.UnknownCustomer(customer=customer)


def lobby_enter(ctx: Ctx, customer: str, key: int) -> Response:
    """The participant lobby URL: enter the lobby (single use)."""
    _known(ctx, customer)
    return json_response(_model(ctx).enter_lobby(ctx.tenant, customer, key, _presented(ctx)))


def lobby_start(ctx: Ctx, customer: str, key: int) -> Response:
    """Start the assessment from the lobby: ``{"Session": ..., "UnlockCode": optional}``."""
    _known(ctx, customer)
    body = _body(ctx) if ctx.body.strip() else {}
    session, code = body.get("Session"), body.get("UnlockCode")
    if not isinstance(session, str | None) or not isinstance(code, str | None):
        raise e.InvalidValue(field="Session" if not isinstance(session, str | None) else "UnlockCode",
                             type="Edm.String", value=shown(session if not isinstance(session, str | None) else code))
    return json_response(_model(ctx).start(ctx.tenant, customer, key, session, code))


def _minutes(ctx: Ctx, action: str) -> int | None:
    if action != "AddTime":
        return None
    value = _body(ctx).get("Minutes")
    if isinstance(value, bool) or not isinstance(value, int):
        raise e.InvalidValue(field="Minutes", type="Edm.Int32", value=shown(value))
    return value


def check_action(action: str) -> None:
    """A control the widget has, else 404 (the path names nothing: not a method the path refuses)."""
    if action not in PROCTOR_ACTIONS:
        raise e.UnknownAction(action=action, actions=", ".join(PROCTOR_ACTIONS), field="action")


def proctor_widget(ctx: Ctx, customer: str, key: int, action: str = "Index") -> Response:
    """The proctor widget URL: GET reads the state; POST ``<Action>`` applies a control."""
    _known(ctx, customer)
    if action != "Index":
        check_action(action)
    if (action == "Index") != (ctx.method == "GET"):
        raise MethodNotAllowed(method=ctx.method)
    return json_response(_model(ctx).proctor(ctx.tenant, customer, key, _presented(ctx), action,
                                             _minutes(ctx, action)))


def list_widget(ctx: Ctx, customer: str, list_id: int, action: str = "Index", key: int | None = None) -> Response:
    """The AttemptList controls URL: the state of every attempt, or a control on one of them."""
    _known(ctx, customer)
    model = _model(ctx)
    presented = _presented(ctx)
    if key is None:
        lst = model.get(ctx.tenant, customer, "AttemptLists", list_id, [["Attempts"]])
        states = [model.proctor(ctx.tenant, customer, a["ID"], presented, "Index", list_id=list_id)
                  for a in lst["Attempts"]]
        if not states:
            model.proctor_check_list(ctx.tenant, customer, list_id, presented)
        return json_response({"AttemptListID": list_id, "Attempts": states})
    check_action(action)
    if ctx.method != "POST":
        raise MethodNotAllowed(method=ctx.method)
    return json_response(model.proctor(ctx.tenant, customer, key, presented, action, _minutes(ctx, action),
                                       list_id=list_id))
