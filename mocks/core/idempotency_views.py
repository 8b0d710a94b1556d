"""HTTP side of the receivers' idempotency keys (``mocks.core.idempotency``): read the key, answer, journal."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from mocks.core.app import Ctx
from mocks.core.idempotency import HEADER, REPLAY_HEADER, Answer, Applied, Keyed, fingerprint, parse_key


def request_key(ctx: Ctx) -> Keyed | None:
    """The request's ``Idempotency-Key`` with its fingerprint; raises ``InputError`` naming the header."""
    key = parse_key(ctx.request.headers.get(HEADER))
    if key is None:
        return None
    return Keyed(key, fingerprint(ctx.request.method, ctx.request.path,
                                  str(ctx.request.environ.get("QUERY_STRING", "")), ctx.body))


def answer_of(response: Response) -> Answer:
    """A rendered response as an answer to keep."""
    return Answer(response.status_code, response.get_data(), response.headers.get("Content-Type"))


def respond(ctx: Ctx, keyed: Keyed | None, applied: Applied[Any], note: dict[str, Any] | None = None) -> Response:
    """The answer as a response; a replay says so in ``Idempotent-Replayed`` and in the journal's note."""
    answer = applied.answer
    response = Response(answer.body, status=answer.status)
    if answer.content_type:
        response.headers["Content-Type"] = answer.content_type
    else:
        response.headers.pop("Content-Type", None)
    noted = dict(note or {})
    if keyed is not None:
        noted.update(idempotencyKey=keyed.key, replay=applied.replayed)
    if applied.replayed:
        response.headers[REPLAY_HEADER] = "true"
        noted["action"] = "replay"
    if noted:
        ctx.notes["note"] = json.dumps(noted)
    return response
