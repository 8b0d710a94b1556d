"""The rig console at ``/_examrig/ui``: a page over the admin API (journal, faults, clock, health, metrics).

The page is a template plus a script that calls the same admin endpoints a test calls (``/_examrig/journal``,
``/_examrig/faults``, ``/_examrig/clock`` ...): no second implementation of any of them. It is on the admin door
only, and off with ``[examrig] console = false`` (then it answers 404 like any unknown path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from mocks.core import pages
from mocks.core.errors import NotFound
from mocks.core.journal import FILTER_KEYS

if TYPE_CHECKING:
    from mocks.core.app import Ctx, ServiceApp

PACKAGE = "mocks.core.console"
FAULT_KINDS = ("status", "latency", "reset", "truncate", "malformed")


def _enabled(app: ServiceApp) -> None:
    if not app.settings.console:
        raise NotFound(message="the console is off ([examrig] console = false)")


def page(app: ServiceApp, ctx: Ctx) -> Response:
    """The console page of this mock, linking every mock served beside it."""
    _enabled(app)
    others = sorted((name, url) for name, url in app.runtime.topology.items() if name != app.name)
    return pages.render(PACKAGE, "console/index.html", service=app.name, tenant=ctx.tenant, others=others,
                        filters=[k for k in FILTER_KEYS if k != "tenant"], kinds=FAULT_KINDS)


def static_file(app: ServiceApp, ctx: Ctx, name: str) -> Response:
    """The console's script and stylesheet."""
    _enabled(app)
    return pages.static(PACKAGE, name)
