"""THSS routes."""

from __future__ import annotations

from werkzeug.routing import Rule

from mocks.core.app import View
from mocks.thss import views

ROUTES: list[tuple[Rule, View]] = [
    (Rule("/api/test/submit", endpoint="testSubmit", methods=["POST"]), views.test_submit),
    (Rule("/api/item/submit", endpoint="itemSubmit", methods=["POST"]), views.item_submit),
    # service-specific test controls beside the core admin door (not journaled as traffic)
    (Rule("/_examrig/score", endpoint="adminScore", methods=["POST"]), views.admin_score),
    (Rule("/_examrig/run", endpoint="adminRun", methods=["POST"]), views.admin_run),
]
