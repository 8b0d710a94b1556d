"""``GET /_examrig/openapi.json``: the mock's published OpenAPI document (its own merged with the admin door's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from contracts.openapi import served_json

if TYPE_CHECKING:
    from mocks.core.app import Ctx, ServiceApp


def serve(app: ServiceApp, ctx: Ctx) -> Response:
    """The document of ``app`` (built once per process; deliveryodata's is the admin door's alone)."""
    return Response(served_json(app.name), status=200, content_type="application/json; charset=utf-8")
