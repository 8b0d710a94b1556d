"""The OData v3 JSON Light wire format (minimal metadata) and the two error renderers of the service."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from werkzeug.wrappers import Response

from contracts.odata.csdl import CsdlModel, format_datetime
from mocks.core.errors import ServiceError
from mocks.core.render import BufferedResponse, plain_location, render_json_error

JSON_LIGHT = "application/json; odata=minimalmetadata; streaming=true; charset=utf-8"
VERSION_HEADERS = {"DataServiceVersion": "3.0"}
# DateTime properties the real service writes without 'Z' (unspecified kind, documented as UTC or local)
UNSPECIFIED_KIND = frozenset({("Result", "WhenStarted"), ("Result", "WhenFinished"),
                              ("Appointment", "AppointmentStart")})
LOBBY_PREFIX = "/lobby/"


_PLAIN, _INT64, _DT_UTC, _DT_LOCAL, _NAV_ONE, _NAV_MANY = range(6)


@dataclass(frozen=True)
class _Plan:
    """How an entity type's properties are written: ``kinds`` for every property, and the properties that are
    not written as they are (Int64, DateTime, navigation) in ``special``."""

    kinds: dict[str, tuple[int, str]]
    special: tuple[tuple[str, int, str], ...]


_PLANS: dict[tuple[int, str], tuple[CsdlModel, _Plan]] = {}


def _plan(model: CsdlModel, type_name: str) -> _Plan:
    """How each property of ``type_name`` is written (computed once per model and type)."""
    cached = _PLANS.get((id(model), type_name))
    if cached is not None and cached[0] is model:
        return cached[1]
    etype = model.types[type_name]
    kinds: dict[str, tuple[int, str]] = {}
    for name, nav in etype.navigation.items():
        kinds[name] = (_NAV_MANY if nav.many else _NAV_ONE, nav.target)
    for name, prop in etype.properties.items():
        if prop.type == "Edm.Int64":
            kinds[name] = (_INT64, "")
        elif prop.type == "Edm.DateTime":
            kinds[name] = (_DT_LOCAL if (type_name, name) in UNSPECIFIED_KIND else _DT_UTC, "")
        else:
            kinds[name] = (_PLAIN, "")
    plan = _Plan(kinds, tuple((name, kind, target) for name, (kind, target) in kinds.items() if kind != _PLAIN))
    _PLANS[(id(model), type_name)] = (model, plan)
    return plan


def encode_entity(model: CsdlModel, type_name: str, entity: dict[str, Any],
                  out: dict[str, Any] | None = None) -> dict[str, Any]:
    """An entity's values as JSON Light: Int64 as strings, DateTime as the service writes it, explicit nulls.

    The values are added to ``out`` when given (after the ``odata.metadata`` already there), in the entity's
    order. A key that is not a property or navigation property of the type is a ``KeyError`` (nothing that is
    not in the CSDL, such as a table's own columns, ever reaches the wire).
    """
    plan = _plan(model, type_name)
    kinds = plan.kinds
    if not kinds.keys() >= entity.keys():
        raise KeyError(next(name for name in entity if name not in kinds))
    # every value copied as it is (one C-level update, in the entity's order), then only the properties written
    # otherwise are rewritten in place (most of an entity is strings, Int32 and booleans)
    if out is None:
        out = dict(entity)
    else:
        out.update(entity)
    for name, kind, target in plan.special:
        if name not in entity:  # not carried (a navigation property not expanded): left out
            continue
        value = entity[name]
        if value is None:  # an explicit null
            continue
        if kind == _INT64:
            out[name] = str(value)
        elif kind in (_DT_UTC, _DT_LOCAL):
            if isinstance(value, datetime):
                out[name] = format_datetime(value, utc_suffix=kind == _DT_UTC)
        elif kind == _NAV_MANY:
            out[name] = [encode_entity(model, target, v) for v in value]
        else:
            out[name] = encode_entity(model, target, value)
    return out


_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# the value types orjson writes exactly as _DUMPS does (floats are not among them: orjson writes 1e16 where
# json writes 1e+16, and null for NaN)
_FLAT = frozenset({str, int, bool, type(None)})


def dumps(data: dict[str, Any]) -> bytes:
    """``data`` as JSON in UTF-8, byte for byte as ``json`` writes it compact with ``ensure_ascii=False``.

    A flat object of strings, integers, booleans and nulls (an entity without expanded navigation
    properties: the GET Attempts(n) answer) goes through orjson, which writes such an object with the same
    bytes in a fraction of the time (tests/deliveryodata/test_wire_dumps.py holds the two to each other,
    every character included). Anything else (nested values, floats, subclasses), and whatever orjson
    refuses (an integer past 64 bits, a lone surrogate, a key that is not a string), is written by json,
    whose errors stay what they were.
    """
    if _FLAT.issuperset(map(type, data.values())):
        try:
            return orjson.dumps(data)
        except TypeError:  # orjson.JSONEncodeError: json decides (and raises what it raised)
            pass
    return _DUMPS(data).encode("utf-8")


def odata_json(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON Light response with the DataServiceVersion header (a core BufferedResponse: headers sent as built,
    so only with a Location werkzeug would send unchanged)."""
    hdrs = [("Content-Type", JSON_LIGHT), ("DataServiceVersion", "3.0")]
    if headers:
        hdrs.extend(headers.items())
    body = dumps(data)
    if headers and "Location" in headers and not plain_location(headers["Location"]):
        return Response(body, status=status, headers=hdrs)  # werkzeug turns an IRI into a URI
    return BufferedResponse(body, status=status, headers=hdrs)


def render_error(error: ServiceError, path: str, now: datetime) -> Response:
    """``odata.error`` for the OData service (or verbose ``error`` / XML ``m:error`` when the view negotiated
    that format); examrig's JSON error shape behind the lobby and proctor URLs."""
    if path.startswith(LOBBY_PREFIX):
        return render_json_error(error, path, now)
    fmt = getattr(error, "odata_format", None)
    if fmt is not None and (fmt.kind != "light" or fmt.version != 3):
        from mocks.deliveryodata.fmt_atom import error as atom_error
        from mocks.deliveryodata.fmt_verbose import error as verbose_error
        body_bytes = verbose_error(error) if fmt.kind == "verbose" else atom_error(error)
        hdrs = {"Content-Type": fmt.content_type, "DataServiceVersion": fmt.version_header, **error.headers}
        return Response(body_bytes, status=error.status, headers=hdrs)
    body = {"odata.error": {"code": "", "message": {"lang": "en-US", "value": error.message}}}
    if fmt is not None and fmt.kind == "light" and fmt.level in ("fullmetadata", "nometadata"):
        # Web API writes the error with the negotiated media type: the body is the same odata.error at every
        # metadata level, the Content-Type names the level the client asked for
        light_hdrs = [("Content-Type", fmt.content_type), ("DataServiceVersion", "3.0"), *error.headers.items()]
        return Response(_DUMPS(body).encode("utf-8"), status=error.status, headers=light_hdrs)
    return odata_json(body, status=error.status, headers=error.headers)
