"""TDS routes."""

from __future__ import annotations

from werkzeug.routing import Rule

from mocks.core.app import View
from mocks.tds import views


def routes() -> list[tuple[Rule, View]]:
    """Fresh rules for one app (a werkzeug Rule belongs to one Map)."""
    return [
        (Rule("/student/TIS/API/tisReply", endpoint="tisReply", methods=["POST"]), views.tis_reply),
        (Rule("/tis", endpoint="ertCallback", methods=["POST"]), views.ert_callback),
    ]
