"""DW routes."""

from __future__ import annotations

from werkzeug.routing import Rule

from mocks.core.app import View
from mocks.dw import views

ROUTES: list[tuple[Rule, View]] = [
    (Rule("/<any(dw1, dw2):receiver>/services/xml", endpoint="dwSubmit", methods=["POST"]), views.receive_dw),
    (Rule("/exams/imports", endpoint="examImports", methods=["POST"]), views.exam_imports),
    (Rule("/exams/imports/<int:import_id>", endpoint="examImport", methods=["GET"]), views.exam_import),
]
