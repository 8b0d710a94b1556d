"""Our schemas give the same verdict as the official ones, on real samples and on seeded mutants."""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest
from contracts_test_helpers import conform_strict
from lxml import etree

from contracts.mutate import mutants
from contracts.transform import to_thss_upload
from contracts.validate import lxml_schema

MUTANTS_PER_PROFILE = 2400


def _verdicts(name: str, official: dict[str, Any], tree: Any) -> tuple[bool, bool]:
    return bool(lxml_schema(name).validate(tree)), bool(official[name].validate(tree))


def test_real_trts_same_verdict(official: dict[str, Any], real_trts: dict[str, bytes]) -> None:
    seen = collections.Counter()
    for name, data in real_trts.items():
        tree = etree.fromstring(data).getroottree()
        for profile in ("trt", "trt-strict"):
            ours, theirs = _verdicts(profile, official, tree)
            assert ours == theirs, f"{profile} disagrees on {name}"
            seen[(profile, ours)] += 1
    # the manifest's verdicts: 9 of 10 valid lenient, none valid strict
    assert seen[("trt", True)] == 9
    assert seen[("trt-strict", True)] == 0


def test_real_trts_same_error_count(official: dict[str, Any], real_trts: dict[str, bytes]) -> None:
    for name, data in real_trts.items():
        tree = etree.fromstring(data).getroottree()
        for profile in ("trt", "trt-strict"):
            ours = lxml_schema(profile)
            ours.validate(tree)
            official[profile].validate(tree)
            assert len(ours.error_log) == len(official[profile].error_log), f"{profile} on {name}"


def test_real_trts_wrapped_for_thss(official: dict[str, Any], real_trts: dict[str, bytes]) -> None:
    for name, data in real_trts.items():
        raw = etree.fromstring(b"<ItemScoreRequest callbackUrl='http://tis/cb'/>")
        raw.append(etree.fromstring(data))
        for tree in (raw.getroottree(), etree.fromstring(to_thss_upload(data, "http://tis/cb")).getroottree()):
            ours, theirs = _verdicts("thss-upload", official, tree)
            assert ours == theirs, name
        # the unwrapped TRT is not an upload for either
        bare = etree.fromstring(data).getroottree()
        assert _verdicts("thss-upload", official, bare) == (False, False)


def test_real_testpackages_same_verdict(official: dict[str, Any], shared_data: Path) -> None:
    verdicts = {}
    for path in sorted((shared_data / "tis" / "testpackage").glob("*.xml")):
        tree = etree.parse(str(path))
        ours, theirs = _verdicts("testpackage", official, tree)
        assert ours == theirs, path.name
        verdicts[path.name] = ours
    assert sum(verdicts.values()) == 2


def _bases(profile: str, real_trts: dict[str, bytes], shared_data: Path) -> list[Any]:
    if profile == "testpackage":
        files = sorted((shared_data / "tis" / "testpackage").glob("v4-*.xml"))
        roots = [etree.parse(str(p)).getroot() for p in files]
        for root in roots:  # the attribute the published schema dropped in 2018 (see the data manifest)
            for dep in root.iter("Dependency"):
                dep.attrib.pop("enabled", None)
        return roots
    roots = [etree.fromstring(d) for d in real_trts.values()]
    if profile == "trt-strict":
        return [conform_strict(r) for r in roots]
    if profile == "thss-upload":
        return [etree.fromstring(to_thss_upload(r, "http://tis/cb")) for r in roots]
    return roots


@pytest.mark.parametrize("profile", ["trt", "trt-strict", "thss-upload", "testpackage"])
def test_mutation_corpus_same_verdict(
    profile: str, official: dict[str, Any], real_trts: dict[str, bytes], shared_data: Path
) -> None:
    ours_schema, theirs_schema = lxml_schema(profile), official[profile]
    # a mutation corpus is only meaningful around valid documents
    bases = [b for b in _bases(profile, real_trts, shared_data) if theirs_schema.validate(b.getroottree())]
    assert len(bases) >= 3
    per_base = -(-MUTANTS_PER_PROFILE // len(bases))
    disagreements, counts = [], collections.Counter()
    for index, base in enumerate(bases):
        for description, mutant in mutants(base, f"{profile}:{index}", per_base):
            tree = mutant.getroottree()
            ours, theirs = bool(ours_schema.validate(tree)), bool(theirs_schema.validate(tree))
            counts[theirs] += 1
            if ours != theirs:
                disagreements.append(f"base {index}: {description}: ours={ours} official={theirs}")
    assert not disagreements, "\n".join(disagreements[:20])
    assert counts[True] + counts[False] >= 2000
    # both verdicts are well represented, so the corpus really tests the boundary
    assert counts[True] >= 150 and counts[False] >= 1000, counts
