"""Run part of the Gherkin corpus in a subprocess and read each scenario's outcome, requirements and tags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.outcomes import UNSUPPORTED_PREFIX

ROOT = Path(__file__).resolve().parents[3]

PLUGIN = '''
import json, os

_seen = {}

def pytest_collection_modifyitems(items):
    for item in items:
        _seen[item.nodeid] = {"reqs": [str(m.args[0]) for m in item.iter_markers("req")],
                              "tags": sorted({m.name for m in item.iter_markers()}),
                              "outcome": None, "reason": ""}

def pytest_runtest_logreport(report):
    entry = _seen.setdefault(report.nodeid, {"reqs": [], "tags": [], "outcome": None, "reason": ""})
    if report.failed:
        entry["outcome"] = "failed"
        entry["reason"] = str(report.longrepr)[-600:]
    elif report.skipped and entry["outcome"] != "failed":
        entry["outcome"] = "skipped"
        entry["reason"] = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    elif report.when == "call" and report.passed and entry["outcome"] is None:
        entry["outcome"] = "passed"

def pytest_sessionfinish(session):
    with open(os.environ["EXAMRIG_OUTCOMES"], "w") as fh:
        json.dump(_seen, fh)
'''

Outcomes = dict[str, dict[str, Any]]


def run_corpus(tmp_path: Path, name: str, paths: Sequence[str], args: Sequence[str] = (),
               env: Mapping[str, str] | None = None) -> Outcomes:
    """``pytest <paths> <args>`` from the repository root; the outcome of every scenario by node id."""
    plugin_dir = tmp_path / "plugin"
    plugin_dir.mkdir(exist_ok=True)
    (plugin_dir / "outcome_recorder.py").write_text(PLUGIN)
    out = tmp_path / f"{name}.json"
    full = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(plugin_dir)]), "EXAMRIG_OUTCOMES": str(out)}
    for var in ("EXAMRIG_TARGETS", "EXAMRIG_STATE_HOOKS", "EXAMRIG_CAPABILITIES", "EXAMRIG_MODE", "EXAMRIG_SABOTAGE"):
        full.pop(var, None)
    full.update(env or {})
    result = subprocess.run([sys.executable, "-m", "pytest", *paths, "-q", "-p", "no:cacheprovider", "-p",
                             "outcome_recorder", *args], cwd=ROOT, env=full, capture_output=True, text=True,
                            timeout=900)
    assert out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    outcomes: Outcomes = json.loads(out.read_text())
    assert outcomes, "no scenario ran"
    assert all(o["outcome"] for o in outcomes.values()), [k for k, o in outcomes.items() if not o["outcome"]]
    return outcomes


def failed(outcomes: Outcomes) -> set[str]:
    """The scenarios that failed."""
    return {k for k, o in outcomes.items() if o["outcome"] == "failed"}


def unsupported(outcomes: Outcomes) -> set[str]:
    """The scenarios skipped as ``unsupported``."""
    return {k for k, o in outcomes.items() if o["outcome"] == "skipped" and UNSUPPORTED_PREFIX in o["reason"]}


__all__ = ["Outcomes", "failed", "run_corpus", "unsupported"]
