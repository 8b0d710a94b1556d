"""The capabilities file (``--capabilities FILE``): which optional features an integrator's system implements.

TOML or YAML, by extension (``.toml``; ``.yaml``/``.yml``), either nested or dotted::

    [tds]
    idempotency_key = false      # TOML; or tds.idempotency_key: false in YAML

Every value is a boolean, every name ``<service>.<capability>`` (``examrig.conventions`` for
examrig's own conventions). The declared-present names go to the corpus as
``--examrig-capability NAME``; a scenario needing an undeclared one is ``unsupported`` there.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Container, Mapping
from pathlib import Path
from typing import Any

import yaml

from contracts import yamlload

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class CapabilitiesError(ValueError):
    """The capabilities file cannot be used; the message is one line naming the file and the key."""


def load(path: Path, services: Container[str]) -> dict[str, bool]:
    """``{"tds.idempotency_key": False, ...}`` from ``path``; raises :class:`CapabilitiesError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CapabilitiesError(f"capabilities {path}: {exc.strerror or exc}") from None
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yamlload.safe_load(text) or {}
        else:
            raise CapabilitiesError(f"capabilities {path}: use a .toml, .yaml or .yml file")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise CapabilitiesError(f"capabilities {path}: {' '.join(str(exc).split())}") from None
    if not isinstance(data, Mapping):
        raise CapabilitiesError(f"capabilities {path}: expected a table of service.capability = true|false")
    flat: dict[str, bool] = {}
    _flatten(path, data, "", flat)
    for name in flat:
        service = name.partition(".")[0]
        if not NAME_RE.match(name):
            raise CapabilitiesError(f"capabilities {path}: {name!r} is not service.capability")
        if service != "examrig" and service not in services:
            raise CapabilitiesError(f"capabilities {path}: {name}: unknown service '{service}'")
    return flat


def _flatten(path: Path, data: Mapping[Any, Any], prefix: str, out: dict[str, bool]) -> None:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(path, value, name + ".", out)
        elif isinstance(value, bool):
            out[name] = value
        else:
            raise CapabilitiesError(f"capabilities {path}: {name} must be true or false, not {value!r}")


__all__ = ["CapabilitiesError", "load"]
