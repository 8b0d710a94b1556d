"""TIS's opportunity state says why a file waits in ``source`` (what ``examrig submit`` reports)."""

from __future__ import annotations

from contracts.generate import generate_testpackage, generate_trt
from tests.tis.conftest import Harness


def test_a_file_of_an_unknown_test_says_so_until_its_package_is_loaded(harness: Harness) -> None:
    seed = 90817  # a package no other test loads (the test-name lookup is shared by the session's tenants)
    trt = generate_trt(seed)
    key = harness.submitted(trt)
    assert harness.post_trt(trt).status_code == 200
    state = harness.tis.model.opportunity(harness.tenant, key)
    assert state is not None
    [waiting] = state["waiting"]
    assert waiting["reason"] == "unknown test: no test package loaded for it"
    assert waiting["testName"] == state["files"][0]["testName"]
    assert harness.load_package(generate_testpackage(seed)).status_code == 201
    state = harness.tis.model.opportunity(harness.tenant, key)
    assert state is not None
    assert [w["reason"] for w in state["waiting"]] == ["test loaded; waiting for a processing worker"]
    harness.tis.process_pending(harness.tenant)
    state = harness.tis.model.opportunity(harness.tenant, key)
    assert state is not None
    assert state["waiting"] == [] and "source" not in [f["location"] for f in state["files"]]
