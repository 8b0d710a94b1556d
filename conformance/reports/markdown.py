"""The Markdown summary (``summary.md``): counts per verdict, every non-pass requirement with its evidence in brief."""

from __future__ import annotations

from pathlib import Path

from conformance.verdicts import ORDER, Run


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")[:300]


def write(run: Run, directory: Path) -> Path:
    """Write ``summary.md``."""
    sc, rq = run.counts("scenarios"), run.counts("requirements")
    lines = [f"# examrig check: {run.label}{' (INCOMPLETE: interrupted)' if run.incomplete else ''}", "",
             f"- started {run.started}, finished {run.finished or '-'}; mode {run.mode}; seed {run.seed}",
             f"- targets: {', '.join(f'{k}={v}' for k, v in run.targets.items()) or 'none (examrig self-check)'}",
             f"- services: {', '.join(run.services)}; strict assumed: {'yes' if run.strict_assumed else 'no'}",
             f"- exit code **{run.exit_code}**", "",
             "| verdict | scenarios | requirements |", "|---|---:|---:|"]
    lines += [f"| {v} | {sc[v]} | {rq[v]} |" for v in ORDER if sc[v] or rq[v]]
    if run.problems or run.warnings:
        lines += ["", "## Problems", ""] + [f"- {p}" for p in run.problems] + [f"- warning: {w}" for w in run.warnings]
    scenarios = {s.id: s for s in run.scenarios}
    bad = [r for r in run.requirements if r.verdict not in ("pass", "not-run")]
    lines += ["", "## Requirements that did not pass", ""]
    if not bad:
        lines.append("None.")
    else:
        lines += ["| requirement | level | verdict | scenario | step | message |", "|---|---|---|---|---|---|"]
        for req in bad:
            worst = [scenarios[s] for s in req.scenarios if scenarios[s].requirement_verdicts.get(req.id) == req.verdict]
            first = worst[0] if worst else None
            lines.append(f"| {req.id} | {req.level}{' (assumed)' if req.assumed else ''} | {req.verdict} | "
                         f"{_cell(first.name) if first else ''} | {_cell(first.failed_step) if first else ''} | "
                         f"{_cell(first.message if first else req.ledger_reason)} |")
    not_run = [r.id for r in run.requirements if r.verdict == "not-run"]
    if not_run:
        lines += ["", f"## Not run ({len(not_run)})", "", ", ".join(not_run)]
    path = directory / "summary.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
