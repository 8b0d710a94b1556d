"""Every scenario's checks can fail: against sabotaged mocks (every service route answers 503) none may pass;
and per requirement: under a sabotage switch that breaks one rule, only that rule's scenarios fail."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.catalogue import depends_on, load
from mocks.core import sabotage
from mocks.core.sabotage import ENV as SABOTAGE_ENV
from mocks.core.sabotage import SWITCHES, on
from tests.conformance.independent.corpus_run import Outcomes, Variant, failed, run_corpus, shared_run
from tests.subpytest import pytest_env

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load()


@pytest.mark.slow
def test_no_scenario_passes_against_sabotaged_mocks() -> None:
    """A scenario that still passes when every service answers 503 checks nothing about the service.

    Scenarios tagged ``@harness`` check examrig's own admin door (seeding, reset, faults, the
    journal), which the sabotage leaves working on purpose, and are left out of this run.
    """
    env = pytest_env()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider", "--examrig-sabotage",
         "-m", "not harness", "-rp", "--no-header", "--tb=no"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    passed = [line for line in result.stdout.splitlines() if line.startswith("PASSED")]
    assert not passed, "scenarios that pass against sabotaged mocks (their checks cannot fail):\n" + "\n".join(passed)
    failed = re.search(r"(\d+) failed", summary)
    assert failed and int(failed.group(1)) >= 200, summary
    assert "error" not in summary, summary  # every scenario ran and failed on its checks, none broke the harness


# -- per requirement (issue 11 item 8) ------------------------------------------------------------------
# A switch of mocks/core/sabotage.py breaks one rule of one mock; under it the scenarios that fail must be
# scenarios of exactly that rule's requirement, and at least one must. tds's contract MUSTs are covered by the
# independent receiver's deviations too (test_corpus_independent_tds.py); the tds mock's switches cover the
# assumed ones and the extensions, which a faithful receiver does not implement (docs/state-hook.md).
#
# Every switch runs in one pytest session (corpus_run.run_variants): the baseline pass runs each service's
# scenarios once and records which scenarios ask about which switch; a switch's pass reruns the scenarios
# that asked about it (the others cannot behave differently) and keeps the baseline's outcome for the rest.
# test_a_variant_pass_gives_what_a_separate_run_gives holds one switch's outcomes to a separate pytest run.

SERVICE_OF_SWITCH = {name: name.partition(".")[0] for name in SWITCHES}
#: The scenarios each service's switches run: its own directory (tis: with the end-to-end use cases, where
#: its TIS-E2E requirements are checked).
SERVICE_PATHS = {"tds": ("features/tds/",), "openam": ("features/openam/",), "dw": ("features/dw/",),
                 "thss": ("features/thss/",), "tis": ("features/tis/", "features/end_to_end/")}
VARIANTS = [Variant("baseline", paths=tuple(p for s in sorted(SERVICE_PATHS) for p in SERVICE_PATHS[s])),
            *(Variant(switch, env={SABOTAGE_ENV: switch}, paths=SERVICE_PATHS[SERVICE_OF_SWITCH[switch]],
                      reference="baseline") for switch in sorted(SWITCHES))]


def _of(outcomes: Outcomes, service: str) -> Outcomes:
    return {k: o for k, o in outcomes.items() if k.startswith(SERVICE_PATHS[service])}


@pytest.fixture(scope="module")
def sabotage_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcomes]:
    """Every switch's outcomes, and the baseline's (one subprocess)."""
    assert set(SERVICE_OF_SWITCH.values()) <= set(SERVICE_PATHS), "a switch of a service without scenario paths"
    paths = sorted({p.rstrip("/") for v in VARIANTS for p in v.paths})
    return shared_run(tmp_path_factory, "sabotage", paths, VARIANTS)


@pytest.fixture(scope="module")
def sabotage_baselines(sabotage_runs: dict[str, Outcomes]) -> dict[str, Outcomes]:
    """Each sabotaged service's scenarios without sabotage (they must all pass)."""
    baselines: dict[str, Outcomes] = {}
    for service in sorted(set(SERVICE_OF_SWITCH.values())):
        outcomes = _of(sabotage_runs["baseline"], service)
        assert outcomes, f"no scenario of {service} ran"
        assert not failed(outcomes), sorted(failed(outcomes))
        baselines[service] = outcomes
    return baselines


@pytest.mark.slow
@pytest.mark.parametrize("switch", sorted(SWITCHES))
def test_each_sabotage_switch_fails_exactly_its_requirement(
        sabotage_runs: dict[str, Outcomes], sabotage_baselines: dict[str, Outcomes], switch: str) -> None:
    service, requirement = SERVICE_OF_SWITCH[switch], SWITCHES[switch]
    outcomes = sabotage_runs[switch]
    assert set(outcomes) == set(sabotage_baselines[service])
    broken = failed(outcomes)
    assert broken, f"{switch} breaks {requirement}, yet no scenario of features/{service} failed"
    # a scenario that fails may claim the requirement, or one that rests on it (``depends_on``: an @examrig copy of
    # the requirement's scenario claims only its convention), as the issue allows: "that requirement (and those
    # that depend on it)"
    allowed = {requirement} | {rid for rid in CATALOGUE if requirement in depends_on(CATALOGUE, rid)}
    strays = {k: outcomes[k]["reqs"] for k in broken if not allowed & set(outcomes[k]["reqs"])}
    assert not strays, f"{switch} should fail only {requirement}'s scenarios, also failed {strays}"
    assert any(requirement in outcomes[k]["reqs"] for k in broken), \
        f"{switch} failed only scenarios of requirements resting on {requirement}, none of its own"


@pytest.mark.slow
def test_a_variant_pass_gives_what_a_separate_run_gives(
        tmp_path: Path, sabotage_runs: dict[str, Outcomes]) -> None:
    """One switch's pass, run after the baseline and the other switches' passes in one session and rerunning
    only the scenarios that asked about the switch, equals ``pytest features/openam`` in a process of its
    own with the switch on: the teardown between passes leaves nothing behind, the pruning changes nothing."""
    switch = "openam.chain-dropped"
    alone = run_corpus(tmp_path, switch, ["features/openam"], env={SABOTAGE_ENV: switch})
    in_session = sabotage_runs[switch]
    assert any(o["rerun"] for o in in_session.values()) and not all(o["rerun"] for o in in_session.values())
    # (the order of a scenario's req markers follows its tag set's, which differs from process to process)
    assert {k: (o["outcome"], sorted(o["reqs"]), o["tags"]) for k, o in in_session.items()} == \
        {k: (o["outcome"], sorted(o["reqs"]), o["tags"]) for k, o in alone.items()}
    assert failed(alone), "the comparison is only worth something if the switch fails a scenario"


def test_sabotage_is_off_without_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SABOTAGE_ENV, raising=False)
    assert not any(on(name) for name in SWITCHES)
    monkeypatch.setenv(SABOTAGE_ENV, "openam.wrong-secret-taken")
    assert on("openam.wrong-secret-taken") and not on("openam.revoked-token-valid")
    with pytest.raises(KeyError):
        on("openam.not-a-switch")
    monkeypatch.setenv(SABOTAGE_ENV, "openam.nope")
    with pytest.raises(ValueError, match="unknown sabotage switch"):
        on("openam.wrong-secret-taken")


def test_every_switch_is_reported_to_the_observer(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the variant runner's pruning rests on: every question about a switch, on or off, reaches it."""
    asked: list[str] = []
    monkeypatch.setattr(sabotage, "observer", asked.append)
    monkeypatch.delenv(SABOTAGE_ENV, raising=False)
    assert not on("dw.reset-not-deleted")
    monkeypatch.setenv(SABOTAGE_ENV, "dw.reset-not-deleted")
    assert on("dw.reset-not-deleted") and not on("tis.wer-d-summed")
    assert asked == ["dw.reset-not-deleted", "dw.reset-not-deleted", "tis.wer-d-summed"]


def test_every_switch_names_a_must_of_its_service() -> None:
    for switch, requirement in SWITCHES.items():
        req = CATALOGUE[requirement]
        assert (req.service, req.level) == (switch.partition(".")[0], "MUST"), (switch, requirement)
