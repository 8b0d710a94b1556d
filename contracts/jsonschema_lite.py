"""A tiny JSON Schema subset validator (the keywords examrig's own JSON schemas use)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["json_errors"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "integer": (int,),
    "number": (int, float),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def _pointer(path: str, key: str | int) -> str:
    token = str(key).replace("~", "~0").replace("/", "~1")
    return f"{path}/{token}"


def json_errors(value: Any, schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(json_pointer, reason)`` for every violation of ``schema`` by ``value``.

    Supported keywords: ``type`` (a name or a list), ``enum``, ``const``, ``properties``,
    ``required``, ``additionalProperties`` (boolean or schema), ``items`` (one schema),
    ``minItems``, ``maxItems``, ``minLength``, ``maxLength``, ``pattern``, ``minimum``, ``maximum``.
    Unknown keywords (``$schema``, ``title``, ``description`` ...) are ignored.

    Args:
        value: the decoded JSON value.
        schema: the schema (a dict).
        path: the JSON pointer of ``value`` (``""`` for the document).
    """
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_is_type(value, n) for n in names):
            yield path, f"expected {' or '.join(names)}, got {type(value).__name__} {value!r:.60}"
            return
    if "enum" in schema and value not in schema["enum"]:
        yield path, f"{value!r:.60} is not one of {schema['enum']!r}"
    if "const" in schema and value != schema["const"]:
        yield path, f"{value!r:.60} is not {schema['const']!r}"
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            yield path, f"string shorter than {schema['minLength']}"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            yield path, f"string longer than {schema['maxLength']}"
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            yield path, f"{value!r:.60} does not match {schema['pattern']!r}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            yield path, f"{value} is less than {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            yield path, f"{value} is greater than {schema['maximum']}"
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                yield path, f"required property {name!r} is missing"
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                yield from json_errors(item, props[key], _pointer(path, key))
            elif extra is False:
                yield _pointer(path, key), f"property {key!r} is not allowed"
            elif isinstance(extra, dict):
                yield from json_errors(item, extra, _pointer(path, key))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            yield path, f"fewer than {schema['minItems']} items"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            yield path, f"more than {schema['maxItems']} items"
        if isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                yield from json_errors(item, schema["items"], _pointer(path, index))
