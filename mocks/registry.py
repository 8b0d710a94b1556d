"""The services examrig knows, their default ports, and how to build them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from mocks.core.app import Runtime, ServiceApp

DEFAULT_PORT_BASE = 8600
# fixed order: the offset from --port-base, and the default port (base + offset)
ORDER = ("deliveryodata", "proctoru", "tis", "thss", "tds", "dw", "openam")


@dataclass(frozen=True)
class ServiceInfo:
    """A known service: its name, default port and the class that implements it."""

    name: str
    offset: int
    cls: type[ServiceApp]

    def port(self, base: int = DEFAULT_PORT_BASE) -> int:
        """The service's port from ``base``."""
        return base + self.offset


def available() -> dict[str, ServiceInfo]:
    """Every implemented service (``mocks.<name>.service.Service``), in the fixed order."""
    found: dict[str, ServiceInfo] = {}
    for offset, name in enumerate(ORDER):
        try:
            module = importlib.import_module(f"mocks.{name}.service")
        except ModuleNotFoundError as exc:
            if exc.name in (f"mocks.{name}", f"mocks.{name}.service"):
                continue
            raise
        found[name] = ServiceInfo(name, offset, module.Service)
    return found


def build(name: str, runtime: Runtime, options: dict[str, Any] | None = None) -> ServiceApp:
    """An instance of service ``name`` on ``runtime``; ``KeyError`` for an unknown name."""
    return available()[name].cls(runtime, options)
