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


def test_extensions_carry_a_capability_and_conventions_are_not_contract() -> None:
    """examrig's extensions are marked so (issue 11): a third-party target is not judged by them."""
    catalogue = load()
    assert {r.role for r in catalogue.values()} <= {"server", "client"}
    extensions = {r.id: r for r in catalogue.values() if r.kind == "extension"}
    for rid in ("TDS-IDEM-001", "TDS-IDEM-002", "DW-IDEM-001", "DW-IDEM-002", "TIS-IDEM-001", "TIS-IDEM-002",
                "TDS-CONV-001", "TDS-CONV-002", "TDS-JRN-001", "PU-CONV-001", "DW-CONV-001"):
        assert rid in extensions, f"{rid} is examrig's own, not the real system's contract"
    assert all(r.id in extensions for r in catalogue.values() if r.service == "core")
    for req in extensions.values():
        assert req.capability, f"{req.id} is an extension without a capability"
    assert extensions["TDS-IDEM-001"].capability == "tds.idempotency_key"
    assert extensions["TIS-IDEM-001"].role == "client"
    assert all(r.capability is None for r in catalogue.values() if r.kind == "contract"
               and r.service == "tds"), "a tds contract requirement needs no capability"


def test_scenarios_of_extensions_are_tagged_as_such() -> None:
    """A scenario claiming an extension is tagged @examrig or @cap_<its capability> (feature tags count)."""
    catalogue = load()
    untagged: list[str] = []
    for feature in (ROOT / "features").rglob("*.feature"):
        feature_tags: set[str] = set()
        pending: set[str] = set()
        for line in feature.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("@"):
                pending.update(stripped.split())
            elif stripped.startswith("Feature:"):
                feature_tags, pending = pending, set()
            elif stripped.startswith(("Scenario", "Rule")):
                tags = pending | feature_tags
                pending = set()
                for rid in TAG.findall(" ".join(tags)):
                    cap = catalogue[rid].capability
                    if catalogue[rid].kind == "extension" and "@examrig" not in tags and f"@cap_{cap}" not in tags:
                        untagged.append(f"{feature.relative_to(ROOT)}: {stripped} claims {rid}")
    assert not untagged, "\n".join(untagged)


def test_convention_copies_claim_only_their_conventions() -> None:
    """An "examrig's convention:" scenario (a contract scenario's steps plus examrig's own assertion) claims no
    contract requirement: against a target without the capability it is unsupported, and a claim would make the
    contract requirement unsupported too, hiding what its contract scenarios found. What it exercises on the way
    is its requirement's ``depends_on``."""
    catalogue = load()
    wrong: list[str] = []
    for feature in (ROOT / "features").rglob("*.feature"):
        pending: set[str] = set()
        for line in feature.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("@"):
                pending.update(stripped.split())
            elif stripped.startswith(("Feature:", "Scenario", "Rule")):
                if stripped.split(":", 1)[-1].strip().startswith("examrig's convention:"):
                    contract = [r for r in TAG.findall(" ".join(pending)) if catalogue[r].kind == "contract"]
                    if contract:
                        wrong.append(f"{feature.relative_to(ROOT)}: {stripped} claims {contract}")
                pending = set()
    assert not wrong, "\n".join(wrong)
    assert "DW-CHK-001" in catalogue["DW-CONV-002"].depends_on


def test_depends_on_names_known_requirements(tmp_path: Path) -> None:
    path = tmp_path / "requirements.yaml"
    path.write_text(f"requirements:\n  - {_REQ}, depends_on: [X-002]}}\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="depends_on names 'X-002'"):
        load(path)
    path.write_text(f"requirements:\n  - {_REQ}, depends_on: X-002}}\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="depends_on must be a list"):
        load(path)
    path.write_text(f"requirements:\n  - {_REQ}, depends_on: [X-002]}}\n  - {_REQ.replace('X-001', 'X-002')}, "
                    f"depends_on: [X-003]}}\n  - {_REQ.replace('X-001', 'X-003')}}}\n", encoding="utf-8")
    from conformance.catalogue import depends_on
    assert depends_on(load(path), "X-001") == {"X-002", "X-003"}


_REQ = "{id: X-001, service: x, level: MUST, title: t, source: s, section: '1'"


@pytest.mark.parametrize(("entries", "message"), [
    ("  - id: nope\n    service: x\n", "bad requirement id"),
    (f"  - {_REQ.replace('MUST', 'OUGHT')}}}\n", "level must be one of"),
    (f"  - {_REQ}}}\n  - {_REQ}}}\n", "duplicate"),
    (f"  - {_REQ}, kind: extension}}\n", "needs a capability"),
    (f"  - {_REQ}, kind: convention}}\n", "kind must be one of"),
    (f"  - {_REQ}, role: peer}}\n", "role must be one of"),
    (f"  - {_REQ}, kind: extension, capability: Idempotency}}\n", "capability must look like"),
])
def test_malformed_catalogue_is_refused(tmp_path: Path, entries: str, message: str) -> None:
    bad = tmp_path / "requirements.yaml"
    bad.write_text("requirements:\n" + entries)
    with pytest.raises(CatalogueError, match=message):
        load(bad)
