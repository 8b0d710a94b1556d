"""A small scenario corpus written under tmp_path: one scenario per way a check can end, with real requirement IDs.

``examrig check --features DIR`` runs it like examrig's own corpus; the directory is named ``tds`` so
``--target tds=URL`` makes its scenarios foreign (an integrator's), which is what turns an assumed
miss into ``non-strict``. Tags select the scenarios a test wants.
"""

from __future__ import annotations

from pathlib import Path

FEATURE = '''\
Feature: Every way a check can end

  @req_TDS-REPLY-001 @ok
  Scenario: the system does what the requirement says
    Given a system
    Then it holds

  @req_TDS-REPLY-002 @assertfail
  Scenario: the system breaks a MUST
    Given a system
    Then it does not hold

  @req_TDS-JRN-001 @should
  Scenario: the system misses a SHOULD
    Given a system
    Then it does not hold

  @req_TDS-REPLY-003 @assumed
  Scenario: the system misses an assumed MUST
    Given a system
    Then it does not hold

  @req_TDS-REPLY-004 @unsup
  Scenario: the target has no state hook
    Given a system
    Then the check needs a state hook

  @req_TDS-REPLY-005 @harness
  Scenario: the harness breaks
    Given a system
    Then the harness breaks

  @req_TDS-REPLY-006 @boom
  Scenario: a step raises outside its assertion
    Given a system
    Then a step raises KeyError

  @req_TDS-ERT-001 @mixed
  Scenario: one of two checks of a requirement passes
    Given a system
    Then it holds

  @req_TDS-ERT-001 @mixed
  Scenario: the other check of that requirement fails
    Given a system
    Then it does not hold

  @req_TDS-IDEM-001 @cap_tds.idempotency_key @capability
  Scenario: a check of an optional capability
    Given a system
    Then it holds

  @req_TDS-REPLY-009 @undefined
  Scenario: a step nobody defined
    Given a system
    Then a step that has no definition
'''

TEST_MODULE = '''\
from pytest_bdd import given, scenarios, then

from conformance.outcomes import HarnessError, unsupported

scenarios("checks.feature")


@given("a system")
def a_system():
    return None


@then("it holds")
def it_holds():
    assert 1 + 1 == 2


@then("it does not hold")
def it_does_not_hold():
    assert "answered 500" == "answered 400", "status: expected 400, got 500"


@then("the check needs a state hook")
def needs_hook():
    unsupported("the target answers no state hook at /_examrig")


@then("the harness breaks")
def harness_breaks():
    raise HarnessError("journal_overflow in the checked window")


@then("a step raises KeyError")
def raises():
    raise KeyError("oppKey")
'''

CONFTEST = '''\
import pytest

from conformance.outcomes import UNSUPPORTED_PREFIX


def pytest_addoption(parser):
    # the corpus's contract: declared capabilities arrive as --examrig-capability NAME
    parser.addoption("--examrig-capability", action="append", default=[])


def pytest_collection_modifyitems(config, items):
    declared = set(config.getoption("--examrig-capability"))
    for item in items:
        for mark in item.iter_markers():
            if mark.name.startswith("cap_") and mark.name[4:] not in declared:
                reason = UNSUPPORTED_PREFIX + f"capability {mark.name[4:]} not declared"
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_configure(config):
    config.addinivalue_line("markers", "req(id): the requirement a scenario checks")


def pytest_bdd_apply_tag(tag, function):
    if tag.startswith("req_"):
        pytest.mark.req(tag[4:])(function)
        return True
    return None
'''


def write(root: Path) -> Path:
    """Write the corpus under ``root/features`` and return that directory."""
    service = root / "features" / "tds"
    service.mkdir(parents=True)
    (service / "checks.feature").write_text(FEATURE, encoding="utf-8")
    (service / "test_checks.py").write_text(TEST_MODULE, encoding="utf-8")
    (service / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    return root / "features"
