"""Checkers of the verbose JSON and Atom payloads against a CSDL (as ``check_json_light`` is for JSON Light).

Each returns every way a body departs from the model (an empty list when it conforms): property
names and types, nulls explicit, Int64/Decimal as strings, DateTime as ``/Date(ms)/`` (verbose) or
ISO text (Atom), ``__metadata``/``category`` naming the entity type, expansions of the declared
navigation properties, and the error shapes (``{"error": {code, message {lang, value}}}``, ``m:error``).
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from contracts.odata.csdl import CsdlModel, EntityType, parse_datetime

ATOM = "http://www.w3.org/2005/Atom"
APP = "http://www.w3.org/2007/app"
D = "http://schemas.microsoft.com/ado/2007/08/dataservices"
M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
RELATED = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
INT64 = re.compile(r"^-?\d{1,19}$")
VERBOSE_DATE = re.compile(r"^/Date\(-?\d+([+-]\d{4})?\)/$")
INT_TYPES = {"Edm.Int16": (-2**15, 2**15 - 1), "Edm.Int32": (-2**31, 2**31 - 1)}


def _verbose_value(edm: str, nullable: bool, value: Any, where: str, problems: list[str]) -> None:
    if value is None:
        if not nullable:
            problems.append(f"{where}: null for a non-nullable {edm}")
        return
    if edm == "Edm.String":
        ok = isinstance(value, str)
    elif edm == "Edm.Boolean":
        ok = isinstance(value, bool)
    elif edm in INT_TYPES:
        low, high = INT_TYPES[edm]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    elif edm in ("Edm.Int64", "Edm.Decimal"):
        ok = isinstance(value, str) and (edm == "Edm.Decimal" or bool(INT64.match(value)))
    elif edm == "Edm.DateTime":
        ok = isinstance(value, str) and bool(VERBOSE_DATE.match(value))
    else:
        ok = True
    if not ok:
        problems.append(f"{where}: {value!r} is not a verbose JSON {edm}")


def _verbose_entity(model: CsdlModel, etype: EntityType, body: Any, where: str, version: int,
                    problems: list[str]) -> None:
    if not isinstance(body, dict):
        problems.append(f"{where}: an entity must be a JSON object")
        return
    meta = body.get("__metadata")
    if not isinstance(meta, dict) or meta.get("type") != model.qualified(etype.name) or \
            not isinstance(meta.get("uri"), str):
        problems.append(f"{where}: __metadata needs uri and type {model.qualified(etype.name)}")
    for name, prop in etype.properties.items():
        if name not in body:
            problems.append(f"{where}.{name}: missing (nulls must be explicit)")
            continue
        _verbose_value(prop.type, prop.nullable, body[name], f"{where}.{name}", problems)
    for name, nav in etype.navigation.items():
        value = body.get(name)
        target = model.types[nav.target]
        if isinstance(value, dict) and set(value) == {"__deferred"}:
            if not isinstance(value["__deferred"], dict) or not isinstance(value["__deferred"].get("uri"), str):
                problems.append(f"{where}.{name}: __deferred needs a uri")
        elif nav.many:
            items = value.get("results") if isinstance(value, dict) and version >= 2 else value
            if not isinstance(items, list):
                problems.append(f"{where}.{name}: an expanded collection is {{results: [...]}} (a bare array at v1)")
                continue
            for i, item in enumerate(items):
                _verbose_entity(model, target, item, f"{where}.{name}[{i}]", version, problems)
        elif value is not None:
            _verbose_entity(model, target, value, f"{where}.{name}", version, problems)
        elif name not in body:
            problems.append(f"{where}.{name}: a navigation property is deferred or expanded")
    extra = set(body) - {"__metadata", *etype.properties, *etype.navigation}
    if extra:
        problems.append(f"{where}: not properties of {model.qualified(etype.name)}: {sorted(extra)}")


def check_verbose(model: CsdlModel, body: Any, entity_set: str | None = None, version: int = 2) -> list[str]:
    """A verbose JSON body: an entry or feed of ``entity_set``, the service document, or an error."""
    problems: list[str] = []
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    if "error" in body:
        err = body["error"]
        message = err.get("message") if isinstance(err, dict) else None
        if set(body) != {"error"} or not isinstance(err.get("code"), str) or not isinstance(message, dict) or \
                not isinstance(message.get("lang"), str) or not isinstance(message.get("value"), str):
            problems.append("a verbose error is {error: {code, message: {lang, value}}}")
        return problems
    if set(body) != {"d"}:
        return ["a verbose body is {d: ...}"]
    data = body["d"]
    if entity_set is None:
        if not isinstance(data, dict) or sorted(data.get("EntitySets", [])) != sorted(model.sets):
            problems.append("the service document is {d: {EntitySets: [every set]}}")
        return problems
    etype = model.set_type(entity_set)
    if isinstance(data, dict) and "__metadata" in data:
        _verbose_entity(model, etype, data, entity_set, version, problems)
        return problems
    items = data.get("results") if isinstance(data, dict) and version >= 2 else data
    if not isinstance(items, list):
        return ["a feed is {d: {results: [...]}} (a bare array at v1)"]
    if isinstance(data, dict):
        extra = set(data) - {"results", "__count", "__next"}
        if extra:
            problems.append(f"unexpected feed members {sorted(extra)}")
        if "__count" in data and not (isinstance(data["__count"], str) and INT64.match(data["__count"])):
            problems.append("__count must be an Int64 string")
        if "__next" in data and not isinstance(data["__next"], str):
            problems.append("__next must be a URL string")
    for i, item in enumerate(items):
        _verbose_entity(model, etype, item, f"{entity_set}[{i}]", version, problems)
    return problems


def _atom_value(edm: str, nullable: bool, el: etree._Element, where: str, problems: list[str]) -> None:
    declared = el.get(f"{{{M}}}type", "Edm.String")
    if declared != edm:
        problems.append(f"{where}: m:type {declared!r}, the model says {edm}")
    if el.get(f"{{{M}}}null") == "true":
        if not nullable:
            problems.append(f"{where}: m:null for a non-nullable {edm}")
        if el.text:
            problems.append(f"{where}: m:null with a value")
        return
    text = el.text or ""
    ok = True
    if edm == "Edm.Boolean":
        ok = text in ("true", "false")
    elif edm in INT_TYPES:
        low, high = INT_TYPES[edm]
        ok = bool(re.match(r"^-?\d+$", text)) and low <= int(text) <= high
    elif edm == "Edm.Int64":
        ok = bool(INT64.match(text))
    elif edm == "Edm.DateTime":
        try:
            parse_datetime(text)
        except ValueError:
            ok = False
    if not ok:
        problems.append(f"{where}: {text!r} is not an {edm}")


def _atom_entry(model: CsdlModel, etype: EntityType, entry: etree._Element, where: str, problems: list[str]) -> None:
    category = entry.find(f"{{{ATOM}}}category")
    if category is None or category.get("term") != model.qualified(etype.name):
        problems.append(f"{where}: category term must be {model.qualified(etype.name)}")
    if entry.find(f"{{{ATOM}}}id") is None or not any(
            link.get("rel") == "edit" for link in entry.findall(f"{{{ATOM}}}link")):
        problems.append(f"{where}: an entry has an id and an edit link")
    props = entry.find(f"{{{ATOM}}}content/{{{M}}}properties")
    if props is None:
        props = entry.find(f"{{{M}}}properties")
    if props is None:
        problems.append(f"{where}: no m:properties")
        return
    seen = {etree.QName(el).localname: el for el in props if isinstance(el.tag, str)}
    for el in props:
        if isinstance(el.tag, str) and etree.QName(el).namespace != D:
            problems.append(f"{where}: {el.tag} is not in the data services namespace")
    for name, prop in etype.properties.items():
        if name not in seen:
            problems.append(f"{where}.{name}: missing (nulls must be explicit)")
            continue
        _atom_value(prop.type, prop.nullable, seen[name], f"{where}.{name}", problems)
    extra = set(seen) - set(etype.properties)
    if extra:
        problems.append(f"{where}: not properties of {model.qualified(etype.name)}: {sorted(extra)}")
    for link in entry.findall(f"{{{ATOM}}}link"):
        rel = link.get("rel", "")
        if not rel.startswith(RELATED):
            continue
        name = rel[len(RELATED):]
        nav = etype.navigation.get(name)
        if nav is None:
            problems.append(f"{where}: link to {name}, not a navigation property")
            continue
        inline = link.find(f"{{{M}}}inline")
        if inline is None:
            continue
        target = model.types[nav.target]
        inner_feed, inner_entry = inline.find(f"{{{ATOM}}}feed"), inline.find(f"{{{ATOM}}}entry")
        if nav.many and inner_feed is None:
            problems.append(f"{where}.{name}: an expanded collection is an inline feed")
        for i, item in enumerate(inner_feed.findall(f"{{{ATOM}}}entry") if inner_feed is not None else []):
            _atom_entry(model, target, item, f"{where}.{name}[{i}]", problems)
        if not nav.many and inner_entry is not None:
            _atom_entry(model, target, inner_entry, f"{where}.{name}", problems)


def check_atom(model: CsdlModel, root: etree._Element, entity_set: str | None = None) -> list[str]:
    """An Atom feed or entry (its set from the feed's self link or the entry's category), an atomsvc
    service document, or an ``m:error``."""
    problems: list[str] = []
    if root.tag == f"{{{M}}}error":
        code, message = root.find(f"{{{M}}}code"), root.find(f"{{{M}}}message")
        if code is None or message is None or not message.get("{http://www.w3.org/XML/1998/namespace}lang"):
            problems.append("m:error needs m:code and m:message with xml:lang")
        return problems
    if root.tag == f"{{{APP}}}service":
        hrefs = sorted(c.get("href", "") for c in root.iter(f"{{{APP}}}collection"))
        if hrefs != sorted(model.sets):
            problems.append(f"the service document lists {hrefs}, the model has {sorted(model.sets)}")
        return problems
    by_type = {model.qualified(t): t for t in model.types}
    if root.tag == f"{{{ATOM}}}entry":
        category = root.find(f"{{{ATOM}}}category")
        type_name = by_type.get(category.get("term", "") if category is not None else "")
        if type_name is None:
            return ["the entry's category names no entity type of the model"]
        _atom_entry(model, model.types[type_name], root, type_name, problems)
        return problems
    if root.tag != f"{{{ATOM}}}feed":
        return [f"not an Atom feed or entry: {root.tag}"]
    if entity_set is None:
        self_link = next((lk.get("href") for lk in root.findall(f"{{{ATOM}}}link") if lk.get("rel") == "self"), None)
        entity_set = self_link
    if entity_set not in model.sets:
        return [f"the feed's self link names no entity set: {entity_set!r}"]
    count = root.find(f"{{{M}}}count")
    if count is not None and not INT64.match(count.text or ""):
        problems.append("m:count must be an integer")
    etype = model.set_type(entity_set)
    for i, entry in enumerate(root.findall(f"{{{ATOM}}}entry")):
        _atom_entry(model, etype, entry, f"{entity_set}[{i}]", problems)
    return problems
