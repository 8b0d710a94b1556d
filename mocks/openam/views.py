"""HTTP <-> the OpenAM model: read the form or query, make one call, render."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote

from werkzeug.wrappers import Response

from mocks.core.app import Ctx
from mocks.core.errors import ServiceError
from mocks.core.render import json_response
from mocks.openam import errors
from mocks.openam.models import OAuthError, OpenAm

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_ERRORS: dict[str, type[ServiceError]] = {
    "InvalidRequest": errors.InvalidRequest, "InvalidClient": errors.InvalidClient,
    "InvalidGrant": errors.InvalidGrant, "UnauthorizedClient": errors.UnauthorizedClient,
    "UnsupportedGrantType": errors.UnsupportedGrantType, "InvalidToken": errors.InvalidToken,
}


def _model(ctx: Ctx) -> OpenAm:
    model: OpenAm = ctx.app.model  # type: ignore[attr-defined]
    return model


def _raise(ctx: Ctx, exc: OAuthError) -> ServiceError:
    params = dict(exc.params)
    basic = bool(params.pop("basic", False))
    reason = params.pop("reason", None)
    if reason:
        ctx.notes["note"] = f"token refused: {reason}"
    err = _ERRORS[exc.kind](**params)
    if basic and exc.kind == "InvalidClient":
        err.headers["WWW-Authenticate"] = 'Basic realm="oauth2"'
    return err


def _form(ctx: Ctx) -> dict[str, str]:
    """Query parameters, then the urlencoded body (which TIS starts with a stray '&')."""
    params = dict(parse_qsl(ctx.request.query_string.decode("latin-1"), keep_blank_values=True))
    if ctx.request.mimetype == "application/x-www-form-urlencoded" and ctx.body:
        try:
            text = ctx.body.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.InvalidRequest(field="body", message="Request body is not UTF-8") from None
        params.update(parse_qsl(text, keep_blank_values=True))
    return params


def _basic(ctx: Ctx) -> tuple[str, str] | None:
    header = ctx.request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, secret = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise errors.InvalidClient(field="Authorization") from None
    if not sep:
        raise errors.InvalidClient(field="Authorization")
    return unquote(user), unquote(secret)


def access_token(ctx: Ctx) -> Response:
    """``POST /auth/oauth2/access_token[?realm=]``: 200 with the token JSON, or the OAuth2 error."""
    try:
        body = _model(ctx).issue(ctx.tenant, _form(ctx), _basic(ctx))
    except OAuthError as exc:
        raise _raise(ctx, exc) from None
    return json_response(body, headers=NO_STORE)


def tokeninfo(ctx: Ctx) -> Response:
    """``GET /auth/oauth2/tokeninfo?access_token=`` (or a Bearer header): the token's grant and user."""
    token = ctx.request.args.get("access_token")
    if not token:
        scheme, _, value = ctx.request.headers.get("Authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if not token:
        raise errors.InvalidRequest(field="access_token", message="Missing access_token")
    try:
        body: dict[str, Any] = _model(ctx).info(ctx.tenant, token)
    except OAuthError as exc:
        raise _raise(ctx, exc) from None
    return json_response(body, headers=NO_STORE)


def revoke(ctx: Ctx) -> Response:
    """``POST /auth/oauth2/token/revoke``: 200 ``{}`` whether or not the token existed (RFC 7009)."""
    params = _form(ctx)
    token = params.get("token")
    if not token:
        raise errors.InvalidRequest(field="token")
    basic = _basic(ctx)
    client_id, secret = basic if basic is not None else (params.get("client_id"), params.get("client_secret"))
    try:
        revoked = _model(ctx).revoke(ctx.tenant, token, client_id, secret)
    except OAuthError as exc:
        raise _raise(ctx, exc) from None
    ctx.notes["note"] = "revoked" if revoked else "no such token for this client: nothing revoked"
    return json_response({}, headers=NO_STORE)
