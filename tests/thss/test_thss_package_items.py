"""A package's hand-scoring items as the package loader posts them to THSS (``contracts.thss_items``), taken by
the thss mock's own item-configuration rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.generate import generate_testpackage, read_package
from contracts.thss_items import DEFAULT_DIMENSIONS, PackageItemsError, thss_item_configs
from mocks.thss.models import parse_item_config


def test_the_real_thss_sample_package(shared_data: Path) -> None:
    package = (shared_data / "tis" / "testpackage" / "v4-ELA-11-Perf-THSS.thss-test-specification-example-1.xml")
    configs = thss_item_configs(package.read_bytes())
    assert [(c["bankKey"], c["itemId"], c["itemType"], c["HandScored"]) for c in configs] == [
        ("187", "2703", "WER", "1")]
    config = configs[0]
    assert (config["exemplar"], config["trainingGuide"], config["layout"]) == ("G3_2703_TM.pdf", "G3_2703_SG.pdf",
                                                                                 "WAI")
    from lxml import etree  # type: ignore[import-untyped]
    written = etree.parse(str(package)).findtext(".//TeacherHandScoring/Dimensions")
    assert config["dimensions"] == json.loads(written)  # the element's own JSON (here the SBAC three)
    taken = parse_item_config(json.loads(json.dumps(config)), "[0]")  # what /api/item/submit would store
    assert taken.hand_scored and (taken.bank_key, taken.item_id) == (187, 2703)
    assert [d.name for d in taken.dimensions] == [d["description"] for d in config["dimensions"]]


def test_a_generated_package_configures_every_routed_hand_item() -> None:
    package = generate_testpackage(11, items=10)
    info = read_package(package)
    hand = [(str(i.bank_key), str(i.key), i.format) for t in info.tests for s in t.segments for i in s.items
            if i.hand_scored]
    configs = thss_item_configs(package)
    assert [(c["bankKey"], c["itemId"], c["itemType"]) for c in configs] == hand
    for config in configs:
        taken = parse_item_config(config, "item")
        names = [d.name for d in taken.dimensions]
        if config["itemType"] == "WER":  # the names the scoring daemon's WER resolution reads
            assert sorted(names) == ["Conventions", "Evidence/Elaboration", "Organization/Purpose"]
        else:
            assert names == ["Correct Answer"]
            assert taken.dimensions[0].max_points == taken.max_score


def test_without_dimensions_the_loader_defaults_apply() -> None:
    package = generate_testpackage(11, items=10).replace(b"<Dimensions>", b"<!--").replace(b"</Dimensions>", b"-->")
    configs = thss_item_configs(package)
    assert configs and all(c["dimensions"] == [dict(d) for d in DEFAULT_DIMENSIONS] for c in configs)


def test_dimensions_that_are_not_json_name_the_item() -> None:
    package = generate_testpackage(11, items=10)
    broken = package.replace(b"<Dimensions><![CDATA[[", b"<Dimensions><![CDATA[{", 1)
    item = thss_item_configs(package)[0]["itemId"]
    with pytest.raises(PackageItemsError, match=f"item {item}: TeacherHandScoring/Dimensions"):
        thss_item_configs(broken)


def test_a_package_without_hand_scoring_has_no_items() -> None:
    assert thss_item_configs(generate_testpackage(11, items=6, hand_scored=False)) == []
