"""Scenario fixtures: the rig (mocks in process or over HTTP, or an integrator's targets), tenants, tags."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance.catalogue import load
from conformance.outcomes import unsupported
from conformance.targets import Rig, TargetError, parse_capabilities, parse_state_hooks, parse_targets

CATALOGUE = load()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("examrig")
    group.addoption("--examrig-mode", default=os.environ.get("EXAMRIG_MODE", "inprocess"),
                    choices=("inprocess", "http"), help="run scenarios against mocks in process or over HTTP")
    group.addoption("--examrig-target", action="append", default=[], metavar="SERVICE=URL",
                    help="point a service's scenarios at an integrator's base URL")
    group.addoption("--examrig-state-hook", action="append", default=[], metavar="SERVICE=URL",
                    help="where a target's state hook lives (docs/state-hook.md; default: the target's /_examrig)")
    group.addoption("--examrig-capability", action="append", default=[], metavar="NAME",
                    help="an optional capability the targets implement (tds.idempotency_key, examrig.conventions);"
                         " repeatable")
    group.addoption("--examrig-sabotage", action="store_true",
                    help="break every mock (each service route answers 503): every scenario must then fail")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "req(id): the requirement a scenario checks")
    config.addinivalue_line("markers", "examrig: the scenario checks an examrig convention, not the real contract")
    config.addinivalue_line("markers", "capability(name): the scenario needs an optional capability of its target")
    config.addinivalue_line("markers", "state_hook: the scenario prepares or reads state through the state hook")


def pytest_bdd_apply_tag(tag: str, function: Callable[..., Any]) -> Any:
    """``@req_<ID>`` tags must name catalogue entries (``req`` markers); ``@cap_<svc>.<name>`` become
    ``capability`` markers; the other tags (``@examrig``, ``@state_hook`` ...) stay plain markers."""
    if tag.startswith("req_"):
        rid = tag[4:]
        if rid not in CATALOGUE:
            raise pytest.UsageError(f"scenario tag @{tag}: {rid} is not in conformance/requirements.yaml")
        pytest.mark.req(rid)(function)
        return True
    if tag.startswith("cap_"):
        name = tag[4:]
        if name.count(".") != 1:
            raise pytest.UsageError(f"scenario tag @{tag}: a capability looks like cap_<service>.<name>")
        pytest.mark.capability(name)(function)
        return True
    return None


def scenario_services(item: pytest.Item) -> set[str]:
    """The services a scenario checks: its directory under features/ and its requirements' services."""
    services = {item.path.parent.name}
    for mark in item.iter_markers("req"):
        req = CATALOGUE.get(str(mark.args[0]))
        if req is not None:
            services.add(req.service)
    return services


def capabilities_needed(item: pytest.Item) -> list[str]:
    """What a scenario needs of its targets: its ``@cap_*`` tags, ``examrig.conventions`` for ``@examrig``,
    and the capability of every extension requirement it claims (so a tag cannot be forgotten)."""
    needed = [str(m.args[0]) for m in item.iter_markers("capability")]
    if item.get_closest_marker("examrig") is not None:
        needed.append("examrig.conventions")
    for mark in item.iter_markers("req"):
        req = CATALOGUE.get(str(mark.args[0]))
        if req is not None and req.capability:
            needed.append(req.capability)
    return sorted(set(needed))


@pytest.fixture(autouse=True)
def _capability_gate(request: pytest.FixtureRequest, rig: Rig) -> None:
    """Against a third-party target, a scenario that needs an undeclared capability is ``unsupported``.

    examrig's own mocks have every capability, so a run without targets checks everything.
    """
    if not rig.targets:
        return
    services = scenario_services(request.node)
    foreign = services & set(rig.targets)
    if "core" in services:
        # The core scenarios check examrig's admin door on whichever mocks they use, targets included.
        foreign = set(rig.targets)
    if not foreign:
        return
    for capability in capabilities_needed(request.node):
        service = capability.partition(".")[0]
        if service != "examrig" and service not in rig.targets:
            continue  # the capability belongs to one of examrig's mocks in this run
        if capability not in rig.capabilities:
            unsupported(f"needs capability {capability}, which the integrator did not declare for "
                        f"{', '.join(sorted(foreign))} (--examrig-capability {capability})")


@pytest.fixture(scope="session")
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    """The mocks for the whole session."""
    config = request.config
    try:
        targets = parse_targets(config.getoption("--examrig-target") or os.environ.get("EXAMRIG_TARGETS"))
        hooks = parse_state_hooks(config.getoption("--examrig-state-hook") or os.environ.get("EXAMRIG_STATE_HOOKS"))
        capabilities = parse_capabilities(config.getoption("--examrig-capability")
                                          or os.environ.get("EXAMRIG_CAPABILITIES"))
        the_rig = Rig(mode=config.getoption("--examrig-mode"), targets=targets, state_hooks=hooks,
                      capabilities=capabilities)
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    if request.config.getoption("--examrig-sabotage"):
        for app in the_rig.apps.values():
            app.faults.add({"kind": "status", "status": 503, "tenant": "*", "body": "sabotaged by examrig"})
    yield the_rig
    the_rig.close()


@pytest.fixture
def tenant() -> str:
    """A tenant of its own for each scenario, so scenarios never meet."""
    return f"s-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def context() -> dict[str, Any]:
    """What one scenario's steps pass to each other."""
    return {}


@pytest.fixture
def cleanups() -> Iterator[list[Callable[[], None]]]:
    """Undo actions a scenario's steps register; run after the scenario, pass or fail."""
    pending: list[Callable[[], None]] = []
    yield pending
    for undo in reversed(pending):
        undo()
