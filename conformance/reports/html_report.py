"""The HTML report (``report.html``): a self-contained requirement x verdict matrix with filters and evidence.

One file, no network: CSS and the filter script are inline (a CSP forbids anything else), rendered
from a Jinja2 template with autoescaping, so nothing a target answered can become markup.

The exchanges of the evidence (request and response bodies, curl lines) are most of a big report's bytes:
they are one JSON data block (``tojson`` escapes ``<``, ``>``, ``&`` and ``'``, so no body can close it),
each scenario's once, which the script turns into elements (``textContent``, never markup) when the
scenario is first opened. Inline as HTML they made a 400-requirement report take about 2 s to open in
Chromium; as data it opens in well under 1 s (``bench/bench_check.py``).
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
    evidence: list[list[dict[str, object]]] = []
    evidence_index: dict[str, int] = {}
    for req in run.requirements:
        checks = [scenarios[sid] for sid in req.scenarios if sid in scenarios]
        rows.append({"req": req, "checks": checks})
        if req.verdict in ("pass", "not-run"):
            continue  # the template shows no evidence there
        for s in checks:
            if s.verdict != "pass" and s.exchanges and s.id not in evidence_index:
                evidence_index[s.id] = len(evidence)
                evidence.append([{"method": e.method, "url": e.url, "status": e.status, "error": e.error,
                                  "request_body": e.request_body, "response_body": e.response_body,
                                  "curl": e.curl} for e in s.exchanges])
    html = _ENV.get_template("report.html").render(
        run=run, rows=rows, evidence=evidence, evidence_index=evidence_index, order=[v for v in ORDER], counts=run.counts("requirements"),
        scenario_counts=run.counts("scenarios"),
        services=sorted({r.service for r in run.requirements}), levels=["MUST", "SHOULD", "MAY"],
        verdicts=[v for v in ORDER if any(r.verdict == v for r in run.requirements)])
    path = directory / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
