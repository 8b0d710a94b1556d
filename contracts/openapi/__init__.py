"""The published OpenAPI 3.1 documents of the non-OData services and of the admin door: load, merge, validate."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from contracts import yamlload

HERE = Path(__file__).resolve().parent
# services with a document of their own; deliveryodata's contract is its CSDL ($metadata), so it serves the
# admin door's document alone
SERVICES = ("proctoru", "tis", "thss", "tds", "dw", "openam")
ADMIN = "admin"
ADMIN_PREFIX = "/_examrig/"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class OpenApiError(ValueError):
    """A document that cannot be found, merged or that does not validate."""


def names() -> tuple[str, ...]:
    """Every document in this package: the services' and the admin door's."""
    return (*SERVICES, ADMIN)


@functools.cache
def _raw(name: str) -> dict[str, Any]:
    path = HERE / f"{name}.yaml"
    if name not in names() or not path.is_file():
        raise OpenApiError(f"no OpenAPI document '{name}' (known: {', '.join(names())})")
    data = yamlload.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise OpenApiError(f"{path.name}: not a YAML mapping")
    return data


def load(name: str) -> dict[str, Any]:
    """The document ``name`` (a service or ``admin``) as plain data; a fresh copy the caller may change."""
    return copy.deepcopy(_raw(name))


@functools.cache
def _served(service: str) -> dict[str, Any]:
    admin = _raw(ADMIN)
    if service not in SERVICES:
        doc = copy.deepcopy(admin)
        doc["info"] = {**doc["info"], "title": f"{service} (examrig mock): admin door",
                       "description": doc["info"].get("description", "") +
                       (" deliveryodata's service contract is its CSDL, served at $metadata."
                        if service == "deliveryodata" else "")}
        return doc
    doc = copy.deepcopy(_raw(service))
    paths: dict[str, Any] = doc.setdefault("paths", {})
    for path, item in admin["paths"].items():
        if path in paths:  # a service's own admin control (thss /_examrig/score) never shadows a core one
            raise OpenApiError(f"{service}: path {path} is in both the service's and the admin door's document")
        paths[path] = copy.deepcopy(item)
    components: dict[str, Any] = doc.setdefault("components", {})
    for section, entries in admin.get("components", {}).items():
        target = components.setdefault(section, {})
        for key, value in entries.items():
            if key in target:
                raise OpenApiError(f"{service}: component {section}/{key} is in both documents")
            target[key] = copy.deepcopy(value)
    return doc


def served_document(service: str) -> dict[str, Any]:
    """What the mock ``service`` serves at ``/_examrig/openapi.json``: its document merged with the admin door's.

    Any other name (deliveryodata) gets the admin door's document alone. A copy: the caller may change it.
    """
    return copy.deepcopy(_served(service))


@functools.cache
def served_json(service: str) -> bytes:
    """:func:`served_document` as compact UTF-8 JSON, built once per process."""
    return json.dumps(_served(service), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def validate(document: dict[str, Any]) -> None:
    """Check a document against the OpenAPI 3.1 schema (``openapi-spec-validator``); raises :class:`OpenApiError`."""
    from openapi_spec_validator import validate as spec_validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        spec_validate(document)
    except OpenAPIValidationError as exc:
        raise OpenApiError(str(exc).split("\n")[0]) from None


@functools.cache
def validated(name: str) -> bool:
    """Validate the document ``name`` once per process (True; raises :class:`OpenApiError` if it is not valid)."""
    validate(_raw(name))
    return True


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every ``(METHOD, path template, operation)`` of a document."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                out.append((method.upper(), path, item[method]))
    return out


__all__ = ["ADMIN", "SERVICES", "OpenApiError", "load", "names", "operations", "served_document", "served_json",
           "validate", "validated"]
