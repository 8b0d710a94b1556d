"""Scenario fixtures: the rig (mocks in process or over HTTP, or an integrator's targets), tenants, tags."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance.catalogue import load
from conformance.targets import Rig, parse_targets

CATALOGUE = load()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("examrig")
    group.addoption("--examrig-mode", default=os.environ.get("EXAMRIG_MODE", "inprocess"),
                    choices=("inprocess", "http"), help="run scenarios against mocks in process or over HTTP")
    group.addoption("--examrig-target", action="append", default=[], metavar="SERVICE=URL",
                    help="point a service's scenarios at an integrator's base URL")
    group.addoption("--examrig-sabotage", action="store_true",
                    help="break every mock (each service route answers 503): every scenario must then fail")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "req(id): the requirement a scenario checks")


def pytest_bdd_apply_tag(tag: str, function: Callable[..., Any]) -> Any:
    """``@req_<ID>`` tags must name catalogue entries; they become ``req`` markers."""
    if tag.startswith("req_"):
        rid = tag[4:]
        if rid not in CATALOGUE:
            raise pytest.UsageError(f"scenario tag @{tag}: {rid} is not in conformance/requirements.yaml")
        pytest.mark.req(rid)(function)
        return True
    return None


@pytest.fixture(scope="session")
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    """The mocks for the whole session."""
    targets = parse_targets(request.config.getoption("--examrig-target")
                            or os.environ.get("EXAMRIG_TARGETS"))
    the_rig = Rig(mode=request.config.getoption("--examrig-mode"), targets=targets)
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
