"""Reach WSGI mocks through ``requests`` without sockets: a transport adapter per app."""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import EnvironBuilder, run_wsgi_app

from mocks.core.app import ServiceApp


class WSGIAdapter(BaseAdapter):
    """A ``requests`` adapter that hands each request to a WSGI app in this process.

    Mount it on a session for a base URL (``http://tds.examrig``) and every call to
    that URL runs the app directly: the same client code then talks to a mock in
    process or over the network, with nothing but the base URL changed. An injected
    connection reset surfaces as ``requests.ConnectionError``, as it would over TCP.
    """

    def __init__(self, app: ServiceApp) -> None:
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Mapping[str, str] | None = None) -> requests.Response:
        url = request.url or "/"
        parts = urlsplit(url)
        body = request.body
        data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        headers = list(request.headers.items())
        builder = EnvironBuilder(
            path=parts.path or "/", base_url=f"{parts.scheme}://{parts.netloc}", query_string=parts.query,
            method=request.method or "GET", headers=headers, data=data,
        )
        environ = builder.get_environ()
        try:
            app_iter, status, resp_headers = run_wsgi_app(self.app, environ, buffered=True)
            content = b"".join(app_iter)
        except ConnectionResetError as exc:
            raise requests.ConnectionError(str(exc), request=request) from None
        finally:
            builder.close()
        response = requests.Response()
        response.status_code = int(status.split(" ", 1)[0])
        response.reason = status.split(" ", 1)[1] if " " in status else ""
        response.headers = CaseInsensitiveDict(list(resp_headers.items()))
        response._content = content
        response.raw = BytesIO(content)
        response.url = url
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    def close(self) -> None:
        """Nothing to release."""


def inprocess_url(name: str) -> str:
    """The base URL under which an in-process mock is mounted."""
    return f"http://{name}.examrig.internal"


def mount_all(session: requests.Session, apps: Mapping[str, ServiceApp]) -> None:
    """Mount every app on ``session`` at its in-process URL."""
    for name, app in apps.items():
        session.mount(inprocess_url(name) + "/", WSGIAdapter(app))
