"""Faults on demand, per route and tenant, reproducible from a seed."""

from __future__ import annotations

import fnmatch
import hashlib
import math
import random
import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("latency", "status", "reset", "truncate", "malformed")
DIRECTIONS = ("inbound", "outbound")
DISTRIBUTIONS = ("fixed", "uniform", "lognormal")


class FaultSpecError(ValueError):
    """A fault rule that does not make sense; ``field`` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass
class FaultRule:
    """One fault rule.

    Matching: ``direction``; ``tenant`` (``"*"`` for every tenant); ``method``;
    ``route`` (the endpoint name) or ``path`` (a glob); for outbound rules ``peer``
    (a peer name or URL glob). A match fires with ``probability``, at most ``times``
    times. Kinds: ``latency`` (``distribution`` fixed/uniform/lognormal with ``ms``,
    ``min_ms``/``max_ms`` or ``median_ms``/``sigma``), ``status`` (``status``,
    ``body``, ``headers``), ``reset`` (the connection closes before any body byte),
    ``truncate`` (only ``fraction`` of the body is sent), ``malformed`` (the body is
    replaced by bytes that parse as nothing).
    """

    id: str
    kind: str
    direction: str = "inbound"
    tenant: str = "*"
    method: str | None = None
    route: str | None = None
    path: str | None = None
    peer: str | None = None
    probability: float = 1.0
    times: int | None = None
    distribution: str = "fixed"
    ms: float = 0.0
    min_ms: float = 0.0
    max_ms: float = 0.0
    median_ms: float = 0.0
    sigma: float = 0.5
    status: int = 503
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    fraction: float = 0.5
    applied: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


@dataclass
class AppliedFault:
    """What a rule did to one exchange (journaled with it)."""

    rule: str
    kind: str
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"rule": self.rule, "kind": self.kind, **self.params}


_RULE_FIELDS = {f for f in FaultRule.__dataclass_fields__ if f not in ("id", "applied")}


def build_rule(rule_id: str, spec: Mapping[str, Any], tenant: str) -> FaultRule:
    """Validate a JSON fault spec and make a rule (scoped to ``tenant`` unless it names one)."""
    if not isinstance(spec, Mapping):
        raise FaultSpecError("fault", "must be a JSON object")
    unknown = set(spec) - _RULE_FIELDS
    if unknown:
        name = sorted(unknown)[0]
        raise FaultSpecError(name, "unknown fault property")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultSpecError("kind", f"must be one of {', '.join(KINDS)}")
    values: dict[str, Any] = {"tenant": tenant, **spec}
    if values.get("direction", "inbound") not in DIRECTIONS:
        raise FaultSpecError("direction", "must be inbound or outbound")
    if values.get("distribution", "fixed") not in DISTRIBUTIONS:
        raise FaultSpecError("distribution", f"must be one of {', '.join(DISTRIBUTIONS)}")
    for name in ("probability", "fraction"):
        if name in values:
            v = values[name]
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
                raise FaultSpecError(name, "must be a number from 0 to 1")
    for name in ("ms", "min_ms", "max_ms", "median_ms", "sigma"):
        if name in values:
            v = values[name]
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0 or v > 600_000:
                raise FaultSpecError(name, "must be a number of milliseconds from 0 to 600000")
    if "status" in values:
        s = values["status"]
        # 1xx is not a final answer: a client given one waits for the real response and hangs
        if isinstance(s, bool) or not isinstance(s, int) or not 200 <= s <= 599:
            raise FaultSpecError("status", "must be a final HTTP status code from 200 to 599")
    if "times" in values and values["times"] is not None:
        t = values["times"]
        if isinstance(t, bool) or not isinstance(t, int) or t < 1:
            raise FaultSpecError("times", "must be a positive integer")
    if "headers" in values:
        _check_headers(values["headers"])
    for name in ("tenant", "method", "route", "path", "peer", "body"):
        if name in values and values[name] is not None and not isinstance(values[name], str):
            raise FaultSpecError(name, "must be a string")
    if values.get("method"):
        values["method"] = values["method"].upper()
    return FaultRule(id=rule_id, **values)


# RFC 9110 5.1 field-name: a token; 5.5 field-value: visible characters, spaces and tabs (latin-1 on the wire)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FIELD_VALUE = re.compile(r"^[\t\x20-\x7e\x80-\xff]*$")


def _check_headers(headers: object) -> None:
    """Reject what would reach the wire broken: a name with a space or a colon, a value with CR/LF or NUL.

    Such a rule used to be accepted and then turned every matching request into a 500 (or sent the bad
    bytes raw), so it is refused when posted, naming the header.
    """
    if not isinstance(headers, dict):
        raise FaultSpecError("headers", "must be an object of strings")
    for name, value in headers.items():
        if not isinstance(value, str):
            raise FaultSpecError(f"headers.{name}", "must be a string")
        if not _TOKEN.match(name):
            raise FaultSpecError(f"headers.{name}", "is not a valid HTTP header name (RFC 9110 token)")
        if not _FIELD_VALUE.match(value):
            raise FaultSpecError(f"headers.{name}", "value must not contain CR, LF, NUL or other control "
                                                    "characters, nor characters outside latin-1")


class FaultEngine:
    """The fault rules of one mock, and the seeded decisions they make.

    Each rule draws from its own random stream, derived from the engine's seed and
    the rule's id, so the same rules over the same sequence of matching requests
    apply the same faults on every run, whatever else is going on.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed if seed is not None else 0
        self._rules: list[FaultRule] = []
        self._rngs: dict[str, random.Random] = {}
        self._lock = threading.Lock()
        self._counter = 0

    def _rng_for(self, rule_id: str) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}:fault:{rule_id}".encode()).digest()
        return random.Random(int.from_bytes(digest[:16], "big"))

    def add(self, spec: Mapping[str, Any], tenant: str = "default") -> FaultRule:
        """Add a rule from a JSON spec; raises :class:`FaultSpecError`."""
        with self._lock:
            self._counter += 1
            rule = build_rule(f"f{self._counter}", spec, tenant)
            self._rules.append(rule)
            self._rngs[rule.id] = self._rng_for(rule.id)
            return rule

    def rules(self, tenant: str | None = None) -> list[FaultRule]:
        """Rules visible to ``tenant`` (its own and the ``*`` ones), or all."""
        with self._lock:
            return [r for r in self._rules if tenant is None or r.tenant in (tenant, "*")]

    def clear(self, tenant: str | None = None, rule_id: str | None = None) -> int:
        """Remove one rule, a tenant's rules, or all; returns how many went."""
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules
                           if not ((rule_id is None or r.id == rule_id)
                                   and (tenant is None or r.tenant == tenant))]
            return before - len(self._rules)

    def reseed(self, seed: int) -> None:
        """Restart every rule's stream from ``seed``."""
        with self._lock:
            self.seed = seed
            self._rngs = {r.id: self._rng_for(r.id) for r in self._rules}

    def decide(self, *, direction: str, tenant: str, method: str, path: str,
               route: str | None = None, peer: str | None = None) -> list[AppliedFault]:
        """The faults to apply to one exchange: any latency, then at most one terminal fault."""
        if not self._rules:  # the common case, without taking the lock
            return []
        applied: list[AppliedFault] = []
        terminal = False
        with self._lock:
            for rule in self._rules:
                if not _rule_matches(rule, direction, tenant, method, path, route, peer):
                    continue
                if rule.times is not None and rule.applied >= rule.times:
                    continue
                if rule.kind != "latency" and terminal:
                    continue
                rng = self._rngs[rule.id]
                if rule.probability < 1.0 and rng.random() >= rule.probability:
                    continue
                rule.applied += 1
                fault = applied_fault(rule, rng)
                terminal = terminal or fault.kind != "latency"
                applied.append(fault)
        return applied

    def rule(self, rule_id: str) -> FaultRule | None:
        """The rule with ``rule_id``, if any."""
        with self._lock:
            return next((r for r in self._rules if r.id == rule_id), None)


def _rule_matches(rule: FaultRule, direction: str, tenant: str, method: str, path: str,
                  route: str | None, peer: str | None) -> bool:
    if rule.direction != direction:
        return False
    if rule.tenant not in ("*", tenant):
        return False
    if rule.method and rule.method != method.upper():
        return False
    if rule.route and rule.route != route:
        return False
    if rule.path and not fnmatch.fnmatchcase(path, rule.path):
        return False
    return not (rule.peer and not (peer is not None and fnmatch.fnmatchcase(peer, rule.peer)))


def applied_fault(rule: FaultRule, rng: random.Random) -> AppliedFault:
    """What a firing ``rule`` does to this exchange (its delay drawn from ``rng``): one place for the in-memory
    engine and the shared one (mocks/core/control.py). Every kind but ``latency`` is terminal."""
    if rule.kind == "latency":
        return AppliedFault(rule.id, "latency", {"delay_ms": round(_delay(rule, rng), 3)})
    if rule.kind == "status":
        return AppliedFault(rule.id, "status", {"status": rule.status})
    if rule.kind == "truncate":
        return AppliedFault(rule.id, "truncate", {"fraction": rule.fraction})
    return AppliedFault(rule.id, rule.kind, {})


def _delay(rule: FaultRule, rng: random.Random) -> float:
    if rule.distribution == "uniform":
        return rng.uniform(rule.min_ms, max(rule.min_ms, rule.max_ms))
    if rule.distribution == "lognormal":
        median = rule.median_ms or rule.ms
        return float(median * math.exp(rng.gauss(0.0, rule.sigma))) if median > 0 else 0.0
    return rule.ms


def truncated(body: bytes, fraction: float) -> bytes:
    """The first ``fraction`` of ``body`` (at least one byte shorter when non-empty)."""
    if not body:
        return body
    keep = min(len(body) - 1, int(len(body) * fraction))
    return body[:keep]


MALFORMED_BODY = b"\x00<<\xff\xfe not a document"
