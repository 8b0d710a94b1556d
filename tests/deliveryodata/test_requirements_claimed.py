"""Every deliveryodata requirement in the catalogue is claimed by at least one scenario (@req_ tag)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted((ROOT / "conformance" / "requirements.d").glob("deliveryodata*.yaml"))
TAG = re.compile(r"@req_(DOD-[A-Z0-9-]+)")


def catalogue_ids() -> set[str]:
    """The DOD-* IDs of the deliveryodata catalogue."""
    ids: set[str] = set()
    for catalogue in CATALOGUES:  # deliveryodata.yaml and deliveryodata-formats.yaml
        ids.update(str(r["id"]) for r in yaml.safe_load(catalogue.read_text(encoding="utf-8"))["requirements"])
    return ids


def claimed_ids() -> set[str]:
    """The DOD-* IDs tagged on any scenario of any feature file."""
    found: set[str] = set()
    for feature in (ROOT / "features").rglob("*.feature"):
        for line in feature.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("@"):  # tag lines only, not comments or docstrings
                found.update(TAG.findall(line))
    return found


def test_catalogue_is_not_empty() -> None:
    assert len(catalogue_ids()) >= 40


def test_every_requirement_is_claimed_by_a_scenario() -> None:
    unclaimed = sorted(catalogue_ids() - claimed_ids())
    assert not unclaimed, f"requirements no scenario claims: {', '.join(unclaimed)}"


def test_no_scenario_claims_an_unknown_requirement() -> None:
    unknown = sorted(claimed_ids() - catalogue_ids())
    assert not unknown, f"tags naming no catalogue entry: {', '.join(unknown)}"
