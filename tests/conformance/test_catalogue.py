"""The requirement catalogue: well-formed, and every requirement claimed by a scenario or a test module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conformance.catalogue import CatalogueError, load

ROOT = Path(__file__).resolve().parents[2]
TAG = re.compile(r"@req_([A-Z0-9-]+)")


def _scenario_claims() -> set[str]:
    claims: set[str] = set()
    for feature in (ROOT / "features").rglob("*.feature"):
        for line in feature.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("@"):
                claims.update(TAG.findall(line))
    return claims


def _test_module_claims() -> set[str]:
    """``REQUIREMENTS = ("ID", ...)`` in a test module claims those IDs for its tests."""
    claims: set[str] = set()
    for module in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "REQUIREMENTS"
                                                    for t in node.targets):
                value = ast.literal_eval(node.value)
                claims.update(value)
    return claims


def test_catalogue_loads_with_unique_well_formed_ids() -> None:
    catalogue = load()
    assert len(catalogue) >= 100
    assert {r.level for r in catalogue.values()} <= {"MUST", "SHOULD", "MAY"}
    for req in catalogue.values():
        assert (ROOT.parent / "shared" / req.source.split("#")[0]).name, req.id
        if req.assumed:
            assert req.note or "assumed" in req.title.lower() or req.service in ("core",), \
                f"{req.id} is assumed but its note does not say what was chosen"


def test_every_requirement_is_claimed_and_every_claim_is_known() -> None:
    catalogue = load()
    claimed = _scenario_claims() | _test_module_claims()
    unclaimed = sorted(set(catalogue) - claimed)
    unknown = sorted(claimed - set(catalogue))
    assert not unclaimed, f"requirements no scenario or test module checks: {unclaimed}"
    assert not unknown, f"claims of requirements the catalogue does not have: {unknown}"


def test_malformed_catalogue_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "requirements.yaml"
    bad.write_text("requirements:\n  - id: nope\n    service: x\n")
    with pytest.raises(CatalogueError, match="bad requirement id"):
        load(bad)
    bad.write_text("requirements:\n  - {id: X-001, service: x, level: OUGHT, title: t, source: s, section: '1'}\n")
    with pytest.raises(CatalogueError, match="level must be one of"):
        load(bad)
    bad.write_text("requirements:\n  - {id: X-001, service: x, level: MUST, title: t, source: s, section: '1'}\n"
                   "  - {id: X-001, service: x, level: MUST, title: t, source: s, section: '1'}\n")
    with pytest.raises(CatalogueError, match="duplicate"):
        load(bad)
