"""JSON Light full and no metadata (``odata=fullmetadata`` / ``odata=nometadata``); minimal metadata is wire.py's.

Full metadata adds, per entity, ``odata.type``, ``odata.id``, ``odata.editLink`` and a
``<Nav>@odata.navigationLinkUrl`` for every navigation property (MS-ODATAJSON 2.1.5, ODataLib 5.x
``ODataAnnotationNames``); no metadata drops ``odata.metadata`` (``odata.count`` and ``odata.nextLink``
stay: they are not metadata).
"""

from __future__ import annotations

from typing import Any

from contracts.odata.csdl import CsdlModel
from mocks.deliveryodata.fmt_common import Feed, entity_url
from mocks.deliveryodata.negotiate import FULL
from mocks.deliveryodata.wire import encode_entity


def _full(model: CsdlModel, root: str, type_name: str, entity: dict[str, Any],
          out: dict[str, Any] | None = None) -> dict[str, Any]:
    etype = model.types[type_name]
    url = entity_url(root, model, type_name, entity)
    out = {} if out is None else out
    out.update({"odata.type": model.qualified(type_name), "odata.id": url, "odata.editLink": url})
    if etype.has_stream:
        out.update({"odata.mediaReadLink": f"{url}/$value", "odata.mediaContentType": "text/csv"})
    for name, nav in etype.navigation.items():
        out[f"{name}@odata.navigationLinkUrl"] = f"{url}/{name}"
        if name in entity:
            value = entity[name]
            if nav.many:
                out[name] = [_full(model, root, nav.target, v) for v in value]
            else:
                out[name] = None if value is None else _full(model, root, nav.target, value)
    scalars = encode_entity(model, type_name, {k: v for k, v in entity.items() if k not in etype.navigation})
    out.update(scalars)
    return out


def entity(model: CsdlModel, root: str, entity_set: str, value: dict[str, Any], level: str) -> dict[str, Any]:
    type_name = model.sets[entity_set]
    if level == FULL:
        return _full(model, root, type_name, value, {"odata.metadata": f"{root}$metadata#{entity_set}/@Element"})
    return encode_entity(model, type_name, value)


def feed(model: CsdlModel, root: str, page: Feed, level: str) -> dict[str, Any]:
    type_name = model.sets[page.entity_set]
    data: dict[str, Any] = {}
    if level == FULL:
        data["odata.metadata"] = f"{root}$metadata#{page.entity_set}"
    if page.total is not None:
        data["odata.count"] = str(page.total)
    data["value"] = [_full(model, root, type_name, ent) if level == FULL else encode_entity(model, type_name, ent)
                     for ent in page.entities]
    if page.next_link is not None:
        data["odata.nextLink"] = page.next_link
    return data


def service_document(root: str, sets: list[str], level: str) -> dict[str, Any]:
    value = [{"name": s, "url": s} for s in sets]
    return {"odata.metadata": f"{root}$metadata", "value": value} if level == FULL else {"value": value}
