"""Several mocks served by one ``examrig serve --processes 2``: a barrier of one mock does not stand for another's.

The pre-fork parent makes one :class:`~mocks.core.control.HostSignal` for every mock it serves, so its journal
and metrics epochs move with the reads of every mock. A process acknowledges the epoch it saw before writing;
a read of one mock must wait for what that mock's other process recorded, however far the other mocks' reads
moved the epoch (the whole corpus against every mock served at once missed such entries: issue 13).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import Client

from mocks.core.app import Runtime
from mocks.core.control import HostSignal
from mocks.core.settings import Settings
from tests.core.conftest import NotesService
from tests.core.test_metrics import parse, requests_by

T = "X-Examrig-Tenant"


class MemosService(NotesService):
    """A second mock beside ``notes`` (same routes, its own name, so its own journal and metrics)."""

    name = "memos"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[dict[str, NotesService]]]:
    """Two processes on one host signal (one SQLite file), each serving ``notes`` and ``memos``."""
    host = HostSignal()
    made = []
    for _ in range(2):
        settings = Settings(seed=7, shared_control=True, data_dir=str(tmp_path))
        runtime = Runtime.create(settings, db=f"sqlite:///{tmp_path / 'one.db'}")
        runtime.control.host = host
        runtime.control.poll = None
        made.append({"notes": NotesService(runtime), "memos": MemosService(runtime)})
    for apps in made:
        apps["notes"].runtime.control.start()
    yield made
    for apps in made:
        apps["notes"].runtime.control.close()
        apps["notes"].runtime.store.dispose()


def _other_mocks_reads(clients: list[Client], rounds: int) -> None:
    """Reads of the other mock, through both processes: they move the host's epochs."""
    for i in range(rounds):
        clients[i % 2].get("/_examrig/journal", headers={T: "m"})
        clients[i % 2].get("/_examrig/metrics")


def test_a_journal_read_waits_for_the_other_process_whatever_the_other_mocks_reads_did(
        processes: list[dict[str, NotesService]]) -> None:
    one, two = (Client(apps["notes"]) for apps in processes)
    memos = [Client(apps["memos"]) for apps in processes]
    for round_ in range(5):
        tenant = f"j{round_}"
        since = json.loads(one.get("/_examrig/health", headers={T: tenant}).get_data())["journal"]["next_seq"]
        _other_mocks_reads(memos, 8)  # the epoch runs ahead of notes' own reads
        two.put(f"/notes/k{round_}", data="v", headers={T: tenant})  # recorded by the other process, pending
        window = json.loads(one.get(f"/_examrig/journal?since={since}", headers={T: tenant}).get_data())
        assert [e["path"] for e in window["entries"]] == [f"/notes/k{round_}"], (round_, window)


def test_a_scrape_waits_for_the_other_process_whatever_the_other_mocks_scrapes_did(
        processes: list[dict[str, NotesService]]) -> None:
    one, two = (Client(apps["notes"]) for apps in processes)
    memos = [Client(apps["memos"]) for apps in processes]
    assert requests_by(parse(one.get("/_examrig/metrics").text), "notes") == {}
    for round_ in range(1, 6):
        _other_mocks_reads(memos, 8)
        two.put(f"/notes/k{round_}", data="v", headers={T: "m"})
        seen = requests_by(parse(one.get("/_examrig/metrics").text), "notes")
        assert seen == {("put", "201"): round_}, (round_, seen)
