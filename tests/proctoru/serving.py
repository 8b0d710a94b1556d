"""Serve a mock over HTTPS on a free loopback port for a test (cheroot + its builtin SSL adapter)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from mocks.core.app import ServiceApp


@contextmanager
def serve_https(app: ServiceApp, cert: Path, key: Path) -> Iterator[str]:
    """Yield ``https://127.0.0.1:<port>`` while ``app`` is served there."""
    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=4, server_name="examrig-proctoru-tls")
    server.ssl_adapter = BuiltinSSLAdapter(str(cert), str(key))
    server.prepare()
    thread = threading.Thread(target=server.serve, name="proctoru-https", daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.bind_addr[1]}"
    finally:
        server.stop()
        thread.join(timeout=10)
