"""Atom and XML (OData v1-v3): feeds and entries, the atomsvc service document, ``m:error``; Atom entries in.

Built with lxml. The shapes are MS-ODATA 2.2.6.2 (AtomPub format) as ODataLib 5.x's Atom writer
produces them: ``m:properties`` inside ``content type="application/xml"``, ``m:type`` for every
non-string value, ``m:null="true"``, ``m:count`` and the ``next`` link from v2, navigation links
with ``m:inline`` for expansions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from contracts.odata.csdl import CsdlModel, format_datetime
from contracts.xmlsafe import XmlError, parse_xml
from mocks.core.errors import ServiceError
from mocks.deliveryodata.fmt_common import Feed, entity_url, set_of

ATOM_NS = "http://www.w3.org/2005/Atom"
APP_NS = "http://www.w3.org/2007/app"
D_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices"
M_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
RELATED = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ATOM_NS, "d": D_NS, "m": M_NS}
# DateTime properties the service writes without 'Z' (as in JSON Light: unspecified kind)
UNSPECIFIED_KIND = frozenset({("Result", "WhenStarted"), ("Result", "WhenFinished"),
                              ("Appointment", "AppointmentStart")})


def _a(tag: str) -> str:
    return f"{{{ATOM_NS}}}{tag}"


def _m(tag: str) -> str:
    return f"{{{M_NS}}}{tag}"


def _text(type_name: str, prop_name: str, edm: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_datetime(value, utc_suffix=(type_name, prop_name) not in UNSPECIFIED_KIND)
    return str(value)


def _entry(parent: etree._Element | None, model: CsdlModel, root: str, type_name: str, entity: dict[str, Any],
           updated: str) -> etree._Element:
    etype = model.types[type_name]
    node = etree.Element(_a("entry"), nsmap=NSMAP) if parent is None else etree.SubElement(parent, _a("entry"))
    url = entity_url(root, model, type_name, entity)
    etree.SubElement(node, _a("id")).text = url
    etree.SubElement(node, _a("category"), term=model.qualified(type_name), scheme=SCHEME)
    relative = url[len(root):]
    etree.SubElement(node, _a("link"), rel="edit", title=type_name, href=relative)
    for name, nav in etype.navigation.items():
        link = etree.SubElement(node, _a("link"), rel=RELATED + name,
                                type=f"application/atom+xml;type={'feed' if nav.many else 'entry'}",
                                title=name, href=f"{relative}/{name}")
        if name not in entity:
            continue
        inline = etree.SubElement(link, _m("inline"))
        value = entity[name]
        if nav.many:
            inner = etree.SubElement(inline, _a("feed"))
            target_set = set_of(model, nav.target)
            etree.SubElement(inner, _a("id")).text = f"{url}/{name}"
            etree.SubElement(inner, _a("title"), type="text").text = name
            etree.SubElement(inner, _a("updated")).text = updated
            etree.SubElement(inner, _a("link"), rel="self", title=target_set, href=f"{relative}/{name}")
            for item in value:
                _entry(inner, model, root, nav.target, item, updated)
        elif value is not None:
            _entry(inline, model, root, nav.target, value, updated)
    etree.SubElement(node, _a("title"))
    etree.SubElement(node, _a("updated")).text = updated
    etree.SubElement(etree.SubElement(node, _a("author")), _a("name"))
    if etype.has_stream:
        etree.SubElement(node, _a("content"), type="text/csv", src=f"{relative}/$value")
        props = etree.SubElement(node, _m("properties"))
    else:
        props = etree.SubElement(etree.SubElement(node, _a("content"), type="application/xml"), _m("properties"))
    for name, prop in etype.properties.items():
        if name not in entity:
            continue
        value = entity[name]
        el = etree.SubElement(props, f"{{{D_NS}}}{name}")
        if prop.type != "Edm.String":
            el.set(_m("type"), prop.type)
        if value is None:
            el.set(_m("null"), "true")
        else:
            el.text = _text(type_name, name, prop.type, value)
    return node


def _document(node: etree._Element) -> bytes:
    return bytes(etree.tostring(node, xml_declaration=True, encoding="utf-8"))


def feed(model: CsdlModel, root: str, page: Feed, version: int, updated: datetime) -> bytes:
    stamp = format_datetime(updated)
    node = etree.Element(_a("feed"), nsmap=NSMAP)
    node.set(XML_BASE, root)
    etree.SubElement(node, _a("id")).text = root + page.entity_set
    etree.SubElement(node, _a("title"), type="text").text = page.entity_set
    etree.SubElement(node, _a("updated")).text = stamp
    etree.SubElement(node, _a("link"), rel="self", title=page.entity_set, href=page.entity_set)
    if page.total is not None and version >= 2:
        etree.SubElement(node, _m("count")).text = str(page.total)
    type_name = model.sets[page.entity_set]
    for ent in page.entities:
        _entry(node, model, root, type_name, ent, stamp)
    if page.next_link is not None and version >= 2:
        etree.SubElement(node, _a("link"), rel="next", href=page.next_link)
    return _document(node)


def entry(model: CsdlModel, root: str, entity_set: str, entity: dict[str, Any], updated: datetime) -> bytes:
    node = _entry(None, model, root, model.sets[entity_set], entity, format_datetime(updated))
    node.set(XML_BASE, root)
    return _document(node)


def service_document(root: str, sets: list[str]) -> bytes:
    node = etree.Element(f"{{{APP_NS}}}service", nsmap={None: APP_NS, "atom": ATOM_NS})
    node.set(XML_BASE, root)
    workspace = etree.SubElement(node, f"{{{APP_NS}}}workspace")
    etree.SubElement(workspace, _a("title")).text = "Default"
    for name in sets:
        coll = etree.SubElement(workspace, f"{{{APP_NS}}}collection", href=name)
        etree.SubElement(coll, _a("title")).text = name
    return _document(node)


def service_xml(root: str, sets: list[str]) -> bytes:
    """The service document as ``application/xml``: the same AtomPub document."""
    return service_document(root, sets)


def error(err: ServiceError) -> bytes:
    node = etree.Element(_m("error"), nsmap={"m": M_NS})
    etree.SubElement(node, _m("code")).text = ""
    message = etree.SubElement(node, _m("message"))
    message.set(XML_LANG, "en-US")
    message.text = err.message
    return _document(node)


# -- request bodies ---------------------------------------------------------------------------------


class AtomBodyError(ValueError):
    """A body that is not an Atom entry."""


def _value(edm: str, el: etree._Element) -> Any:
    if el.get(_m("null")) == "true":
        return None
    text = el.text or ""
    if edm in ("Edm.Int32", "Edm.Int16", "Edm.Byte", "Edm.SByte"):
        stripped = text.strip()
        # an unreadable number stays text: the model refuses it naming the property and type
        digits = stripped.removeprefix("-")
        # ASCII only: "²".isdigit() is true and int("²") raises (a 500 before)
        return int(stripped) if digits.isascii() and digits.isdigit() and len(digits) <= 20 else text
    if edm == "Edm.Boolean":
        return {"true": True, "false": False, "1": True, "0": False}.get(text.strip(), text)
    return text


def _decode_entry(model: CsdlModel, type_name: str, node: etree._Element) -> dict[str, Any]:
    etype = model.types[type_name]
    out: dict[str, Any] = {}
    props = node.find(f"{{{ATOM_NS}}}content/{{{M_NS}}}properties")
    if props is None:
        props = node.find(f"{{{M_NS}}}properties")  # media link entries carry them beside content
    for el in props if props is not None else []:
        if not isinstance(el.tag, str) or not el.tag.startswith(f"{{{D_NS}}}"):
            continue
        name = etree.QName(el).localname
        prop = etype.properties.get(name)
        out[name] = _value(prop.type if prop else el.get(_m("type"), "Edm.String"), el)
    for link in node.findall(_a("link")):
        rel = link.get("rel", "")
        inline = link.find(_m("inline"))
        if not rel.startswith(RELATED) or inline is None:
            continue
        name = rel[len(RELATED):]
        nav = etype.navigation.get(name)
        if nav is None:
            out[name] = None  # the model refuses an unknown name
            continue
        inner_feed = inline.find(_a("feed"))
        if nav.many:
            entries = inner_feed.findall(_a("entry")) if inner_feed is not None else []
            out[name] = [_decode_entry(model, nav.target, e) for e in entries]
        else:
            inner = inline.find(_a("entry"))
            out[name] = None if inner is None else _decode_entry(model, nav.target, inner)
    return out


def decode(model: CsdlModel, type_name: str, body: bytes) -> dict[str, Any]:
    """An Atom entry as the model's input (the JSON Light shape: Int32 and Boolean typed, the rest as text)."""
    try:
        node = parse_xml(body)  # no DTD, no entities, bounded size and depth
    except XmlError as exc:
        raise AtomBodyError(str(exc)) from None
    if node.tag != _a("entry"):
        raise AtomBodyError(f"expected an Atom entry, found {etree.QName(node).localname}")
    return _decode_entry(model, type_name, node)
