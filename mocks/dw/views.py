"""HTTP <-> the warehouse model: authenticate (imports), read the TRT, make one call, render."""

from __future__ import annotations

import json

import requests
from werkzeug.wrappers import Response

from mocks.core.app import Ctx
from mocks.core.errors import NotFound
from mocks.core.render import json_response
from mocks.dw.errors import BadPayload, MissingRole, NoToken
from mocks.dw.models import AccessRefused, TokenCache, Warehouse, import_json, loader_mail


def _model(ctx: Ctx) -> Warehouse:
    model: Warehouse = ctx.app.model  # type: ignore[attr-defined]
    return model


def receive_dw(ctx: Ctx, receiver: str) -> Response:
    """``POST /<dw1|dw2>/services/xml``: 200 when the TRT is taken, 400 with the warehouse's messages if not."""
    record, _ = _model(ctx).receive(ctx.tenant, receiver.upper(), ctx.body, ctx.request.content_type, None)
    ctx.notes["note"] = json.dumps({"status": record["status"], "messages": record["messages"][:5]})
    if record["status"] != "PROCESSED":
        raise BadPayload(field="body", reason="; ".join(record["messages"]) or record["status"])
    return Response(b"", status=200)


def _user(ctx: Ctx) -> str:
    """Resolve the bearer token with OpenAM's tokeninfo (outside any transaction, cached for its lifetime)."""
    scheme, _, token = ctx.request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        token = ""
    status, info = 0, None
    cache: TokenCache = ctx.app.token_cache  # type: ignore[attr-defined]
    cached = cache.get(ctx.tenant, token.strip(), ctx.now()) if token.strip() else None
    if cached is not None:
        status, info = 200, cached
    elif token.strip():
        url = ctx.app.peer_url("openam") + "/auth/oauth2/tokeninfo"
        try:
            answer = ctx.app.outbound.request("GET", url, tenant=ctx.tenant, peer="openam",
                                              params={"access_token": token.strip()})
        except requests.RequestException:
            raise NoToken(field="Authorization", reason="Could not reach the token service") from None
        status = answer.status_code
        try:
            info = answer.json()
        except ValueError:
            info = None
        cache.put(ctx.tenant, token.strip(), status, info, ctx.now())
    try:
        return loader_mail(token, status, info)
    except AccessRefused as exc:
        error = MissingRole if exc.status == 403 else NoToken
        raise error(field="Authorization", reason=exc.reason) from None


def exam_imports(ctx: Ctx) -> Response:
    """``POST /exams/imports``: raw XML (any content type) or multipart part ``file``; 202 with the RdwImport."""
    creator = _user(ctx)
    body = ctx.body
    content_type: str | None = ctx.request.content_type
    if ctx.request.mimetype == "multipart/form-data":
        part = ctx.request.files.get("file")
        if part is None:
            raise BadPayload(field="file", reason="Required request part 'file' is not present")
        body = part.read()
        content_type = part.content_type
    if not body.strip():
        raise BadPayload(field="body", reason="Required request body is missing")
    record, duplicate = _model(ctx).receive(ctx.tenant, "imports", body, content_type, creator)
    ctx.notes["note"] = json.dumps({"id": record["id"], "duplicate": duplicate, "status": record["status"]})
    base = ctx.request.host_url.rstrip("/")
    return json_response(import_json(record, base), status=202)


def exam_import(ctx: Ctx, import_id: int) -> Response:
    """``GET /exams/imports/<id>``: the import with its processing status and messages."""
    _user(ctx)
    record = _model(ctx).receipt(ctx.tenant, import_id)
    if record is None or record["receiver"] != "imports":
        raise NotFound(message=f"No import {import_id}")
    base = ctx.request.host_url.rstrip("/")
    body = {**import_json(record, base), "status": record["status"],
            "message": "\n".join(record["messages"]) or None}
    return json_response(body)
