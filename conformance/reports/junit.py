"""The JUnit XML report (``junit.xml``), valid against the JUnit schema Jenkins' junit plugin publishes (junit-10.xsd).

That schema allows ``<properties>`` on a ``<testsuite>`` only, so each scenario is a testsuite of its
own holding its one testcase, with the requirement IDs (``requirement``), the verdict and the seed as
the suite's properties: flat, as Jenkins and GitLab read it. ``fail`` is a ``<failure>``, ``error`` an
``<error>``, ``unsupported``/``expected-fail``/``not-run`` a ``<skipped>`` with the reason; a
``non-strict`` passes with its miss in ``system-out``. Stale ledger entries fail in a suite ``ledger``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.verdicts import Run, ScenarioResult

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _XML_BAD.sub("\ufffd", text)


def _evidence(s: ScenarioResult) -> str:
    lines = [f"verdict: {s.verdict}", f"requirements: {', '.join(s.requirements) or '-'}", f"seed: {s.seed}"]
    if s.failed_step:
        lines.append(f"step: {s.failed_step}")
    if s.message:
        lines.append(f"message: {s.message}")
    for e in s.exchanges[-5:]:
        lines.append(f"{e.method} {e.url} -> {e.status if e.status is not None else e.error}")
    if s.exchanges:
        lines.append(f"replay: {s.exchanges[-1].curl}")
    return _clean("\n".join(lines))


def write(run: Run, directory: Path) -> Path:
    """Write ``junit.xml``."""
    root = ET.Element("testsuites", name=f"examrig check {run.label}")
    for s in run.scenarios:
        suite = ET.SubElement(root, "testsuite", name=_clean(f"{s.service}.{s.feature or s.feature_file}: {s.name}"),
                              tests="1", failures=str(int(s.verdict == "fail")), errors=str(int(s.verdict == "error")),
                              skipped=str(int(s.verdict in ("unsupported", "expected-fail", "not-run"))),
                              time=f"{s.duration:.3f}", timestamp=run.started)
        props = ET.SubElement(suite, "properties")
        for rid in s.requirements:
            ET.SubElement(props, "property", name="requirement", value=rid)
        ET.SubElement(props, "property", name="verdict", value=s.verdict)
        ET.SubElement(props, "property", name="seed", value=str(s.seed))
        case = ET.SubElement(suite, "testcase", name=_clean(s.name), classname=_clean(f"{s.service}.{s.feature}"),
                             time=f"{s.duration:.3f}")
        first_line = _clean((s.message or s.verdict).splitlines()[0][:500]) if (s.message or s.verdict) else ""
        if s.verdict == "fail":
            ET.SubElement(case, "failure", type="AssertionError", message=first_line).text = _evidence(s)
        elif s.verdict == "error":
            ET.SubElement(case, "error", type="error", message=first_line).text = _evidence(s)
        elif s.verdict in ("unsupported", "expected-fail", "not-run"):
            ET.SubElement(case, "skipped", type=s.verdict, message=_clean(f"{s.verdict}: {first_line}"))
        if s.verdict != "pass":
            ET.SubElement(case, "system-out").text = _evidence(s)
    stale = [r for r in run.requirements if r.verdict == "stale"]
    if stale:
        suite = ET.SubElement(root, "testsuite", name="ledger", tests=str(len(stale)), failures=str(len(stale)),
                              errors="0", skipped="0", timestamp=run.started)
        for r in stale:
            case = ET.SubElement(suite, "testcase", name=f"ledger entry {r.id}", classname="ledger")
            ET.SubElement(case, "failure", type="stale",
                          message=f"{r.id} passes now; remove its ledger entry ({_clean(r.ledger_reason)})")
    path = directory / "junit.xml"
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
