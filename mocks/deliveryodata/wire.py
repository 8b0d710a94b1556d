"""The OData v3 JSON Light wire format (minimal metadata) and the two error renderers of the service."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from contracts.odata.csdl import CsdlModel, format_datetime
from mocks.core.errors import ServiceError
from mocks.core.render import render_json_error

JSON_LIGHT = "application/json; odata=minimalmetadata; streaming=true; charset=utf-8"
VERSION_HEADERS = {"DataServiceVersion": "3.0"}
# DateTime properties the real service writes without 'Z' (unspecified kind, documented as UTC or local)
UNSPECIFIED_KIND = frozenset({("Result", "WhenStarted"), ("Result", "WhenFinished"),
                              ("Appointment", "AppointmentStart")})
LOBBY_PREFIX = "/lobby/"


def encode_entity(model: CsdlModel, type_name: str, entity: dict[str, Any]) -> dict[str, Any]:
    """An entity's values as JSON Light: Int64 as strings, DateTime as the service writes it, explicit nulls."""
    etype = model.types[type_name]
    out: dict[str, Any] = {}
    for name, value in entity.items():
        nav = etype.navigation.get(name)
        if nav is not None:
            if isinstance(value, list):
                out[name] = [encode_entity(model, nav.target, v) for v in value]
            else:
                out[name] = None if value is None else encode_entity(model, nav.target, value)
            continue
        kind = etype.properties[name].type
        if value is None:
            out[name] = None
        elif kind == "Edm.Int64":
            out[name] = str(value)
        elif kind == "Edm.DateTime" and isinstance(value, datetime):
            out[name] = format_datetime(value, utc_suffix=(type_name, name) not in UNSPECIFIED_KIND)
        else:
            out[name] = value
    return out


def odata_json(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON Light response with the DataServiceVersion header."""
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Response(body, status=status, headers={**VERSION_HEADERS, **(headers or {})}, content_type=JSON_LIGHT)


def render_error(error: ServiceError, path: str, now: datetime) -> Response:
    """``odata.error`` for the OData service; examrig's JSON error shape behind the lobby and proctor URLs."""
    if path.startswith(LOBBY_PREFIX):
        return render_json_error(error, path, now)
    body = {"odata.error": {"code": "", "message": {"lang": "en-US", "value": error.message}}}
    return odata_json(body, status=error.status, headers=error.headers)
