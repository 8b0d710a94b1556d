"""The report model of a conformance run: scenario and requirement verdicts, their aggregation, the exit code.

Nothing here knows about pytest. ``examrig check`` fills :class:`ScenarioResult` records from pytest
reports (``conformance/plugin.py``); a client-conformance run (issue 15) fills the same records from
journal rules, with the raw outcome ``not-exercised`` where the client never triggered a rule. The
aggregation, the exit code and every report writer then work on a :class:`Run` alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

SCHEMA_VERSION = "1.0"

# worst first: a requirement's verdict is the first of these that any of its checks got
ORDER = ("stale", "fail", "error", "non-strict", "expected-fail", "unsupported", "not-exercised", "pass", "not-run")
VERDICTS = ORDER
# what a check can have seen before levels, the ledger and --strict-assumed are applied
OUTCOMES = ("passed", "failed", "error", "unsupported", "skipped", "not-exercised")
# an error verdict on more than this share of the checks makes the run an infrastructure failure (exit 3):
# then the target or the harness is broken and the fails that remain say little about conformance
ERROR_SHARE = 0.2

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INFRA, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@dataclass
class Exchange:
    """One HTTP request a check made, and what came back (``status`` None: no answer)."""

    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str = ""
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    error: str = ""
    service: str = ""
    curl: str = ""


@dataclass
class Step:
    """One Gherkin step of a scenario as it ran (``status``: passed, failed, skipped)."""

    keyword: str
    name: str
    line: int
    status: str
    duration: float = 0.0


@dataclass
class ScenarioResult:
    """One check: a Gherkin scenario (or a client rule) and what it found.

    ``outcome`` is what was observed (one of :data:`OUTCOMES`); ``verdict`` is set by
    :func:`aggregate` from the outcome, the requirements' levels, the ledger and the options.
    """

    id: str
    name: str
    service: str
    requirements: list[str]
    outcome: str
    feature: str = ""
    feature_file: str = ""
    line: int = 0
    tags: list[str] = field(default_factory=list)
    message: str = ""
    failed_step: str = ""
    duration: float = 0.0
    steps: list[Step] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    seed: int | None = None
    foreign: bool = False
    undefined_step: bool = False
    verdict: str = ""
    requirement_verdicts: dict[str, str] = field(default_factory=dict)


@dataclass
class RequirementResult:
    """One catalogue requirement and the worst verdict of the checks that claim it."""

    id: str
    service: str
    level: str
    title: str
    source: str
    section: str
    assumed: bool
    kind: str
    role: str
    capability: str
    verdict: str
    scenarios: list[str] = field(default_factory=list)
    ledger_reason: str = ""
    selected: bool = False


@dataclass
class Run:
    """Everything one conformance run found; what every report writer reads."""

    started: str
    finished: str = ""
    label: str = "examrig"
    mode: str = "inprocess"
    targets: dict[str, str] = field(default_factory=dict)
    services: list[str] = field(default_factory=list)
    seed: int | None = None
    strict_assumed: bool = False
    capabilities: dict[str, bool] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    incomplete: bool = False
    scenarios: list[ScenarioResult] = field(default_factory=list)
    requirements: list[RequirementResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    schema_version: str = SCHEMA_VERSION

    def counts(self, what: str = "scenarios") -> dict[str, int]:
        """Verdict counts of the scenarios or of the selected requirements, every verdict present."""
        records: Iterable[ScenarioResult | RequirementResult] = (
            self.scenarios if what == "scenarios" else [r for r in self.requirements if r.selected])
        found = Counter(r.verdict for r in records)
        return {v: found.get(v, 0) for v in VERDICTS}

    def to_dict(self) -> dict[str, Any]:
        """The run as plain JSON data (the JSON report's body)."""
        data: dict[str, Any] = _plain(self)
        data["counts"] = {"scenarios": self.counts("scenarios"), "requirements": self.counts("requirements")}
        return data


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` without its deep copies (five times faster on a full corpus's run)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def worst(verdicts: Iterable[str]) -> str:
    """The worst of ``verdicts`` in :data:`ORDER`; ``not-run`` when there is none."""
    ranked = [v for v in verdicts if v != "not-run"]
    return min(ranked, key=ORDER.index) if ranked else "not-run"


@dataclass(frozen=True)
class ReqInfo:
    """What aggregation needs of a catalogue requirement (read defensively from the catalogue)."""

    id: str
    service: str
    level: str
    title: str = ""
    source: str = ""
    section: str = ""
    assumed: bool = False
    kind: str = "contract"
    role: str = "server"
    capability: str = ""

    @classmethod
    def of(cls, req: Any) -> ReqInfo:
        """From a ``conformance.catalogue.Requirement`` (fields the catalogue may not have yet default)."""
        return cls(id=req.id, service=req.service, level=req.level, title=getattr(req, "title", ""),
                   source=getattr(req, "source", ""), section=getattr(req, "section", ""),
                   assumed=bool(getattr(req, "assumed", False)), kind=str(getattr(req, "kind", "contract")),
                   role=str(getattr(req, "role", "server")), capability=str(getattr(req, "capability", "") or ""))


def pair_verdict(outcome: str, req: ReqInfo | None, *, foreign: bool, strict_assumed: bool,
                 ledgered: bool) -> str:
    """The verdict one check gives one requirement it claims.

    A miss of a SHOULD or MAY is ``non-strict``; so is a miss of an ``assumed`` requirement against a
    foreign target (examrig's assumption is not the integrator's obligation) unless ``strict_assumed``.
    Against examrig's own mocks an assumed behaviour is examrig's, so its miss stays a ``fail``.
    """
    if outcome == "passed":
        return "pass"
    if outcome == "unsupported":
        return "unsupported"
    if outcome == "not-exercised":
        return "not-exercised"
    if outcome == "skipped":
        return "not-run"
    if outcome == "error":
        return "error"
    if ledgered:
        return "expected-fail"
    if req is not None and (req.level != "MUST" or (req.assumed and foreign and not strict_assumed)):
        return "non-strict"
    return "fail"


def aggregate(run: Run, catalogue: Mapping[str, ReqInfo], ledger: Mapping[str, str], *,
              services: Iterable[str] | None = None) -> None:
    """Set every check's and requirement's verdict, and the ledger's stale entries, on ``run``.

    ``ledger`` maps requirement IDs to reasons (expired entries already left out). ``services``
    limits the requirements listed to those services (default: the services of the checks).
    A ledgered requirement that now passes is ``stale``; one that is not run or unsupported keeps
    its verdict and gets a warning (the entry may be needed by another target).
    """
    for scen in run.scenarios:
        scen.requirement_verdicts = {
            rid: pair_verdict(scen.outcome, catalogue.get(rid), foreign=scen.foreign,
                              strict_assumed=run.strict_assumed, ledgered=rid in ledger)
            for rid in scen.requirements}
        if scen.requirement_verdicts:
            scen.verdict = worst(scen.requirement_verdicts.values())
        else:
            scen.verdict = pair_verdict(scen.outcome, None, foreign=scen.foreign,
                                        strict_assumed=run.strict_assumed, ledgered=False)
    wanted = set(services) if services is not None else {s.service for s in run.scenarios}
    claims: dict[str, list[ScenarioResult]] = {}
    for scen in run.scenarios:
        for rid in scen.requirements:
            claims.setdefault(rid, []).append(scen)
    listed = [info for info in catalogue.values() if info.service in wanted or info.id in claims]
    results: list[RequirementResult] = []
    for info in sorted(listed, key=lambda i: (i.service, i.id)):
        checks = claims.get(info.id, [])
        verdict = worst(s.requirement_verdicts[info.id] for s in checks)
        reason = ledger.get(info.id, "")
        if info.id in ledger and verdict == "pass":
            verdict = "stale"
        results.append(RequirementResult(
            id=info.id, service=info.service, level=info.level, title=info.title, source=info.source,
            section=info.section, assumed=info.assumed, kind=info.kind, role=info.role,
            capability=info.capability, verdict=verdict, scenarios=[s.id for s in checks],
            ledger_reason=reason, selected=bool(checks)))
    run.requirements = results
    for rid in sorted(ledger):
        match = next((r for r in results if r.id == rid), None)
        if match is not None and match.verdict == "stale":
            run.problems.append(f"ledger entry {rid} is stale: the requirement now passes (remove the entry)")
        elif match is not None and match.verdict in ("not-run", "unsupported", "not-exercised"):
            run.warnings.append(f"ledger entry {rid} was not exercised in this run ({match.verdict})")


def exit_code(run: Run) -> tuple[int, list[str]]:
    """The run's exit code and the reasons for it, one line each (also appended to ``run.problems``).

    3 (infrastructure) wins over 1: zero checks, an undefined step, errors on more than
    :data:`ERROR_SHARE` of the checks, or a MUST that ended in ``error``/``not-run`` (nothing judged it).
    Then 1 for any ``fail`` or ``stale``. A ``non-strict`` (a SHOULD, MAY or assumed miss) does not
    block 0: it is reported, not failed.
    """
    reasons: list[str] = []
    infra = False
    if run.incomplete:
        return EXIT_INTERRUPTED, ["the run was interrupted; the reports are incomplete"]
    if not run.scenarios:
        reasons.append("zero scenarios were selected")
        infra = True
    undefined = [s for s in run.scenarios if s.undefined_step]
    if undefined:
        reasons.append(f"{len(undefined)} scenario(s) use an undefined step, e.g. {undefined[0].id}: "
                       f"{undefined[0].message.splitlines()[0] if undefined[0].message else ''}")
        infra = True
    errors = [s for s in run.scenarios if s.verdict == "error"]
    if run.scenarios and len(errors) > ERROR_SHARE * len(run.scenarios):
        reasons.append(f"{len(errors)} of {len(run.scenarios)} scenarios ended in error "
                       f"(more than {ERROR_SHARE:.0%}): the target or the harness is broken")
        infra = True
    unjudged = [r for r in run.requirements if r.selected and r.level == "MUST" and r.verdict in ("error", "not-run")]
    if unjudged and not infra:
        reasons.append(f"{len(unjudged)} MUST requirement(s) could not be judged ({unjudged[0].id}: "
                       f"{unjudged[0].verdict})")
        infra = True
    failed = [r for r in run.requirements if r.selected and r.verdict == "fail"]
    stale = [r for r in run.requirements if r.verdict == "stale"]
    if failed:
        reasons.append(f"{len(failed)} requirement(s) fail: {', '.join(r.id for r in failed[:10])}"
                       + (" …" if len(failed) > 10 else ""))
    if stale:
        reasons.append(f"{len(stale)} ledger entr{'y is' if len(stale) == 1 else 'ies are'} stale: "
                       + ", ".join(r.id for r in stale))
    if infra:
        return EXIT_INFRA, reasons
    if failed or stale:
        return EXIT_FAIL, reasons
    return EXIT_OK, reasons


__all__ = ["ERROR_SHARE", "ORDER", "OUTCOMES", "SCHEMA_VERSION", "VERDICTS", "Exchange", "ReqInfo",
           "RequirementResult", "Run", "ScenarioResult", "Step", "aggregate", "exit_code", "pair_verdict",
           "worst"]
