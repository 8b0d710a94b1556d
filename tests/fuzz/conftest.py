"""Fuzz fixtures: one in-process app per service on a shared in-memory runtime, and a capture of unexpected errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.core.inprocess import WSGIAdapter, inprocess_url
from mocks.core.settings import Settings

_RUNTIME: Runtime | None = None
_APPS: dict[str, ServiceApp] = {}


def app(service: str) -> ServiceApp:
    """The service's app for this run (built on first use; peers reached in process, no sockets)."""
    global _RUNTIME
    if _RUNTIME is None:
        _RUNTIME = Runtime.create(Settings(seed=1234), db="sqlite://")
        for name, info in registry.available().items():
            _APPS[name] = info.cls(_RUNTIME)
            _RUNTIME.mounts[inprocess_url(name) + "/"] = WSGIAdapter(_APPS[name])
            _RUNTIME.topology.setdefault(name, inprocess_url(name))
    return _APPS[service]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def unexpected_errors() -> Iterator[list[str]]:
    """The tracebacks a mock logged as unexpected while the block ran (the core's catch-all logs each 500)."""
    handler = _Collect()
    logger = logging.getLogger("examrig")
    logger.addHandler(handler)
    found: list[str] = []
    try:
        yield found
    finally:
        logger.removeHandler(handler)
        formatter = logging.Formatter()
        found.extend(formatter.format(r) for r in handler.records)
