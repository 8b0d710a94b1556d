"""The services examrig knows, their default ports, and how to build them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from mocks.core.app import Runtime, ServiceApp
from mocks.core.settings import DEFAULT_PORT_BASE, Settings

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


def ports(settings: Settings, names: list[str]) -> dict[str, int]:
    """The port of each service of ``names`` (0: a free one) under ``settings``' precedence (Settings.port_for).

    The global ``port`` counts only when one service is served (the CLI refuses it for several).
    """
    known = available()
    return {name: settings.port_for(name, known[name].offset, alone=len(names) == 1) for name in names}


def build(name: str, runtime: Runtime, options: dict[str, Any] | None = None) -> ServiceApp:
    """An instance of service ``name`` on ``runtime``; ``KeyError`` for an unknown name."""
    return available()[name].cls(runtime, options)
