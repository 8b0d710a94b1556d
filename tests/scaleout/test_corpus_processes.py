"""The whole scenario corpus against every mock served by one ``examrig serve --processes 2`` (issue 13).

On SQLite (one file, WAL) and on PostgreSQL (a fresh schema of ``EXAMRIG_TEST_DB``). The seven mocks are served
by one command, so their peers are wired to each other as ``serve`` does; the corpus reaches them as
``--examrig-target`` services with every capability of the catalogue declared, and ``tests/scaleout/spread.py``
sends every request on a new connection (the kernel spreads them over both processes) and treats the targets
as examrig's mocks (the whole admin door over HTTP, TIS's processing passes on the served database).

"Passes as it does in one process": the served run's passed scenarios are the in-process run's, less
:data:`LIMITS`; nothing fails, errors or is skipped (``unsupported`` included) that the in-process run does not.
Both variants run in tox env py-pg (marker ``py_pg``), beside the critical path py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.catalogue import load
from tests.dbs import fresh_schema, require_postgres
from tests.scaleout.test_processes import stop_serve
from tests.subpytest import pytest_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.py_pg

#: Scenarios that cannot pass against mocks served in other processes, and why: each needs an object of the
#: test process inside the mock (a harness limit, not a property of the served mocks).
LIMITS = {
    "features/core/test_core.py::test_a_journal_check_over_a_window_that_lost_entries_is_an_error_not_a_verdict":
        "replaces the in-process tds mock's journal object by a 5-entry one for one scenario; a served mock's "
        "journal bound is a serve-time setting (journal_capacity) of every process",
    **{f"features/proctoru/test_proctoru.py::{name}":
       "points the in-process proctoru mock's deliveryodata peer at a `responses` stub in the test process; "
       "the served proctoru calls the served deliveryodata"
       for name in ("test_the_first_begin_links_the_attempt_a_second_begin_does_not_call_again",
                    "test_deliveryodata_down_does_not_fail_the_begin_the_next_begin_links",
                    "test_examrigs_convention_the_begins_deliveryodata_calls_are_journaled_as_outbound")},
    "features/proctoru/test_proctoru.py::test_the_api_answers_over_https_to_a_client_that_trusts_the_generated_"
    "certificate":
        "serves the in-process proctoru app over HTTPS from the test process; the served mocks are plain HTTP",
    **{f"features/thss/test_thss.py::{name}":
       "thss's TIS scoring callback goes to a `responses` stand-in (http://tis-standin.example) that exists only "
       "in the test process; the served thss resolves that host for real"
       for name in ("test_the_thss_policy_scores_two_items_and_both_scores_reach_tis",
                    "test_a_fixed_policy_scores_the_response_and_thss_posts_it_as_a_form_post",
                    "test_a_delayed_policy_waits_for_the_tenants_clock",
                    "test_the_admin_api_scores_a_multidimension_response",
                    "test_work_already_sent_cannot_be_scored_again",
                    "test_the_guide_profile_takes_the_peritem_request_and_echoes_its_context_token",
                    "test_examrigs_convention_a_fixed_policy_scores_the_response_and_thss_posts_it_as_a_form_post",
                    "test_examrigs_convention_a_callback_answered_500_is_logged_as_answered_500")},
}


def outcomes(report: Path) -> dict[str, str]:
    """``{node id: passed|failed|error|skipped: <message>}`` from a junit XML report."""
    found: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        node = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
            elif child.tag == "skipped" and outcome == "passed":
                outcome = f"skipped: {child.get('message', '')}"
        found[node] = outcome
    return found


def corpus(report: Path, *args: str, env: dict[str, str]) -> dict[str, str]:
    """Run ``pytest features`` (two xdist workers) with ``args``; the outcome of every scenario."""
    cmd = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider", "-n", "2",
           f"--junitxml={report}", *args]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert report.is_file(), f"{run.returncode}: {run.stdout[-3000:]}{run.stderr[-3000:]}"
    return outcomes(report)


class ServedAll:
    """Every mock, served by one ``examrig serve --processes 2`` as the corpus drives them."""

    def __init__(self, where: Path, db: str | None) -> None:
        self.ready = where / "ready.json"
        self.db = db or f"sqlite:///{where / 'examrig.db'}"
        cmd = [sys.executable, "-m", "conformance.cli", "serve", "--port-base", "0", "--processes", "2",
               "--data-dir", str(where), "--seed", "1234", "--ready-file", str(self.ready),
               # the corpus drives TIS's processing and thss's policies step by step, as in one process
               "--option", "tis.worker=false", "--option", "thss.poll_interval=0"]
        if db:
            cmd += ["--db", db]
        self.log = where / "serve.log"
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                     stdout=subprocess.DEVNULL, stderr=self.log.open("wb"))
        deadline = time.monotonic() + 120
        while not self.ready.is_file():
            assert self.proc.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)
        self.urls: dict[str, str] = json.loads(self.ready.read_text())["services"]

    def stop(self) -> int:
        return stop_serve(self.proc)


def capabilities() -> list[str]:
    """Every capability the catalogue defines (examrig's mocks have them all)."""
    return sorted({req.capability for req in load().values() if req.capability})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db(request: pytest.FixtureRequest) -> str | None:
    """SQLite (a file under the data directory), or a fresh schema of EXAMRIG_TEST_DB's PostgreSQL."""
    if request.param == "sqlite":
        return None
    return fresh_schema(require_postgres())


@pytest.fixture
def served(db: str | None, tmp_path: Path) -> Iterator[ServedAll]:
    where = tmp_path / "served"
    where.mkdir()
    mocks = ServedAll(where, db)
    yield mocks
    assert mocks.stop() == 0, mocks.log.read_text()[-3000:]


def test_the_whole_corpus_passes_against_every_mock_served_with_two_processes(
        served: ServedAll, db: str | None, tmp_path: Path) -> None:
    # in process, on the same kind of database (SQLite in memory, or a fresh schema of the same PostgreSQL)
    alone = corpus(tmp_path / "inprocess.xml", env=pytest_env(EXAMRIG_TEST_DB=fresh_schema(db) if db else ""))
    passed_alone = {node for node, outcome in alone.items() if outcome == "passed"}
    assert len(passed_alone) > 300 and set(LIMITS) <= passed_alone, sorted(set(LIMITS) - passed_alone)

    args = ["-p", "tests.scaleout.spread", "--examrig-served-db", served.db]
    for name, url in served.urls.items():
        args += ["--examrig-target", f"{name}={url}"]
    for capability in capabilities():
        args += ["--examrig-capability", capability]
    for node in LIMITS:
        args += ["--deselect", node]
    spread = corpus(tmp_path / "served.xml", *args, env=pytest_env(EXAMRIG_TEST_DB=""))

    assert set(served.urls) == {"deliveryodata", "proctoru", "tis", "thss", "tds", "dw", "openam"}
    bad = {node: outcome for node, outcome in spread.items() if outcome in ("failed", "error")}
    assert not bad, bad
    assert {node for node, outcome in spread.items() if outcome == "passed"} == passed_alone - set(LIMITS)
    skipped = {node: outcome for node, outcome in spread.items() if outcome.startswith("skipped")}
    assert skipped == {node: outcome for node, outcome in alone.items() if outcome.startswith("skipped")}
    assert set(spread) == set(alone) - set(LIMITS)
