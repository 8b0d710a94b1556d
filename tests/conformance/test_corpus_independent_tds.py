"""The tds corpus judges a TDS examrig did not write fairly (issue 11).

``independent/tds_receiver.py`` is written from the reference alone, without examrig's mocks. Against it:

- no scenario of a contract requirement fails; only requirements marked ``assumed`` (where examrig
  deliberately answers otherwise than the real TDS, which ``examrig check`` reports as ``non-strict``) may;
- every ``@examrig`` / ``@cap_*`` scenario is ``unsupported`` (the receiver declares no capability);
- each seeded deviation makes scenarios of exactly its requirement fail, and no other scenario;
- without the state hook, exactly the ``@state_hook`` scenarios are ``unsupported``, naming the hook.

The corpus runs in one subprocess (``pytest features/tds`` with ``EXAMRIG_TARGETS=tds=URL``), once per
variant (``corpus_run.run_variants``): the faithful receiver, each deviation, the receiver without its state
hook, each a receiver of its own served in that process for its pass. A small plugin written next to it
records each scenario's outcome, skip reason, requirement IDs and tags as JSON. A deviation's pass reruns
only the scenarios that asked the receiver about that deviation in the faithful receiver's pass (the others
get the same answers from both receivers); the state-hook pass reruns everything.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.catalogue import load
from tests.conformance.independent.corpus_run import Outcomes, Variant, failed, shared_run, unsupported
from tests.conformance.independent.tds_receiver import DEVIATIONS

CATALOGUE = load()
SERVE = "tests.conformance.independent.tds_receiver:serve_variant"
VARIANTS = [Variant("baseline", serve=SERVE),
            *(Variant(d, serve=SERVE, serve_args={"deviations": [d]}, reference="baseline", switches=(d,))
              for d in sorted(DEVIATIONS)),
            Variant("no-hook", serve=SERVE, serve_args={"state_hook": False})]

_failed = failed
_unsupported = unsupported


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcomes]:
    """Every variant's outcomes (one subprocess)."""
    return shared_run(tmp_path_factory, "tds-receiver", ["features/tds"], VARIANTS)


@pytest.fixture(scope="module")
def baseline(runs: dict[str, Outcomes]) -> Outcomes:
    return runs["baseline"]


@pytest.mark.slow
def test_a_faithful_receiver_fails_no_contract_scenario(baseline: dict[str, dict[str, Any]]) -> None:
    wrongly_failed = {k: o["reason"][-300:] for k, o in baseline.items() if o["outcome"] == "failed"
                      and not all(CATALOGUE[r].assumed for r in o["reqs"])}
    assert not wrongly_failed, f"contract scenarios that fail a faithful TDS: {wrongly_failed}"
    # The assumed requirements where examrig knowingly departs from the real TDS do show (non-strict in check).
    failed_reqs = {r for k in _failed(baseline) for r in baseline[k]["reqs"]}
    assert failed_reqs == {"TDS-REPLY-003", "TDS-REPLY-007", "TDS-REPLY-008"}, failed_reqs
    passed_reqs = {r for o in baseline.values() if o["outcome"] == "passed" for r in o["reqs"]}
    contract = {r.id for r in CATALOGUE.values() if r.service == "tds" and r.role == "server"
                and r.kind == "contract" and not r.assumed}
    assert contract <= passed_reqs, f"contract requirements no scenario passed: {sorted(contract - passed_reqs)}"


@pytest.mark.slow
def test_examrig_conventions_are_unsupported_not_failed(baseline: dict[str, dict[str, Any]]) -> None:
    conventions = {k for k, o in baseline.items()
                   if "examrig" in o["tags"] or "capability" in o["tags"]
                   or any(CATALOGUE[r].kind == "extension" for r in o["reqs"])}
    assert conventions, "the tds corpus has no convention scenario to leave out"
    assert conventions == _unsupported(baseline), (sorted(conventions ^ _unsupported(baseline)))
    for key in conventions:
        assert "needs capability" in baseline[key]["reason"], baseline[key]["reason"]


@pytest.mark.slow
@pytest.mark.parametrize("deviation", sorted(DEVIATIONS))
def test_each_seeded_deviation_fails_exactly_its_requirement(
        runs: dict[str, Outcomes], baseline: dict[str, dict[str, Any]], deviation: str) -> None:
    requirement = DEVIATIONS[deviation][0]
    outcomes = runs[deviation]
    assert set(outcomes) == set(baseline)
    newly = _failed(outcomes) - _failed(baseline)
    assert newly, f"{deviation} ({DEVIATIONS[deviation][1]}) changed no outcome"
    strays = {k: outcomes[k]["reqs"] for k in newly if requirement not in outcomes[k]["reqs"]}
    assert not strays, f"{deviation} should fail only {requirement}'s scenarios, also failed {strays}"
    assert _failed(baseline) <= _failed(outcomes)


@pytest.mark.slow
def test_without_the_state_hook_the_state_scenarios_are_unsupported(
        runs: dict[str, Outcomes], baseline: dict[str, dict[str, Any]]) -> None:
    outcomes = runs["no-hook"]
    assert all(o["rerun"] for o in outcomes.values())
    hook_unsupported = {k for k in _unsupported(outcomes) if "state hook" in outcomes[k]["reason"]}
    tagged = {k for k, o in outcomes.items() if "state_hook" in o["tags"]} - _unsupported(baseline)
    assert tagged, "no scenario is tagged @state_hook"
    assert hook_unsupported == tagged, sorted(hook_unsupported ^ tagged)
    # The scenarios that need nothing but the public API run as before.
    for key, outcome in outcomes.items():
        if key not in tagged:
            assert outcome["outcome"] == baseline[key]["outcome"], (key, outcome, baseline[key])
