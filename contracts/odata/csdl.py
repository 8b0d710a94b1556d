"""A parsed OData v3 CSDL (EDMX 1.0) model, JSON Light value encoding, and a response checker driven by it."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.xmlsafe import parse_xml

HERE = Path(__file__).resolve().parent
EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
META = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
INT_RANGES = {"Edm.Int16": (-(2**15), 2**15 - 1), "Edm.Int32": (-(2**31), 2**31 - 1),
              "Edm.Int64": (-(2**63), 2**63 - 1), "Edm.Byte": (0, 255)}
# Edm.DateTime as ODataLib 5 writes a UTC value: up to 7 fractional digits, trailing zeros trimmed, 'Z'
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z?$")
INT64_RE = re.compile(r"^-?(0|[1-9]\d*)$")

__all__ = ["CsdlModel", "EntityType", "NavProperty", "Property", "check_json_light", "format_datetime",
           "load", "parse", "parse_datetime"]


@dataclass(frozen=True)
class Property:
    """A structural property: name, Edm type and nullability."""

    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class NavProperty:
    """A navigation property: its target entity type and whether it is a collection."""

    name: str
    target: str
    many: bool


@dataclass
class EntityType:
    """An entity type with its properties in declaration order."""

    name: str
    key: str
    properties: dict[str, Property] = field(default_factory=dict)
    navigation: dict[str, NavProperty] = field(default_factory=dict)
    has_stream: bool = False


@dataclass
class CsdlModel:
    """The model of one service: namespace, entity types and entity sets, plus the document's text."""

    namespace: str
    types: dict[str, EntityType]
    sets: dict[str, str]
    text: str

    def set_type(self, entity_set: str) -> EntityType:
        """The entity type of ``entity_set`` (``KeyError`` when the set is not served)."""
        return self.types[self.sets[entity_set]]

    def qualified(self, type_name: str) -> str:
        """``Namespace.TypeName``."""
        return f"{self.namespace}.{type_name}"


@functools.cache
def load(name: str = "deliveryodata") -> CsdlModel:
    """Parse ``contracts/odata/<name>.csdl`` once and cache the model."""
    return parse((HERE / f"{name}.csdl").read_text(encoding="utf-8"))


def parse(text: str) -> CsdlModel:
    """Parse a CSDL document (e.g. one fetched from a service's ``$metadata``)."""
    root = parse_xml(text.encode("utf-8"))
    namespace = ""
    types: dict[str, EntityType] = {}
    ends: dict[str, tuple[str, str]] = {}
    sets: dict[str, str] = {}
    for schema in root.iter(f"{EDM}Schema"):
        ns = schema.get("Namespace")
        for assoc in schema.findall(f"{EDM}Association"):
            for end in assoc.findall(f"{EDM}End"):
                ends[f"{ns}.{assoc.get('Name')}/{end.get('Role')}"] = (end.get("Type").rsplit(".", 1)[1],
                                                                      end.get("Multiplicity"))
        for et in schema.findall(f"{EDM}EntityType"):
            namespace = ns
            key = et.find(f"{EDM}Key/{EDM}PropertyRef").get("Name")
            etype = EntityType(et.get("Name"), key, has_stream=et.get(f"{META}HasStream") == "true")
            for prop in et.findall(f"{EDM}Property"):
                etype.properties[prop.get("Name")] = Property(prop.get("Name"), prop.get("Type"),
                                                              prop.get("Nullable", "true") == "true")
            types[etype.name] = etype
        for container in schema.findall(f"{EDM}EntityContainer"):
            for es in container.findall(f"{EDM}EntitySet"):
                sets[es.get("Name")] = es.get("EntityType").rsplit(".", 1)[1]
    for schema in root.iter(f"{EDM}Schema"):
        for et in schema.findall(f"{EDM}EntityType"):
            for nav in et.findall(f"{EDM}NavigationProperty"):
                target, mult = ends[f"{nav.get('Relationship')}/{nav.get('ToRole')}"]
                types[et.get("Name")].navigation[nav.get("Name")] = NavProperty(nav.get("Name"), target, mult == "*")
    return CsdlModel(namespace, types, sets, text)


def format_datetime(value: datetime, *, utc_suffix: bool = True) -> str:
    """An Edm.DateTime as the real service writes it: trailing fractional zeros trimmed, ``Z`` for UTC."""
    value = value.astimezone(UTC) if value.tzinfo is not None else value
    text = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
            f"{value.second:02d}")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + ("Z" if utc_suffix else "")


def parse_datetime(text: str) -> datetime:
    """An Edm.DateTime literal (up to 7 fractional digits, optional ``Z`` or offset) as an aware UTC datetime."""
    match = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?$", text.strip())
    if not match:
        raise ValueError(f"'{text}' is not an Edm.DateTime")
    base, frac, zone = match.groups()
    value = datetime.fromisoformat(base + (f".{(frac or '0')[:6].ljust(6, '0')}") +
                                   ("+00:00" if zone in (None, "Z") else zone))
    return value.astimezone(UTC)


def _check_value(prop: Property, value: Any, where: str, problems: list[str]) -> None:
    if value is None:
        if not prop.nullable:
            problems.append(f"{where}: null for a non-nullable {prop.type}")
        return
    kind = prop.type
    if kind == "Edm.String":
        ok = isinstance(value, str)
    elif kind == "Edm.Boolean":
        ok = isinstance(value, bool)
    elif kind == "Edm.Int64":
        ok = isinstance(value, str) and bool(INT64_RE.match(value))
        if ok and not INT_RANGES[kind][0] <= int(value) <= INT_RANGES[kind][1]:
            ok = False
        if not ok:
            problems.append(f"{where}: Edm.Int64 must be a JSON string of digits, got {value!r}")
            return
    elif kind in INT_RANGES:
        ok = isinstance(value, int) and not isinstance(value, bool) and \
            INT_RANGES[kind][0] <= value <= INT_RANGES[kind][1]
    elif kind == "Edm.DateTime":
        ok = isinstance(value, str) and bool(DATETIME_RE.match(value)) and not re.search(r"\.\d*0Z?$", value)
    else:
        ok = True
    if not ok:
        problems.append(f"{where}: {value!r} is not a valid {kind}")


def _check_entity(model: CsdlModel, etype: EntityType, entity: Any, where: str, problems: list[str]) -> None:
    if not isinstance(entity, dict):
        problems.append(f"{where}: an entity must be a JSON object")
        return
    seen_scalar = False
    for name, value in entity.items():
        if name.startswith("odata.") or "@odata." in name:
            continue
        if name in etype.navigation:
            if seen_scalar:
                problems.append(f"{where}.{name}: expanded navigation properties come before the scalar ones")
            nav = etype.navigation[name]
            target = model.types[nav.target]
            if nav.many:
                if not isinstance(value, list):
                    problems.append(f"{where}.{name}: an expanded collection must be a JSON array")
                    continue
                for i, item in enumerate(value):
                    _check_entity(model, target, item, f"{where}.{name}[{i}]", problems)
            elif value is not None:
                _check_entity(model, target, value, f"{where}.{name}", problems)
            continue
        prop = etype.properties.get(name)
        if prop is None:
            problems.append(f"{where}.{name}: not a property of {model.qualified(etype.name)}")
            continue
        seen_scalar = True
        _check_value(prop, value, f"{where}.{name}", problems)
    missing = [p for p in etype.properties if p not in entity]
    if missing:
        problems.append(f"{where}: properties missing (nulls must be explicit): {', '.join(missing)}")


def check_json_light(model: CsdlModel, body: Any, root: str | None = None) -> list[str]:
    """Every way ``body`` departs from the model; an empty list when it conforms.

    Understands an entity (``#Set/@Element``), a feed (``#Set`` with ``value``), a
    service document, and an ``odata.error`` body; ``root`` (the service root URL),
    when given, must prefix ``odata.metadata``.
    """
    problems: list[str] = []
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    if "odata.error" in body:
        err = body["odata.error"]
        if set(body) != {"odata.error"} or not isinstance(err, dict):
            return ["an error body holds odata.error alone"]
        message = err.get("message")
        if not isinstance(err.get("code"), str) or not isinstance(message, dict) or \
                not isinstance(message.get("lang"), str) or not isinstance(message.get("value"), str):
            problems.append("odata.error needs code (string) and message {lang, value}")
        unexpected = sorted(set(err) - {"code", "message", "innererror"})
        if unexpected:
            problems.append(f"odata.error has unexpected members {unexpected}")
        return problems
    keys = list(body)
    if not keys or keys[0] != "odata.metadata":
        return ["odata.metadata must come first"]
    context = body["odata.metadata"]
    if not isinstance(context, str) or "$metadata" not in context:
        return [f"bad odata.metadata {context!r}"]
    base, _, fragment = context.partition("#")
    if root is not None and base != root.rstrip("/") + "/$metadata":
        problems.append(f"odata.metadata {context!r} is not under {root}")
    if not fragment:
        value = body.get("value")
        if not isinstance(value, list) or set(body) != {"odata.metadata", "value"}:
            return [*problems, "a service document is {odata.metadata, value: [...]}"]
        names = {item.get("name") for item in value if isinstance(item, dict)}
        if names != set(model.sets):
            problems.append(f"service document lists {sorted(n for n in names if n)}, model has {sorted(model.sets)}")
        return problems
    set_name, _, element = fragment.partition("/")
    if set_name not in model.sets:
        return [*problems, f"odata.metadata names unknown entity set {set_name!r}"]
    etype = model.set_type(set_name)
    if element == "@Element":
        _check_entity(model, etype, {k: v for k, v in body.items() if k != "odata.metadata"}, set_name, problems)
        return problems
    if element:
        return [*problems, f"unexpected odata.metadata fragment {fragment!r}"]
    extra = set(body) - {"odata.metadata", "value", "odata.count", "odata.nextLink"}
    if extra:
        problems.append(f"unexpected feed members {sorted(extra)}")
    if "odata.count" in body and not (isinstance(body["odata.count"], str) and INT64_RE.match(body["odata.count"])):
        problems.append("odata.count must be an Int64 string")
    if "odata.nextLink" in body and not isinstance(body["odata.nextLink"], str):
        problems.append("odata.nextLink must be a string")
    value = body.get("value")
    if not isinstance(value, list):
        return [*problems, "a feed holds its entities in 'value'"]
    for i, item in enumerate(value):
        _check_entity(model, etype, item, f"{set_name}[{i}]", problems)
    return problems
