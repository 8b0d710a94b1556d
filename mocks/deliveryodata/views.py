"""HTTP <-> the deliveryodata model: auth, query options, one model call, JSON Light out."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from werkzeug.wrappers import Response

from mocks.core import jsonbody
from mocks.core.app import Ctx
from mocks.core.errors import MethodNotAllowed, UnsupportedMediaType
from mocks.core.render import empty_response, json_response
from mocks.deliveryodata import errors as e
from mocks.deliveryodata.config import Customer
from mocks.deliveryodata.models import PROCTOR_ACTIONS, DeliveryOData
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


def _check_method(ctx: Ctx, allowed: tuple[str, ...]) -> None:
    if ctx.method not in allowed:
        raise MethodNotAllowed(method=ctx.method)


def _body(ctx: Ctx) -> dict[str, Any]:
    if ctx.request.mimetype not in ("application/json", ""):
        raise UnsupportedMediaType(field="Content-Type", content_type=ctx.request.content_type or "")
    try:
        data = jsonbody.loads(ctx.body, empty=None)
    except jsonbody.JsonRefused as exc:
        raise e.InvalidBody(field=exc.field, detail=exc.message) from None
    if data is None:
        raise e.InvalidBody(field="body", detail="a JSON object is required")
    if not isinstance(data, dict):
        raise e.InvalidBody(field="body", detail="expected a JSON object")
    return data


def _prefer(ctx: Ctx, name: str) -> bool:
    return name in [p.strip().lower() for p in ctx.request.headers.get("Prefer", "").split(",")]


def service_document(ctx: Ctx, customer: str) -> Response:
    """The service document: every entity set served."""
    _authorize(ctx, customer)
    sets = _model(ctx).csdl.sets
    return odata_json({"odata.metadata": _root(ctx, customer) + "$metadata",
                       "value": [{"name": s, "url": s} for s in sets]})


def metadata(ctx: Ctx, customer: str) -> Response:
    """``$metadata``: the CSDL examrig keeps in contracts/odata."""
    _authorize(ctx, customer)
    return Response(_model(ctx).csdl.text, headers=VERSION_HEADERS, content_type="application/xml; charset=utf-8")


def _entity_body(ctx: Ctx, customer: str, entity_set: str, entity: dict[str, Any]) -> dict[str, Any]:
    model = _model(ctx)
    etype = model.csdl.set_type(entity_set)
    return encode_entity(model.csdl, etype.name, entity,
                         {"odata.metadata": f"{_root(ctx, customer)}$metadata#{entity_set}/@Element"})


def collection(ctx: Ctx, customer: str, entity_set: str) -> Response:
    """GET a feed (query options, paging) or POST a new entity."""
    _authorize(ctx, customer)
    _check_method(ctx, COLLECTION_METHODS.get(entity_set, ("GET",)))
    model = _model(ctx)
    if ctx.method == "POST":
        body = _body(ctx)
        creators = {"Attempts": model.create_attempt, "AttemptLists": model.create_attempt_list,
                    "AttemptMetadata": model.create_metadata, "Appointments": model.create_appointment}
        entity = creators[entity_set](ctx.tenant, customer, body)
        if entity_set == "Attempts":
            entity["ProctorFacingQMControlsWidgetUrl"] = model.proctor_url(ctx.tenant, customer, entity["ID"],
                                                                           _base(ctx))
        location = {"Location": f"{_root(ctx, customer)}{entity_set}({entity['ID']})"}
        if _prefer(ctx, "return-no-content"):
            return empty_response(204, {**VERSION_HEADERS, **location, "Preference-Applied": "return-no-content"})
        return odata_json(_entity_body(ctx, customer, entity_set, entity), 201, location)
    args = ctx.request.args
    opts = parse_options(args, model.csdl, entity_set, single=False, orderby_mode=model.config.orderby)
    page = model.query(ctx.tenant, customer, entity_set, opts)
    etype = model.csdl.set_type(entity_set)
    data: dict[str, Any] = {"odata.metadata": f"{_root(ctx, customer)}$metadata#{entity_set}"}
    if page.total is not None:
        data["odata.count"] = str(page.total)
    data["value"] = [encode_entity(model.csdl, etype.name, ent) for ent in page.entities]
    if page.more:
        shown = len(page.entities)
        params = [(k, v) for k, v in args.items(multi=True) if k not in ("$skip", "$top")]
        if opts.top is not None:
            params.append(("$top", str(opts.top - shown)))
        params.append(("$skip", str(opts.skip + shown)))
        from urllib.parse import urlencode
        data["odata.nextLink"] = f"{_root(ctx, customer)}{entity_set}?{urlencode(params, safe='$/,')}"
    return odata_json(data)


def entity(ctx: Ctx, customer: str, entity_set: str, key: int) -> Response:
    """GET, PATCH/MERGE or DELETE one entity."""
    _authorize(ctx, customer)
    _check_method(ctx, ENTITY_METHODS.get(entity_set, ("GET",)))
    model = _model(ctx)
    method = ctx.method
    if method == "DELETE":
        model.delete_appointment(ctx.tenant, customer, key)
        return empty_response(204, dict(VERSION_HEADERS))
    if method in ("PATCH", "MERGE"):
        body = _body(ctx)
        updated = (model.update_attempt if entity_set == "Attempts" else model.update_result)(
            ctx.tenant, customer, key, body)
        if _prefer(ctx, "return-content"):
            if entity_set == "Attempts":
                updated = model.attempt_with_urls(ctx.tenant, customer, key, _base(ctx))
            return odata_json(_entity_body(ctx, customer, entity_set, updated),
                              headers={"Preference-Applied": "return-content"})
        return empty_response(204, dict(VERSION_HEADERS))
    if entity_set == "Attempts" and not ctx.environ.get("QUERY_STRING"):
        # the launch read (GET Attempts(n) without query options): the service's hot path
        found = model.attempt_with_urls(ctx.tenant, customer, key, _base(ctx))
        return odata_json(encode_entity(model.csdl, "Attempt", found,
                                        {"odata.metadata": f"{_root(ctx, customer)}$metadata#Attempts/@Element"}))
    opts = parse_options(ctx.request.args, model.csdl, entity_set, single=True, orderby_mode=model.config.orderby)
    if entity_set == "Attempts":
        found = model.attempt_with_urls(ctx.tenant, customer, key, _base(ctx), opts.expand)
    elif entity_set == "AttemptLists":
        found = model.list_with_url(ctx.tenant, customer, key, _base(ctx), opts.expand)
    else:
        found = model.get(ctx.tenant, customer, entity_set, key, opts.expand)
    return odata_json(_entity_body(ctx, customer, entity_set, found))


def audit_value(ctx: Ctx, customer: str, key: int) -> Response:
    """``SessionAuditLogs(key)/$value``: the media resource, CSV."""
    _authorize(ctx, customer)
    text = _model(ctx).audit_csv(ctx.tenant, customer, key)
    return Response(text, headers=VERSION_HEADERS, content_type="text/csv; charset=utf-8")


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
                             type="Edm.String", value=repr(session if not isinstance(session, str | None) else code))
    return json_response(_model(ctx).start(ctx.tenant, customer, key, session, code))


def _minutes(ctx: Ctx, action: str) -> int | None:
    if action != "AddTime":
        return None
    value = _body(ctx).get("Minutes")
    if isinstance(value, bool) or not isinstance(value, int):
        raise e.InvalidValue(field="Minutes", type="Edm.Int32", value=repr(value))
    return value


def proctor_widget(ctx: Ctx, customer: str, key: int, action: str = "Index") -> Response:
    """The proctor widget URL: GET reads the state; POST ``<Action>`` applies a control."""
    _known(ctx, customer)
    if (action == "Index") != (ctx.method == "GET") or action not in ("Index", *PROCTOR_ACTIONS):
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
    if action not in PROCTOR_ACTIONS:
        raise MethodNotAllowed(method=ctx.method)
    return json_response(model.proctor(ctx.tenant, customer, key, presented, action, _minutes(ctx, action),
                                       list_id=list_id))
