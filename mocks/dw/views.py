"""HTTP <-> the warehouse model: authenticate (imports), read the TRT, make one call, render."""

from __future__ import annotations

from typing import Any

import requests
from werkzeug.wrappers import Response

from mocks.core import sabotage
from mocks.core.app import Ctx
from mocks.core.errors import InputError, NotFound
from mocks.core.idempotency import HEADER, Answer, KeyConflict, Keyed, KeyReused
from mocks.core.idempotency_views import answer_of, request_key, respond
from mocks.core.render import json_response
from mocks.dw.errors import BadPayload, MissingRole, NoToken
from mocks.dw.models import AccessRefused, TokenCache, Warehouse, import_json, loader_mail


def _model(ctx: Ctx) -> Warehouse:
    model: Warehouse = ctx.app.model  # type: ignore[attr-defined]
    return model


def _keyed(ctx: Ctx) -> Keyed | None:
    try:
        return request_key(ctx)
    except InputError as exc:
        if sabotage.on("dw.bad-key-ignored"): return None  # noqa: E701
        raise BadPayload(field=exc.field, reason=f"{exc.field} {exc.reason}") from None


def _key_reused(exc: KeyReused) -> KeyConflict:
    return KeyConflict(field=HEADER, key=exc.key)


def receive_dw(ctx: Ctx, receiver: str) -> Response:
    """``POST /<dw1|dw2>/services/xml``: 200 when the TRT is taken, 400 with the warehouse's messages if not."""
    keyed = _keyed(ctx)

    def answer(record: dict[str, Any], duplicate: bool) -> Answer:
        if record["status"] != "PROCESSED":
            refusal = BadPayload(field="body", reason="; ".join(record["messages"]) or record["status"])
            return answer_of(ctx.app.render_error(refusal, ctx.request.path, ctx.tenant))
        if keyed is None and sabotage.on("dw.taken-not-200"): return Answer(202)  # noqa: E701
        return Answer(200)

    try:
        taken = _model(ctx).take(ctx.tenant, receiver.upper(), ctx.body, ctx.request.content_type, None, keyed,
                                 answer)
    except KeyReused as exc:
        raise _key_reused(exc) from None
    if taken.replayed and sabotage.on("dw.key-repeat-recorded"): taken = _model(ctx).take(ctx.tenant, receiver.upper(), ctx.body, ctx.request.content_type, None, None, answer)  # noqa: E501, E701
    note = {}
    if taken.result is not None:
        record = taken.result[0]
        note = {"status": record["status"], "messages": record["messages"][:5]}
    return respond(ctx, keyed, taken, note)


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
        if sabotage.on("dw.refusal-field-renamed"): raise error(field="token", reason=exc.reason) from None  # noqa: E701
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
    body = ctx.body if ctx.request.mimetype == "multipart/form-data" and sabotage.on("dw.multipart-part-ignored") else body  # noqa: E501
    if not body.strip():
        raise BadPayload(field="body", reason="Required request body is missing")
    keyed = _keyed(ctx)
    base = ctx.request.host_url.rstrip("/")

    def answer(record: dict[str, Any], duplicate: bool) -> Answer:
        return answer_of(json_response(import_json(record, base), status=202))

    try:
        taken = _model(ctx).take(ctx.tenant, "imports", body, content_type, creator, keyed, answer)
    except KeyReused as exc:
        raise _key_reused(exc) from None
    note = {}
    if taken.result is not None:
        record, duplicate = taken.result
        note = {"id": record["id"], "duplicate": duplicate, "status": record["status"]}
    return respond(ctx, keyed, taken, note)


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
