"""``examrig serve tis --processes 2``: a scrape of either process shows the traffic of both, and
``/_examrig/config`` is the same from both (SQLite, and PostgreSQL when ``EXAMRIG_TEST_DB`` names one).

Requests go on new connections (``Connection: close``) so the kernel spreads them over the two processes;
the scrapes go on a kept-alive connection pinned to one process, found through ``/_examrig/health``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import requests

from tests.core.test_metrics import parse, requests_by
from tests.dbs import fresh_schema, require_postgres
from tests.scaleout.test_processes import Served, get, process_of

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def tis(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """TIS served by two processes (each runs its share of the processing workers) on one database."""
    db = None if request.param == "sqlite" else fresh_schema(require_postgres())
    served = Served("tis", tmp_path_factory.mktemp("metrics"), db, 5)
    try:
        yield served
    finally:
        served.stop()


def _sessions(url: str) -> dict[str, requests.Session]:
    """A kept-alive session pinned to each of the two processes (keyed by the process that answers)."""
    pinned: dict[str, requests.Session] = {}
    for _ in range(200):
        session = requests.Session()
        process = str(session.get(url + "/_examrig/health", timeout=60).json()["process"])
        if process in pinned:
            session.close()
            continue
        pinned[process] = session
        if len(pinned) == 2:
            return pinned
    raise AssertionError(f"reached only {sorted(pinned)}")


# (method, path) -> the route label the mock counts it under
CALLS = [("POST", "/api/testresult", "testresult"), ("DELETE", "/api/assessments/none", "deleteAssessment"),
         ("GET", "/no/such/path", "unmatched")]


def test_a_scrape_of_either_process_shows_the_traffic_of_both(tis: Served) -> None:
    url = tis.url
    get(url, "/_examrig/reset", method="POST", json={"all": True})
    assert len({process_of(url) for _ in range(40)}) == 2  # new connections do reach both
    sent: Counter[tuple[str, str]] = Counter()
    for i in range(30):
        method, path, route = CALLS[i % len(CALLS)]
        answer = get(url, path, method=method, data=b"" if method == "POST" else None)
        sent[(route, str(answer.status_code))] += 1
    pinned = _sessions(url)
    scrapes = {process: parse(s.get(url + "/_examrig/metrics", timeout=60).text) for process, s in pinned.items()}
    for process, samples in scrapes.items():
        assert requests_by(samples, "tis") == dict(sent), process
        counts = {dict(labels)["route"]: v for (name, labels), v in samples.items()
                  if name == "examrig_request_duration_ms_count" and not dict(labels)["route"].startswith("admin:")}
        assert counts == {route: 10 for _, _, route in CALLS}, process
    for session in pinned.values():
        session.close()


def test_config_is_the_same_from_both_processes(tis: Served) -> None:
    pinned = _sessions(tis.url)
    configs = [s.get(tis.url + "/_examrig/config", timeout=60).json() for s in pinned.values()]
    assert configs[0] == configs[1]
    # each process runs its own share of TIS's one worker (one runs it, the other none); both show what was
    # configured: nothing, so neither option appears
    assert not {"worker", "workers"} & set(configs[0]["options"]), configs[0]["options"]
    for session in pinned.values():
        session.close()
