"""The HTML report (``report.html``): a self-contained requirement x verdict matrix with filters and evidence.

One file, no network: CSS and the filter script are inline (a CSP forbids anything else), rendered
from a Jinja2 template with autoescaping, so nothing a target answered can become markup.

A non-passing scenario's evidence (the failing step, the assertion text, the seed, the exchanges with
their bodies and curl lines) is most of a big report's bytes and elements: it is one JSON data block,
each scenario's once, which the script turns into elements (``textContent``, never markup) when the
scenario is first opened; the matrix itself (and each scenario's summary line) stays HTML. Inline as
HTML the evidence made a 400-requirement report take about 2 s to open in Chromium
(``bench/bench_check.py`` measures it). In the block only ``</`` and ``<!--`` are escaped (as ``<\\/``
and ``\\u003c!--``), which is all that can end a script element or change how it is parsed; escaping every
``<`` and ``>`` as Jinja's ``tojson`` does made the block half as big again.
"""

from __future__ import annotations

from pathlib import Path

import json

import jinja2

from conformance.verdicts import ORDER, Run

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("conformance.reports", "templates"),
                          autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                          undefined=jinja2.StrictUndefined)


def write(run: Run, directory: Path) -> Path:
    """Write ``report.html``."""
    scenarios = {s.id: s for s in run.scenarios}
    rows = []
    evidence: list[dict[str, object]] = []
    evidence_index: dict[str, int] = {}
    for req in run.requirements:
        checks = [scenarios[sid] for sid in req.scenarios if sid in scenarios]
        rows.append({"req": req, "checks": checks})
        if req.verdict in ("pass", "not-run"):
            continue  # the template shows no evidence there
        for s in checks:
            if s.verdict != "pass" and s.id not in evidence_index:
                evidence_index[s.id] = len(evidence)
                evidence.append({
                    "id": s.id, "step": s.failed_step, "message": s.message,
                    "seed": s.seed if s.seed is not None else run.seed,
                    "exchanges": [{"method": e.method, "url": e.url, "status": e.status, "error": e.error,
                                   "request_body": e.request_body, "response_body": e.response_body,
                                   "curl": e.curl} for e in s.exchanges]})
    html = _ENV.get_template("report.html").render(
        run=run, rows=rows, evidence_json=_script_json(evidence), evidence_index=evidence_index, order=[v for v in ORDER], counts=run.counts("requirements"),
        scenario_counts=run.counts("scenarios"),
        services=sorted({r.service for r in run.requirements}), levels=["MUST", "SHOULD", "MAY"],
        verdicts=[v for v in ORDER if any(r.verdict == v for r in run.requirements)])
    path = directory / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def _script_json(data: object) -> str:
    """JSON that can sit inside ``<script type="application/json">``: nothing in it can end the element."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/").replace(
        "<!--", "\\u003c!--")
