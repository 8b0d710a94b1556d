"""Every PU-* requirement is claimed by a scenario tag or, where no scenario can check it, by a named test module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conformance.catalogue import Requirement, load

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "features" / "proctoru"
TESTS = ROOT / "tests" / "proctoru"
DOCS = ROOT / "docs" / "proctoru.md"
TAG = re.compile(r"@req_(PU-[A-Z0-9-]+)")


def _catalogue() -> dict[str, Requirement]:
    return {rid: req for rid, req in load().items() if req.service == "proctoru" and req.role == "server"}


def _scenario_claims() -> set[str]:
    return {m.group(1) for path in FEATURES.glob("*.feature") for m in TAG.finditer(path.read_text("utf-8"))}


def _test_claims() -> dict[str, list[str]]:
    """``REQUIREMENTS = ("PU-...",)`` at module level of a test module that defines tests."""
    claims: dict[str, list[str]] = {}
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
        for node in tree.body:
            if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "REQUIREMENTS"
                                                     for t in node.targets)):
                ids = ast.literal_eval(node.value)
                assert tests, f"{path.name} claims {ids} but defines no test"
                for rid in ids:
                    claims.setdefault(rid, []).append(path.relative_to(ROOT).as_posix())
    return claims


def test_every_requirement_is_claimed_and_every_claim_is_known() -> None:
    known = _catalogue()
    scenarios, tests = _scenario_claims(), _test_claims()
    assert set(known) - scenarios - set(tests) == set(), "unclaimed proctoru requirements"
    assert (scenarios | set(tests)) - set(known) == set(), "claims of requirements not in the catalogue"


def test_a_requirement_checked_only_by_a_test_module_names_it_in_the_catalogue_and_the_docs() -> None:
    known, scenarios, tests = _catalogue(), _scenario_claims(), _test_claims()
    only_tests = {rid: files for rid, files in tests.items() if rid not in scenarios}
    assert only_tests, "expected PU-XBK-001 to be checked by the interop test module"
    docs = DOCS.read_text("utf-8")
    for rid, files in only_tests.items():
        assert any(f in known[rid].title or f in known[rid].note for f in files), (rid, files)
        assert rid in docs and all(f in docs for f in files), f"docs/proctoru.md does not map {rid} to {files}"
