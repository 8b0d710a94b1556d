"""The cucumber JSON report (``cucumber.json``): features, scenarios and steps as Cucumber's JSON formatter writes them.

Read by cucumber report tools (multiple-cucumber-html-reporter and cucumber-html-reporter are run
on it in the tests). ``error`` scenarios show as a failed step, ``unsupported``/``not-run`` as skipped
steps, an undefined step as ``undefined``; the verdict and requirement IDs are scenario tags.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conformance.verdicts import Run, ScenarioResult

_STATUS = {"passed": "passed", "failed": "failed", "skipped": "skipped", "undefined": "undefined"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _element(s: ScenarioResult) -> dict[str, Any]:
    tags = [{"name": f"@{t}", "line": s.line} for t in s.tags]
    tags += [{"name": f"@verdict_{s.verdict}", "line": s.line}]
    steps = []
    for step in s.steps:
        result: dict[str, Any] = {"status": _STATUS.get(step.status, "skipped"),
                                  "duration": int(step.duration * 1_000_000_000)}
        if step.status in ("failed", "undefined"):
            result["error_message"] = f"{s.verdict}: {s.message}"
        steps.append({"keyword": f"{step.keyword.capitalize()} ", "name": step.name, "line": step.line,
                      "match": {"location": f"{s.feature_file}:{step.line}"}, "result": result})
    if not steps:  # a scenario that broke before any step: one synthetic step carries the outcome
        status = "passed" if s.verdict == "pass" else "skipped" if s.outcome in ("unsupported", "skipped") else "failed"
        steps.append({"keyword": "Given ", "name": "the scenario is set up", "line": s.line,
                      "match": {"location": f"{s.feature_file}:{s.line}"},
                      "result": {"status": status, "duration": 0, "error_message": f"{s.verdict}: {s.message}"}})
    return {"id": f"{_slug(s.feature)};{_slug(s.name)}", "keyword": "Scenario", "name": s.name, "line": s.line,
            "description": "", "type": "scenario", "tags": tags, "steps": steps}


def write(run: Run, directory: Path) -> Path:
    """Write ``cucumber.json``."""
    features: dict[str, dict[str, Any]] = {}
    for s in run.scenarios:
        uri = s.feature_file or s.service
        feature = features.setdefault(uri, {"uri": uri, "id": _slug(s.feature or uri), "keyword": "Feature",
                                            "name": s.feature or uri, "line": 1, "description": "",
                                            "tags": [], "elements": []})
        feature["elements"].append(_element(s))
    path = directory / "cucumber.json"
    path.write_text(json.dumps(list(features.values()), ensure_ascii=False) + "\n", encoding="utf-8")
    return path
