"""Run part of the Gherkin corpus in a subprocess and read each scenario's outcome, requirements and tags.

:func:`run_corpus` runs the scenarios once, with pytest's own loop: one subprocess, one outcome per scenario.

:func:`run_variants` runs them once *per variant* in one subprocess, so many sabotage switches or seeded
deviations cost one interpreter start, one import of the mocks and one collection instead of one each (about
20 s apiece on a loaded 2-core machine, against well under a second for a service's scenarios). The recorder
plugin's ``pytest_runtestloop`` runs every collected scenario of a variant through
``item.ihook.pytest_runtest_protocol`` with ``nextitem=None`` after the variant's last one, so every fixture,
the session's rig (and with it every mock, its store and its clock) included, is torn down between passes and
the next pass starts from nothing, as a new process would. A variant is the environment of its pass (undone
after it): ``EXAMRIG_SABOTAGE`` (``mocks/core/sabotage.py`` reads it on every call) or ``EXAMRIG_TARGETS`` (the
rig fixture reads it when it is set up, i.e. once per pass), optionally with a system under test served in this
process for the pass (``serve``: the independent TDS receiver). Each variant may name the node id prefixes it
runs (a dw switch runs ``features/dw`` only), and a ``reference`` variant run before it (the baseline): it then
reruns only the scenarios that asked about one of its switches there (``sabotage.observer``, or the served
module's ``observer``), and keeps the reference's outcome for the others, which cannot differ. The test
``test_a_variant_pass_gives_what_a_separate_run_gives`` shows once that a variant's outcomes equal those of a
separate :func:`run_corpus`. See docs/state-hook.md, "How the variants run".
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.outcomes import UNSUPPORTED_PREFIX
from tests.subpytest import pytest_env

ROOT = Path(__file__).resolve().parents[3]

PLUGIN = '''
import contextlib, copy, importlib, json, os

import pytest

_template = {}
_current = {"name": None}
_runs = {}


def _entry(nodeid):
    run = _runs.setdefault(_current["name"], {})
    if nodeid not in run:
        run[nodeid] = copy.deepcopy(_template.get(nodeid, {"reqs": [], "tags": [], "outcome": None, "reason": ""}))
    return run[nodeid]


def pytest_collection_modifyitems(items):
    for item in items:
        _template[item.nodeid] = {"reqs": [str(m.args[0]) for m in item.iter_markers("req")],
                                  "tags": sorted({m.name for m in item.iter_markers()}),
                                  "outcome": None, "reason": ""}


def pytest_runtest_logreport(report):
    entry = _entry(report.nodeid)
    if report.failed:
        entry["outcome"] = "failed"
        entry["reason"] = str(report.longrepr)[-600:]
    elif report.skipped and entry["outcome"] != "failed":
        entry["outcome"] = "skipped"
        entry["reason"] = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    elif report.when == "call" and report.passed and entry["outcome"] is None:
        entry["outcome"] = "passed"


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """With EXAMRIG_VARIANTS: every selected scenario once per variant, everything torn down between passes."""
    raw = os.environ.get("EXAMRIG_VARIANTS")
    if raw is None or session.testsfailed or session.config.option.collectonly:
        return None  # pytest's own loop (and its handling of collection errors)
    from mocks.core import sabotage

    reached = {}  # variant -> node id -> the sabotage switches the scenario asked about
    asked = set()
    sabotage.observer = asked.add
    variants = json.loads(raw)
    touched = {name for v in variants for name in v["env"]}
    saved = {name: os.environ.get(name) for name in touched}

    def restore():
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    for variant in variants:
        prefixes = tuple(variant["paths"])
        items = [i for i in session.items if not prefixes or i.nodeid.startswith(prefixes)]
        _current["name"] = variant["name"]
        run = _runs.setdefault(variant["name"], {})
        reached[variant["name"]] = {}
        reference = variant.get("reference")
        if reference is not None:
            # only the scenarios that asked about one of this variant's switches in the reference pass can differ
            switches = set(variant["switches"])
            for item in items:
                if not reached[reference].get(item.nodeid, switches) & switches:
                    run[item.nodeid] = {**copy.deepcopy(_runs[reference][item.nodeid]), "rerun": False}
            items = [i for i in items if i.nodeid not in run]
        restore()
        os.environ.update(variant["env"])
        stack = contextlib.ExitStack()
        if variant["serve"] is not None:
            # a system under test served in this process for the pass (its own observer hook, like sabotage's)
            module_name, _, function = variant["serve"].partition(":")
            module = importlib.import_module(module_name)
            if hasattr(module, "observer"):
                module.observer = asked.add
            os.environ.update(stack.enter_context(getattr(module, function)(**variant["serve_args"])))
        try:
            for index, item in enumerate(items):
                nextitem = items[index + 1] if index + 1 < len(items) else None
                asked.clear()
                item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
                reached[variant["name"]][item.nodeid] = set(asked)
                _entry(item.nodeid)["rerun"] = True
                if session.shouldfail:
                    raise session.Failed(session.shouldfail)
                if session.shouldstop:
                    raise session.Interrupted(session.shouldstop)
        finally:
            stack.close()
            restore()
    sabotage.observer = None
    return True


def pytest_sessionfinish(session):
    with open(os.environ["EXAMRIG_OUTCOMES"], "w") as fh:
        json.dump(_runs if os.environ.get("EXAMRIG_VARIANTS") is not None else _runs.get(None, {}), fh)
'''

Outcomes = dict[str, dict[str, Any]]
#: The variables a run never inherits from the calling test's environment (each run says what it wants).
CLEARED = ("EXAMRIG_TARGETS", "EXAMRIG_STATE_HOOKS", "EXAMRIG_CAPABILITIES", "EXAMRIG_MODE", "EXAMRIG_SABOTAGE")


@dataclass(frozen=True)
class Variant:
    """One pass of :func:`run_variants`: its name, the environment for the pass, the node id prefixes it runs."""

    name: str
    env: Mapping[str, str] = field(default_factory=dict)
    #: Node id prefixes (``features/dw/``); empty: every collected scenario.
    paths: tuple[str, ...] = ()
    #: An earlier variant (normally the baseline, without sabotage): this variant reruns only the scenarios that
    #: asked about one of its ``EXAMRIG_SABOTAGE`` switches there, the others keep that variant's outcome
    #: (``"rerun": False``): a scenario that never asks about a switch runs the same with it on.
    reference: str | None = None
    #: The switches whose reach decides what a ``reference`` variant reruns (default: its ``EXAMRIG_SABOTAGE``).
    switches: tuple[str, ...] | None = None
    #: ``module:function`` of a context manager that serves a system under test for the pass (in the corpus's
    #: process) and yields environment variables pointing the corpus at it; called with ``serve_args``.
    serve: str | None = None
    serve_args: Mapping[str, Any] = field(default_factory=dict)

    def pruned_by(self) -> list[str]:
        """The switch names whose reach in the reference pass decides which scenarios this variant reruns."""
        if self.switches is not None:
            return list(self.switches)
        return [n for n in self.env.get("EXAMRIG_SABOTAGE", "").split(",") if n]


def _subprocess(tmp_path: Path, name: str, paths: Sequence[str], args: Sequence[str],
                env: Mapping[str, str]) -> Any:
    plugin_dir = tmp_path / "plugin"
    plugin_dir.mkdir(exist_ok=True)
    (plugin_dir / "outcome_recorder.py").write_text(PLUGIN)
    out = tmp_path / f"{name}.json"
    full = pytest_env(EXAMRIG_OUTCOMES=str(out))  # without the pytest plugins a corpus run does not use
    full["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(plugin_dir)])
    for var in (*CLEARED, "EXAMRIG_VARIANTS"):
        full.pop(var, None)
    full.update(env)
    result = subprocess.run([sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider", "-p",
                             "outcome_recorder", *args], cwd=ROOT, env=full, capture_output=True, text=True,
                            timeout=1800)
    assert out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(out.read_text())


def _complete(outcomes: Outcomes, what: str) -> Outcomes:
    assert outcomes, f"{what}: no scenario ran"
    assert all(o["outcome"] for o in outcomes.values()), (what, [k for k, o in outcomes.items() if not o["outcome"]])
    return outcomes


def run_corpus(tmp_path: Path, name: str, paths: Sequence[str], args: Sequence[str] = (),
               env: Mapping[str, str] | None = None) -> Outcomes:
    """``pytest <paths> <args>`` from the repository root; the outcome of every scenario by node id."""
    outcomes: Outcomes = _subprocess(tmp_path, name, paths, args, env or {})
    return _complete(outcomes, name)


def run_variants(tmp_path: Path, paths: Sequence[str], variants: Iterable[Variant],
                 args: Sequence[str] = ()) -> dict[str, Outcomes]:
    """``pytest <paths> <args>`` once, each variant's scenarios run in a pass of their own; outcomes by variant."""
    chosen = list(variants)
    names = [v.name for v in chosen]
    assert len(set(names)) == len(names), f"variant names repeat: {names}"
    for i, v in enumerate(chosen):
        assert v.reference is None or v.reference in names[:i], f"{v.name}: reference {v.reference} must run before it"
    spec = [{"name": v.name, "env": dict(v.env), "paths": list(v.paths), "reference": v.reference,
             "switches": v.pruned_by(), "serve": v.serve, "serve_args": dict(v.serve_args)} for v in chosen]
    runs: dict[str, Outcomes] = _subprocess(tmp_path, "variants", paths, args, {"EXAMRIG_VARIANTS": json.dumps(spec)})
    assert set(runs) == set(names), f"variants that did not run: {sorted(set(names) - set(runs))}"
    return {name: _complete(runs[name], name) for name in names}


def shared_run(tmp_path_factory: Any, name: str, paths: Sequence[str], variants: Iterable[Variant],
               args: Sequence[str] = ()) -> dict[str, Outcomes]:
    """:func:`run_variants` once per test session, under pytest-xdist too.

    A module-scoped fixture runs once per xdist worker that gets one of the module's tests: two workers would
    run the same subprocess twice. Under xdist the first worker runs it and the others wait for its result
    (an ``flock`` in the session's base directory, which every worker of the session shares).
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return run_variants(tmp_path_factory.mktemp(name), paths, variants, args)
    shared = Path(tmp_path_factory.getbasetemp()).parent / f"examrig-variants-{name}"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / "runs.json"
        if done.exists():
            runs: dict[str, Outcomes] = json.loads(done.read_text())
            return runs
        runs = run_variants(shared, paths, variants, args)
        done.write_text(json.dumps(runs))
        return runs


def failed(outcomes: Outcomes) -> set[str]:
    """The scenarios that failed."""
    return {k for k, o in outcomes.items() if o["outcome"] == "failed"}


def unsupported(outcomes: Outcomes) -> set[str]:
    """The scenarios skipped as ``unsupported``."""
    return {k for k, o in outcomes.items() if o["outcome"] == "skipped" and UNSUPPORTED_PREFIX in o["reason"]}


__all__ = ["Outcomes", "Variant", "failed", "run_corpus", "run_variants", "shared_run", "unsupported"]
