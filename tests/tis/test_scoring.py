"""The IRT theta estimate with item constants prepared once equals the per-iteration formulation it replaced."""

from __future__ import annotations

import math
import random

from mocks.tis.package import Dimension
from mocks.tis.scoring import D_SCALE, THETA_MAX, THETA_MIN, mle_theta


def _terms(theta: float, dim: Dimension, x: float) -> tuple[float, float]:
    """The former per-iteration derivative and information of one response (parameters read every time)."""
    a = dim.params.get("a", 1.0)
    if dim.model.upper().startswith("IRTGPC") or (dim.points > 1 and "b0" in dim.params):
        steps = [dim.params[k] for k in sorted((k for k in dim.params if k.startswith("b") and k[1:].isdigit()),
                                               key=lambda k: int(k[1:]))] or [dim.params.get("b", 0.0)]
        logits, acc = [0.0], 0.0
        for b in steps:
            acc += D_SCALE * a * (theta - b)
            logits.append(acc)
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        probs = [e / sum(exps) for e in exps]
        mean = sum(k * p for k, p in enumerate(probs))
        var = sum((k - mean) ** 2 * p for k, p in enumerate(probs))
        return D_SCALE * a * (x - mean), (D_SCALE * a) ** 2 * var
    b, c = dim.params.get("b", dim.params.get("b0", 0.0)), dim.params.get("c", 0.0)
    p = min(max(c + (1.0 - c) / (1.0 + math.exp(-D_SCALE * a * (theta - b))), 1e-12), 1 - 1e-12)
    w = (p - c) / (p * (1.0 - c))
    info = (D_SCALE * a) ** 2 * ((p - c) / (1.0 - c)) ** 2 * (1.0 - p) / p
    return D_SCALE * a * w * ((1.0 if x > 0 else 0.0) - p), info


def _reference(responses: list[tuple[Dimension, float]]) -> tuple[float, float]:
    theta = 0.0
    for _ in range(100):
        grad = info = 0.0
        for dim, x in responses:
            g, i = _terms(theta, dim, x)
            grad += g
            info += i
        if info <= 0:
            break
        new = max(THETA_MIN, min(THETA_MAX, theta + max(-1.0, min(1.0, grad / info))))
        if abs(new - theta) < 1e-9:
            theta = new
            break
        theta = new
    return theta, sum(_terms(theta, dim, x)[1] for dim, x in responses)


def test_theta_and_information_equal_the_former_formulation_exactly() -> None:
    rng = random.Random(11)
    for _ in range(200):
        responses: list[tuple[Dimension, float]] = []
        for _ in range(rng.randint(1, 45)):
            if rng.random() < 0.3:
                steps = {f"b{k}": rng.uniform(-3, 3) for k in range(rng.randint(1, 4))}
                dim = Dimension("", "IRTGPC", len(steps), 1.0, {"a": rng.uniform(0.3, 2.0), **steps})
                responses.append((dim, float(rng.randint(0, len(steps)))))
            else:
                dim = Dimension("", "IRT3PLn", 1, 1.0, {"a": rng.uniform(0.3, 2.0), "b": rng.uniform(-3, 3),
                                                        "c": rng.choice([0.0, 0.2])})
                responses.append((dim, float(rng.randint(0, 1))))
        assert mle_theta(responses) == _reference(responses)
