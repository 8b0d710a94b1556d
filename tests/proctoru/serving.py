"""Serve a mock over HTTPS on a free loopback port for a test (the core's server with a certificate)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mocks.core.app import ServiceApp
from mocks.core.server import bind, start, stop


@contextmanager
def serve_https(app: ServiceApp, cert: Path, key: Path) -> Iterator[str]:
    """Yield ``https://127.0.0.1:<port>`` while ``app`` is served there."""
    served = bind(app.name, app, "127.0.0.1", 0, threads=4, tls=(str(cert), str(key)))
    start(served)
    try:
        yield served.url
    finally:
        stop(served)
