"""The HTML report (``report.html``): a self-contained requirement x verdict matrix with filters and evidence.

One file, no network: CSS and the filter script are inline (a CSP forbids anything else), rendered
from a Jinja2 template with autoescaping, so nothing a target answered can become markup.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from conformance.verdicts import ORDER, Run

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("conformance.reports", "templates"),
                          autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                          undefined=jinja2.StrictUndefined)


def write(run: Run, directory: Path) -> Path:
    """Write ``report.html``."""
    scenarios = {s.id: s for s in run.scenarios}
    rows = []
    for req in run.requirements:
        checks = [scenarios[sid] for sid in req.scenarios if sid in scenarios]
        rows.append({"req": req, "checks": checks})
    html = _ENV.get_template("report.html").render(
        run=run, rows=rows, order=[v for v in ORDER], counts=run.counts("requirements"),
        scenario_counts=run.counts("scenarios"),
        services=sorted({r.service for r in run.requirements}), levels=["MUST", "SHOULD", "MAY"],
        verdicts=[v for v in ORDER if any(r.verdict == v for r in run.requirements)])
    path = directory / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
