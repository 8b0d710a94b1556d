"""``GET /_examrig/client-check?since=N``: the client-rule verdicts so far for the request's tenant (issue 15 item 4).

The rules live in ``conformance/client/`` and mocks may not import conformance (dependencies point one way), so
the evaluator is injected: ``conformance.client_check.install_live()`` calls :func:`install` when examrig serves
(``examrig serve``, ``examrig check --client``). The rules are pure functions of the journal, so one evaluator per
process serves every mock and tenant. A mock embedded without conformance answers 501 here, saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from mocks.core import errors
from mocks.core.journal import Entry
from mocks.core.render import json_response

if TYPE_CHECKING:
    from mocks.core.app import Ctx, ServiceApp

#: (entries of one tenant, service, overflow) -> the verdicts as plain JSON data
Evaluator = Callable[[list[Entry], str, bool], dict[str, Any]]
_evaluator: list[Evaluator] = []


def install(evaluator: Evaluator) -> None:
    """Install the process's client-rule evaluator (the last one installed wins)."""
    _evaluator[:] = [evaluator]


def installed() -> bool:
    """Whether an evaluator is installed."""
    return bool(_evaluator)


class NotInstalled(errors.ServiceError):
    """No client rules in this process."""

    status = 501
    code = "client_rules_not_installed"


def serve(app: ServiceApp, ctx: Ctx) -> Response:
    """The verdicts of the tenant's journal window from ``since`` (default: the oldest entry kept)."""
    raw = ctx.request.args.get("since")
    try:
        since = int(raw) if raw not in (None, "") else None
    except ValueError:
        raise errors.BadRequest(field="since", message="since must be an integer") from None
    if not _evaluator:
        raise NotInstalled(message="client rules are not installed in this process (serve with examrig serve)")
    window = app.journal.query(since=since, tenant=ctx.tenant)
    body = _evaluator[0](window.entries, app.name, window.overflow)
    body.update({"service": app.name, "tenant": ctx.tenant, "since": since, "next_seq": window.next_seq,
                 "overflow": window.overflow})
    return json_response(body)
