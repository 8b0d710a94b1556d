"""THSS routes."""

from __future__ import annotations

from werkzeug.routing import Rule

from mocks.core.app import View
from mocks.thss import views

ROUTES: list[tuple[Rule, View]] = [
    (Rule("/api/test/submit", endpoint="testSubmit", methods=["POST"]), views.test_submit),
    (Rule("/api/item/submit", endpoint="itemSubmit", methods=["POST"]), views.item_submit),
]

# service-specific test controls, mounted by the core under /_examrig/ (ServiceApp.admin_routes)
ADMIN_ROUTES: list[tuple[Rule, View]] = [
    (Rule("/score", endpoint="score", methods=["POST"]), views.admin_score),
    (Rule("/run", endpoint="run", methods=["POST"]), views.admin_run),
]
