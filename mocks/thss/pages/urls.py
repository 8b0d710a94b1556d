"""Routes of the THSS teacher pages."""

from __future__ import annotations

from werkzeug.routing import Rule

from mocks.core.app import View
from mocks.thss.pages import views

ROUTES: list[tuple[Rule, View]] = [
    (Rule("/teacher", endpoint="teacherQueue", methods=["GET"]), views.queue_page),
    (Rule("/teacher/assignment/<key>", endpoint="teacherAssignment", methods=["GET"]), views.assignment_page),
    (Rule("/teacher/assignment/<key>/score", endpoint="teacherScore", methods=["POST"]), views.score),
    (Rule("/teacher/static/<name>", endpoint="teacherStatic", methods=["GET"]), views.static_file),
]
