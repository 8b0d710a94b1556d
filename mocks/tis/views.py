"""HTTP <-> the TIS model: receiver, scoring daemon callback, test packages."""

from __future__ import annotations

import json
import math
import uuid
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.wrappers import Response

from contracts.xmlsafe import XmlError, parse_xml
from mocks.core import jsonbody, sabotage
from mocks.core.app import Ctx
from mocks.core.render import empty_response, json_response
from mocks.tis import errors
from mocks.tis.models import SD_STATUSES, ReceiveError, Tis
from mocks.tis.package import PackageError
from mocks.tis.processing import Processor, _resolve
from mocks.tis.resolution import ResolutionError, resolve_wer, stored_score_info


def _model(ctx: Ctx) -> Tis:
    model: Tis = ctx.app.model  # type: ignore[attr-defined]
    return model


def _arg(ctx: Ctx, name: str) -> str | None:
    """Web API binds query parameters case-insensitively."""
    for key, value in ctx.request.args.items(multi=True):
        if key.lower() == name.lower():
            return str(value)
    return None


def _check_token(ctx: Ctx) -> Response | None:
    """``AuthorizeOpenAM``: a GUID bearer, checked against OpenAM's tokeninfo (cached); None when allowed."""
    header = ctx.request.headers.get("Authorization", "")
    param = header.split(" ", 1)[1].strip() if " " in header else ""
    try:
        token = str(uuid.UUID(param))
    except ValueError:
        if sabotage.on("tis.tokenless-taken"): return None  # noqa: E701
        raise errors.NotAuthorized(field="Authorization") from None
    app: Any = ctx.app
    if app.token_cache_get(ctx.tenant, token):
        return None
    cfg = _model(ctx).config(ctx.tenant)
    url = _resolve(cfg.tokeninfo_url, app.peer_url)
    try:
        resp = app.outbound.request("GET", url, tenant=ctx.tenant, peer="openam", params={"access_token": token})
    except requests.RequestException:
        raise errors.OAuthServerUnreachable() from None
    if not 200 <= resp.status_code < 300:
        # OpenAM's own answer goes back to the client unchanged
        return Response(resp.content, status=resp.status_code,
                        content_type=resp.headers.get("Content-Type", "application/json"))
    try:
        info = resp.json()
    except ValueError as exc:
        raise errors.CouldNotReadToken(detail=str(exc)) from None
    if not isinstance(info, dict):
        raise errors.CouldNotReadToken(detail="not a JSON object")
    roles = [entry.split("|")[2] for entry in str(info.get("sbacTenancyChain", "")).split(",")
             if len(entry.split("|")) > 2]
    if "error" in info or "TIS Admin" not in roles:
        raise errors.TokenNotAuthenticated(error=info.get("error", ""), description=info.get("error_description", ""))
    app.token_cache_put(ctx.tenant, token, float(info.get("expires_in", 3600) or 3600))
    return None


def testresult(ctx: Ctx) -> Response:
    """``POST /api/testresult?statusCallback=…[&scoremode=…]``: 200 once the TRT is committed as ``source``."""
    model = _model(ctx)
    if model.config(ctx.tenant, cached=True).oauth:
        passed = _check_token(ctx)
        if passed is not None:
            return passed
    callback = _arg(ctx, "statusCallback")
    if not callback:
        if sabotage.on("tis.missing-callback-misreported"): raise errors.IllegalCallback(field="statusCallback")  # noqa: E701
        raise errors.NotProperlyFormatted(field="statusCallback")
    parts = urlsplit(callback)
    if not parts.scheme or not parts.netloc:
        if sabotage.on("tis.relative-callback-misreported"): raise errors.NotProperlyFormatted(field="statusCallback")  # noqa: E701
        raise errors.IllegalCallback(field="statusCallback", detail=f"'{callback}' is not an absolute URI")
    scoremode = _arg(ctx, "scoremode") or "default"
    try:
        fileid = model.receive(ctx.tenant, ctx.body, callback, scoremode)
    except ReceiveError as exc:
        if exc.kind == "content":
            if sabotage.on("tis.bad-content-misreported"): raise errors.InvalidTestResult(field="root", root="?") from None  # noqa: E501, E701
            raise errors.ContentNotValid(field="body", detail=exc.detail) from None
        if exc.kind == "root":
            if sabotage.on("tis.other-root-misreported"): raise errors.ContentNotValid(field="body", detail="") from None  # noqa: E501, E701
            raise errors.InvalidTestResult(field="root", root=exc.field) from None
        if sabotage.on("tis.bad-keys-400"): raise errors.ContentNotValid(field=exc.field, detail=exc.detail) from None  # noqa: E701
        raise errors.CouldNotPersist(field=exc.field, detail=exc.detail) from None
    ctx.notes["note"] = json.dumps({"fileId": fileid})
    processor: Processor = ctx.app.processor  # type: ignore[attr-defined]
    processor.arrived()
    return empty_response(200)


def item_scoring_callback(ctx: Ctx) -> Response:
    """``POST /ItemScoringCallbackRcv.axd``: THSS's ItemScoreResponse; always 200, bad input only journaled."""
    if not ctx.body.strip():
        return empty_response(200)
    outcome = _daemon(ctx)
    ctx.notes["note"] = json.dumps(outcome)
    if outcome.get("action") != "handscored" and outcome.get("action") != "stored":
        ctx.notes["error"] = outcome.get("message")
    elif outcome.get("action") == "handscored":  # the file went back to source: a worker can take it now
        processor: Processor = ctx.app.processor  # type: ignore[attr-defined]
        processor.arrived()
    return empty_response(200)


def _int64(value: Any, name: str) -> int:
    """A ContextToken number as the column holds it (a bigger one is unreadable, not a database overflow)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{name} is not an integer")
    number = int(value)  # a string of digits: the str length is bounded by the body, jsonbody bounds ints
    if not jsonbody.INT64_MIN <= number <= jsonbody.INT64_MAX:
        raise ValueError(f"{name} {value} is outside the 64-bit range")
    return number


def _daemon(ctx: Ctx) -> dict[str, str]:
    try:
        root = parse_xml(ctx.body)
    except XmlError as exc:
        return {"action": "unreadable", "message": f"ItemScoreResponse does not parse: {exc}"}
    score = root.find("Score")
    info = score.find("ScoreInfo") if score is not None else None
    token_el = score.find("ContextToken") if score is not None else None
    if root.tag != "ItemScoreResponse" or info is None or token_el is None:
        return {"action": "unreadable", "message": "ItemScoreResponse/Score/ScoreInfo and ContextToken required"}
    status = info.get("scoreStatus") or ""
    if status not in SD_STATUSES:
        return {"action": "unreadable", "message": f"ScoreInfo@scoreStatus '{status}' is not a ScoringStatus"}
    try:
        token = jsonbody.loads((token_el.text or "").strip())
        if not isinstance(token, dict):
            raise TypeError("ContextToken is not a JSON object")
        opp_key = str(uuid.UUID(str(token["oppKey"])))
        bank, item = _int64(token["itemBank"], "itemBank"), _int64(token["itemID"], "itemID")
        point = float(info.get("scorePoint") or "")
        if not math.isfinite(point):
            raise ValueError(f"scorePoint {info.get('scorePoint')} is not a finite number")
    except jsonbody.JsonRefused as exc:
        return {"action": "unreadable", "message": f"ContextToken unreadable: {exc.message}"}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return {"action": "unreadable", "message": f"ContextToken or scorePoint unreadable: {exc}"}
    if token.get("itemType") == "WER":
        try:
            resolve_wer(info)
        except ResolutionError as exc:  # the rule throws: the score is lost, only logged
            return _model(ctx).reject_score(ctx.tenant, opp_key, f"Item Scoring: resolution of {bank}-{item} "
                                                                 f"failed: {exc}").to_dict()
        point = float(info.get("scorePoint"))
    text = stored_score_info(info)
    return _model(ctx).item_score(ctx.tenant, opp_key, bank, item, point, status, text).to_dict()


def testpackage(ctx: Ctx) -> Response:
    """``POST /api/testpackage``: 201, 201 with the WARN body, or 500 with the exception's message."""
    try:
        existing = _model(ctx).load_package(ctx.tenant, ctx.body)
    except PackageError as exc:
        raise errors.PackageLoadFailed(str(exc), field="body") from None
    if existing:
        message = ("the following items in this test package were not loaded because they already exist in TIS: \n"
                   + "\n".join(existing))
        return json_response({"errors": [{"code": "WARN", "message": message}]}, status=201)
    return empty_response(201)


def delete_assessment(ctx: Ctx, key: str = "") -> Response:
    """``DELETE /api/assessments/{key}``: 200, 400 without a key, 500 when the delete fails."""
    if not key.strip():
        raise errors.AssessmentKeyMissing(field="key")
    if not _model(ctx).delete_assessment(ctx.tenant, key):
        if sabotage.on("tis.missing-assessment-deleted"): return empty_response(200)  # noqa: E701
        raise errors.AssessmentDeleteFailed(field="key", key=key)
    return empty_response(200)
