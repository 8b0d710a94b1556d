"""Opportunity-level scores from a test package's rules: attemptedness, counts, raw score, IRT theta, scale, level."""

from __future__ import annotations

import math
from dataclasses import dataclass

from mocks.core import sabotage
from mocks.tis.package import Blueprint, Dimension, Rule

D_SCALE = 1.7  # the "n" (normal-ogive metric) of IRT3PLn / IRTGPC
THETA_MIN, THETA_MAX = -15.0, 15.0
STRING_LABELS = frozenset({"Attempted", "PerformanceLevel"})
COUNT_LABELS = frozenset({"ItemCount", "ItemCountScored", "RawScore"})


class ScoringError(ValueError):
    """A scoring failure that makes the pass ``Unknown`` ("Scores changed", negative scores)."""


@dataclass(frozen=True)
class ItemInput:
    """One TRT item as the scoring engine sees it."""

    name: str
    segment: str
    operational: bool
    selected: bool
    dropped: bool
    score: float
    refs: tuple[str, ...]
    dimensions: tuple[Dimension, ...]


@dataclass(frozen=True)
class Score:
    """One opportunity-level ``<Score>``."""

    measure_of: str
    measure_label: str
    value: str
    standard_error: str


def fmt(value: float) -> str:
    """A double as .NET ``ToString()`` writes it (15 significant digits, ``G``)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = format(value, ".15G")
    if "E" in text:
        mant, exp = text.split("E")
        sign = exp[0] if exp[0] in "+-" else "+"
        text = f"{mant}E{sign}{exp.lstrip('+-').zfill(2)}"
    return text


# a response prepared once for the iterations: GPC?, D*a, (D*a)^2, the steps (GPC), x (GPC: the score; 3PL: 0 or 1),
# and for 3PL -D*a, b, c
_Prepared = tuple[bool, float, float, list[float], float, float, float, float]


def _prepare(dim: Dimension, x: float) -> _Prepared:
    a = dim.params.get("a", 1.0)
    if dim.model.upper().startswith("IRTGPC") or (dim.points > 1 and "b0" in dim.params):
        steps = [dim.params[k] for k in sorted((k for k in dim.params if k.startswith("b") and k[1:].isdigit()),
                                               key=lambda k: int(k[1:]))]
        return True, D_SCALE * a, (D_SCALE * a) ** 2, steps or [dim.params.get("b", 0.0)], x, 0.0, 0.0, 0.0
    b, c = dim.params.get("b", dim.params.get("b0", 0.0)), dim.params.get("c", 0.0)
    return False, D_SCALE * a, (D_SCALE * a) ** 2, [], 1.0 if x > 0 else 0.0, -D_SCALE * a, b, c


def _terms(theta: float, r: _Prepared) -> tuple[float, float]:
    """(first derivative of the log-likelihood, Fisher information) of one prepared response at ``theta``."""
    gpc, da, da2, steps, x, nda, b, c = r
    if gpc:
        logits = [0.0]
        acc = 0.0
        for step in steps:
            acc += da * (theta - step)
            logits.append(acc)
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        probs = [e / total for e in exps]
        mean = sum(k * p for k, p in enumerate(probs))
        var = sum((k - mean) ** 2 * p for k, p in enumerate(probs))
        return da * (x - mean), da2 * var
    p = min(max(c + (1.0 - c) / (1.0 + math.exp(nda * (theta - b))), 1e-12), 1 - 1e-12)
    w = (p - c) / (p * (1.0 - c))
    grad = da * w * (x - p)
    info = da2 * ((p - c) / (1.0 - c)) ** 2 * (1.0 - p) / p
    return grad, info


def mle_theta(responses: list[tuple[Dimension, float]]) -> tuple[float, float]:
    """Maximum-likelihood theta over ``responses`` (Fisher scoring, bounded to [-15, 15]) and its information."""
    prepared = [_prepare(dim, x) for dim, x in responses]  # the item constants once, not per iteration
    theta = 0.0
    for _ in range(100):
        grad = info = 0.0
        for r in prepared:
            g, i = _terms(theta, r)
            grad += g
            info += i
        if info <= 0:
            break
        step = max(-1.0, min(1.0, grad / info))
        new = max(THETA_MIN, min(THETA_MAX, theta + step))
        if abs(new - theta) < 1e-9:
            theta = new
            break
        theta = new
    info = sum(_terms(theta, r)[1] for r in prepared)
    return theta, info


def _on_scale(item: ItemInput, measure_of: str) -> bool:
    return measure_of.lower() == "overall" or measure_of in item.refs


class Engine:
    """Runs a blueprint's rules in computation order over one opportunity's items."""

    def __init__(self, bp: Blueprint, items: list[ItemInput], status: str,
                 existing: dict[tuple[str, str], str]) -> None:
        self.bp = bp
        self.items = items
        self.status = status
        self.known: dict[tuple[str, str], tuple[str, str]] = {k: (v, "") for k, v in existing.items()}
        self.existing = existing
        self.order: list[tuple[str, str]] = []
        self.theta_info: dict[str, float] = {}

    def run(self) -> list[Score]:
        """The new scores (those not already in the TRT), grouped by label then measureOf."""
        for rule in self.bp.rules:
            handler = getattr(self, f"_rule_{rule.name}", None)
            if handler is None:
                continue  # a rule examrig does not implement yields no score (docs/tis.md)
            handler(rule)
        labels: list[str] = []
        for _, label in self.order:
            if label not in labels:
                labels.append(label)
        out: list[Score] = []
        for label in labels:
            for key in self.order:
                if key[1] == label and key not in self.existing:
                    value, se = self.known[key]
                    out.append(Score(key[0], f"{key[1]}Rule" if sabotage.on("tis.family-label-unused") else key[1], value, se))  # noqa: E501
        return out

    def _put(self, measure_of: str, label: str, value: str, se: str) -> None:
        key = (measure_of, label)
        old = self.existing.get(key)
        if old is not None and not _same(old, value):
            raise ScoringError(f"Scores changed for {measure_of}/{label}: was {old}, recomputed {value}")
        if old is None:
            self.known[key] = (value, se)
        if key not in self.order:
            self.order.append(key)

    def _get(self, measure_of: str, label: str) -> str:
        return self.known.get((measure_of, label), ("", ""))[0]

    def _usable(self, measure_of: str) -> list[ItemInput]:
        return [i for i in self.items if _on_scale(i, measure_of) and not i.dropped]

    # -- attemptedness -----------------------------------------------------------------

    def _rule_SBACAttemptedness(self, rule: Rule) -> None:
        if self.status == "pending":
            self._put(rule.measure_of, rule.measure_label, "N", "")
            return
        parts_param = rule.params.get("testPart")
        parts = dict(parts_param) if isinstance(parts_param, dict) else {}
        wanted = set(parts.values()) or {"1"}
        covered = {parts.get(i.segment, "1") for i in self.items if i.selected}
        if not parts:
            covered = {"1"} if covered else set()
        self._put(rule.measure_of, rule.measure_label, "Y" if wanted <= covered else "P", "")

    def _rule_SBACIABAttemptedness(self, rule: Rule) -> None:
        self._put(rule.measure_of, rule.measure_label, "Y" if any(i.selected for i in self.items) else "P", "")

    def _rule_SBACBlockAttemptedness(self, rule: Rule) -> None:
        self._put(rule.measure_of, rule.measure_label, "Y" if any(i.selected for i in self.items) else "N", "")

    # -- counts and raw score ----------------------------------------------------------

    def _rule_ItemCount(self, rule: Rule) -> None:
        if sabotage.on("tis.itemcount-unscored"): return  # noqa: E701
        self._put(rule.measure_of, "ItemCount", str(len(self._usable(rule.measure_of))), "0")

    def _rule_ItemCountScored(self, rule: Rule) -> None:
        n = sum(1 for i in self._usable(rule.measure_of) if i.operational and i.selected and i.dimensions)
        self._put(rule.measure_of, rule.measure_label, str(n), "0")

    def _rule_RawScore(self, rule: Rule) -> None:
        total = 0.0
        for i in self._usable(rule.measure_of):
            if i.operational and i.selected and i.dimensions and i.score >= 0:
                total += i.score * i.dimensions[0].weight
        if total < 0:
            raise ScoringError("negative scores are not allowed")
        self._put(rule.measure_of, rule.measure_label, fmt(total), "0")

    _rule_MultiStrandRawScore = _rule_RawScore

    # -- theta, scale score, performance level -----------------------------------------

    def _rule_SBACTheta(self, rule: Rule) -> None:
        if self._get("Overall", "Attempted") not in ("Y", ""):
            self._put(rule.measure_of, rule.measure_label, "", "")
            return
        lot = float(rule.params.get("LOT", THETA_MIN))
        hot = float(rule.params.get("HOT", THETA_MAX))
        se_limit = float(rule.params.get("seLimit", 99.0))
        avg_a, avg_b = rule.params.get("averageA"), rule.params.get("averageB")
        responses: list[tuple[Dimension, float]] = []
        partial = False
        for seg in self.bp.segments:
            seg_items = [i for i in self.items if i.segment == seg.id and _on_scale(i, rule.measure_of)
                         and i.operational and not i.dropped and i.dimensions]
            selected = [i for i in seg_items if i.selected and i.score >= 0]
            for i in seg_items:
                if i.selected and i.score >= 0:
                    responses.append((i.dimensions[0], i.score))
                elif not i.selected:
                    partial = True
                    responses.append((i.dimensions[0], 0.0))
            if seg.algorithm.lower() == "adaptive" and len(selected) < seg.min_items:
                partial = True
                if avg_a is not None and avg_b is not None:
                    pseudo = Dimension("", "IRT3PLn", 1, 1.0, {"a": float(avg_a), "b": float(avg_b), "c": 0.0})
                    responses.extend((pseudo, 0.0) for _ in range(seg.min_items - len(seg_items)))
        if not responses or (partial and rule.measure_of != "Overall"
                             and any(s.algorithm.lower() == "adaptive" for s in self.bp.segments)):
            self._put(rule.measure_of, rule.measure_label, "", "")
            return
        theta, info = mle_theta(responses)
        theta = max(lot, min(hot, theta))
        se = min(se_limit, 1.0 / math.sqrt(info)) if info > 0 else se_limit
        self._put(rule.measure_of, rule.measure_label, fmt(theta), fmt(se))

    _rule_SBACCATTheta = _rule_SBACTheta
    _rule_SBACCATMultiStrandTheta = _rule_SBACTheta
    _rule_SBACMultiStrandTheta = _rule_SBACTheta

    def _theta(self, measure_of: str) -> tuple[str, str]:
        return self.known.get((measure_of, "ThetaScore"), ("", ""))

    def _scale(self) -> tuple[float, float]:
        for seg in self.bp.segments:
            if seg.slope != 1.0 or seg.intercept != 0.0:
                return seg.slope, seg.intercept
        return 1.0, 0.0

    def _rule_ScaleScore(self, rule: Rule) -> None:
        theta, se = self._theta(rule.measure_of)
        if theta == "":
            self._put(rule.measure_of, rule.measure_label, "", "")
            return
        slope, intercept = self._scale()
        self._put(rule.measure_of, rule.measure_label, fmt(intercept + float(theta) * slope),
                  fmt(float(se or 0) * slope))

    def _level(self, scale: float) -> int:
        s = round_half_away(scale)
        if not self.bp.cuts:
            return 0
        for level, lo, hi in self.bp.cuts:
            if lo <= s < hi:
                return level
        return self.bp.cuts[0][0] if s < self.bp.cuts[0][1] else self.bp.cuts[-1][0]

    def _rule_TestPerformanceLevel(self, rule: Rule) -> None:
        scale = self.known.get((rule.measure_of, "ScaleScore"), ("", ""))[0]
        self._put(rule.measure_of, rule.measure_label, "" if scale == "" else str(self._level(float(scale))), "")

    def _rule_SEBasedPLWithRounding(self, rule: Rule) -> None:
        scale, se = self.known.get((rule.measure_of, "ScaleScore"), ("", ""))
        theta = self._theta(rule.measure_of)[0]
        if scale == "" or theta == "":
            self._put(rule.measure_of, rule.measure_label, "", "")
            return
        k = float(rule.params.get("seMultiple", 1.5))
        proficient = int(float(rule.params.get("proficientLevel", 3)))
        cut = next((lo for level, lo, _ in self.bp.cuts if level == proficient), 0.0)
        s, e, t = float(scale), float(se or 0), float(theta)
        if t <= float(rule.params.get("LOT", THETA_MIN)):
            level = 1
        elif t >= float(rule.params.get("HOT", THETA_MAX)) or round_half_away(s - k * e) >= cut:
            level = 3
        elif round_half_away(s + k * e) < cut:
            level = 1
        else:
            level = 2
        self._put(rule.measure_of, rule.measure_label, str(level), "")


def round_half_away(x: float) -> float:
    """Round half away from zero (.NET ``MidpointRounding.AwayFromZero``)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def _same(old: str, new: str) -> bool:
    if old == new:
        return True
    try:
        a, b = float(old), float(new)
    except ValueError:
        return False
    return abs(a - b) <= 1e-5 * max(abs(a), abs(b), 1e-12)


def score_opportunity(bp: Blueprint, items: list[ItemInput], status: str,
                      existing: dict[tuple[str, str], str]) -> list[Score]:
    """The ``<Score>`` elements to add for one opportunity (raises :class:`ScoringError`)."""
    return Engine(bp, items, status, existing).run()
