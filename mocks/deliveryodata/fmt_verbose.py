"""Verbose JSON (OData v1/v2, ``application/json;odata=verbose``): ``{"d": ...}`` out, verbose bodies in.

The shapes are MS-ODATA 2.2.6.3 (JSON format) as ODataLib 5.x's verbose writer produces them:
``results``/``__count``/``__next`` from v2 (a bare array at v1), ``__metadata`` with uri and type,
deferred navigation properties, Int64 as strings, DateTime as ``"\\/Date(ms)\\/"``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.odata.csdl import CsdlModel, format_datetime
from mocks.core.errors import ServiceError
from mocks.deliveryodata.fmt_common import Feed, entity_url, set_of, utc_naive

EPOCH = datetime(1970, 1, 1)


class _Raw(str):
    """JSON text written as it is (the ``\\/Date(ms)\\/`` form, which json.dumps never writes)."""


def _encode_str(text: str, _plain: Any = json.encoder.encode_basestring) -> str:
    return text if type(text) is _Raw else str(_plain(text))


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(data: Any) -> bytes:
    """Compact JSON with :class:`_Raw` strings left as written.

    The stdlib's pure-Python iterencode takes the string encoder as a parameter; the C encoder
    does not, so verbose JSON (never the hot path) goes through the Python one.
    """
    chunks = json.encoder._make_iterencode(  # type: ignore[attr-defined]
        {}, _refuse, _encode_str, None, float.__repr__, ":", ",", False, False, False)(data, 0)
    return "".join(chunks).encode("utf-8")


def date_value(value: datetime) -> _Raw:
    """``\\/Date(ms)\\/``: milliseconds since 1970 of the UTC value (an unspecified-kind value as it is)."""
    ms = (utc_naive(value) - EPOCH) // timedelta(milliseconds=1)
    return _Raw(f'"\\/Date({ms})\\/"')


def encode_entity(model: CsdlModel, root: str, type_name: str, entity: dict[str, Any], version: int) -> dict[str, Any]:
    """One entity: ``__metadata``, the properties, navigation properties expanded or deferred."""
    etype = model.types[type_name]
    url = entity_url(root, model, type_name, entity)
    meta: dict[str, Any] = {"id": url, "uri": url, "type": model.qualified(type_name)}
    if etype.has_stream:
        meta.update({"media_src": f"{url}/$value", "content_type": "text/csv", "edit_media": f"{url}/$value"})
    out: dict[str, Any] = {"__metadata": meta}
    for name, value in entity.items():
        prop = etype.properties.get(name)
        if prop is None:
            continue
        if value is None or prop.type not in ("Edm.Int64", "Edm.DateTime", "Edm.Decimal"):
            out[name] = value
        elif prop.type == "Edm.DateTime":
            out[name] = date_value(value) if isinstance(value, datetime) else value
        else:
            out[name] = str(value)
    for name, nav in etype.navigation.items():
        if name not in entity:
            out[name] = {"__deferred": {"uri": f"{url}/{name}"}}
        elif nav.many:
            items = [encode_entity(model, root, nav.target, v, version) for v in entity[name]]
            out[name] = {"results": items} if version >= 2 else items
        else:
            value = entity[name]
            out[name] = None if value is None else encode_entity(model, root, nav.target, value, version)
    return out


def feed(model: CsdlModel, root: str, page: Feed, version: int) -> bytes:
    type_name = model.sets[page.entity_set]
    items = [encode_entity(model, root, type_name, ent, version) for ent in page.entities]
    if version < 2:  # v1 has neither the count nor the next link: a bare array
        return dumps({"d": items})
    body: dict[str, Any] = {"results": items}
    if page.total is not None:
        body["__count"] = str(page.total)
    if page.next_link is not None:
        body["__next"] = page.next_link
    return dumps({"d": body})


def entry(model: CsdlModel, root: str, entity_set: str, entity: dict[str, Any], version: int) -> bytes:
    return dumps({"d": encode_entity(model, root, model.sets[entity_set], entity, version)})


def service_document(sets: list[str]) -> bytes:
    return dumps({"d": {"EntitySets": sets}})


def error(err: ServiceError) -> bytes:
    return dumps({"error": {"code": "", "message": {"lang": "en-US", "value": err.message}}})


# -- request bodies ---------------------------------------------------------------------------------

_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def _date_text(text: str) -> str:
    """``/Date(ms[+-hhmm])/`` (as JSON decodes ``\\/Date(ms)\\/``) as the ISO text the model reads."""
    found = _DATE.match(text)
    if not found:
        return text
    value = EPOCH.replace(tzinfo=UTC) + timedelta(milliseconds=int(found.group(1)))
    return format_datetime(value)


def decode(model: CsdlModel, type_name: str, body: dict[str, Any]) -> dict[str, Any]:
    """A verbose entity as the model's input (the JSON Light shape): no ``__metadata``, deferreds dropped,
    ``results`` unwrapped, ``\\/Date()\\/`` as ISO text; what is not a property stays for the model to refuse."""
    if set(body) == {"d"} and isinstance(body["d"], dict):
        body = body["d"]
    etype = model.types[type_name]
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name == "__metadata":
            continue
        nav = etype.navigation.get(name)
        if nav is not None:
            if isinstance(value, dict) and "__deferred" in value:
                continue
            if isinstance(value, dict) and isinstance(value.get("results"), list):
                value = value["results"]
            if isinstance(value, list):
                value = [decode(model, nav.target, v) if isinstance(v, dict) else v for v in value]
            elif isinstance(value, dict):
                value = decode(model, nav.target, value)
            out[name] = value
            continue
        prop = etype.properties.get(name)
        if prop is not None and prop.type == "Edm.DateTime" and isinstance(value, str):
            value = _date_text(value)
        out[name] = value
    return out


__all__ = ["decode", "entry", "error", "feed", "service_document", "set_of"]
