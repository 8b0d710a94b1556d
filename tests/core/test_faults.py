"""Faults: matching, reproducibility from a seed, validation of specs."""

from __future__ import annotations

import pytest

from mocks.core.faults import FaultEngine, FaultSpecError, truncated


def _decisions(seed: int, n: int = 200) -> list[str]:
    engine = FaultEngine(seed)
    engine.add({"kind": "status", "status": 503, "probability": 0.3, "route": "r"}, tenant="t")
    engine.add({"kind": "latency", "distribution": "lognormal", "median_ms": 5, "sigma": 0.8}, tenant="t")
    out = []
    for _ in range(n):
        applied = engine.decide(direction="inbound", tenant="t", method="GET", path="/x", route="r")
        out.append(";".join(f"{a.kind}:{sorted(a.params.items())}" for a in applied))
    return out


def test_same_seed_same_faults_different_seed_different_faults() -> None:
    first, second, other = _decisions(7), _decisions(7), _decisions(8)
    assert first == second
    assert first != other
    statuses = sum("status" in d for d in first)
    assert 30 < statuses < 90  # probability 0.3 of 200 draws


def test_rules_are_scoped_by_tenant_route_method_and_times() -> None:
    engine = FaultEngine(1)
    engine.add({"kind": "status", "status": 500, "route": "a", "method": "post", "times": 1}, tenant="t1")
    assert engine.decide(direction="inbound", tenant="t2", method="POST", path="/", route="a") == []
    assert engine.decide(direction="inbound", tenant="t1", method="GET", path="/", route="a") == []
    assert engine.decide(direction="inbound", tenant="t1", method="POST", path="/", route="b") == []
    hit = engine.decide(direction="inbound", tenant="t1", method="POST", path="/", route="a")
    assert [h.kind for h in hit] == ["status"]
    assert engine.decide(direction="inbound", tenant="t1", method="POST", path="/", route="a") == []


def test_path_glob_peer_and_star_tenant() -> None:
    engine = FaultEngine(1)
    engine.add({"kind": "reset", "direction": "outbound", "peer": "http://thss*", "tenant": "*"}, tenant="x")
    assert engine.decide(direction="outbound", tenant="any", method="POST", path="/api",
                         peer="http://thss.local/api")[0].kind == "reset"
    assert engine.decide(direction="outbound", tenant="any", method="POST", path="/api", peer="http://dw") == []
    engine.add({"kind": "truncate", "path": "/api/*", "fraction": 0.25}, tenant="x")
    assert engine.decide(direction="inbound", tenant="x", method="GET", path="/api/v")[0].params == {"fraction": 0.25}


def test_only_one_terminal_fault_but_latency_stacks() -> None:
    engine = FaultEngine(1)
    engine.add({"kind": "latency", "ms": 3}, tenant="t")
    engine.add({"kind": "status", "status": 502}, tenant="t")
    engine.add({"kind": "reset"}, tenant="t")
    kinds = [a.kind for a in engine.decide(direction="inbound", tenant="t", method="GET", path="/")]
    assert kinds == ["latency", "status"]


@pytest.mark.parametrize("spec,field", [
    ({"kind": "explode"}, "kind"),
    ({"kind": "status", "status": 99}, "status"),
    ({"kind": "status", "probability": 1.5}, "probability"),
    ({"kind": "latency", "ms": -1}, "ms"),
    ({"kind": "latency", "distribution": "pareto"}, "distribution"),
    ({"kind": "reset", "colour": "red"}, "colour"),
    ({"kind": "reset", "times": 0}, "times"),
    ({"kind": "reset", "direction": "sideways"}, "direction"),
])
def test_bad_specs_name_the_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(FaultSpecError) as info:
        FaultEngine(1).add(spec)
    assert info.value.field == field


def test_truncated_keeps_a_strict_prefix() -> None:
    assert truncated(b"abcdef", 0.5) == b"abc"
    assert truncated(b"ab", 1.0) == b"a"
    assert truncated(b"", 0.5) == b""


def test_clear_by_rule_and_tenant() -> None:
    engine = FaultEngine(1)
    r1 = engine.add({"kind": "reset"}, tenant="a")
    engine.add({"kind": "reset"}, tenant="b")
    assert engine.clear(rule_id=r1.id) == 1
    assert [r.tenant for r in engine.rules()] == ["b"]
    assert engine.clear(tenant="b") == 1 and engine.rules() == []
