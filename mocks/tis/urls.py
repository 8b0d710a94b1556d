"""TIS routes (fresh ``Rule`` objects per app: a werkzeug rule binds to one map)."""

from __future__ import annotations

from werkzeug.routing import Rule

from mocks.core.app import View
from mocks.tis import views


def routes() -> list[tuple[Rule, View]]:
    """The TIS routes."""
    return [
        (Rule("/api/testresult", endpoint="testresult", methods=["POST"]), views.testresult),
        (Rule("/ItemScoringCallbackRcv.axd", endpoint="itemScoringCallback", methods=["POST"]),
         views.item_scoring_callback),
        (Rule("/api/testpackage", endpoint="testpackage", methods=["POST"]), views.testpackage),
        (Rule("/api/assessments/", endpoint="deleteAssessmentNoKey", methods=["DELETE"]), views.delete_assessment),
        (Rule("/api/assessments/<path:key>", endpoint="deleteAssessment", methods=["DELETE"]),
         views.delete_assessment),
    ]
