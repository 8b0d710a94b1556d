"""PostgreSQL: a row made claimable in one process wakes the listening processors of another (LISTEN/NOTIFY)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from contracts.generate import generate_testpackage, generate_trt
from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.tis.service import Service as TisService
from tests.dbs import fresh_schema, require_postgres


@pytest.mark.postgresql
def test_a_receipt_in_one_process_wakes_the_listening_worker_of_another() -> None:
    url = fresh_schema(require_postgres())
    receiver_rt = Runtime.create(Settings(seed=1), db=url)  # two runtimes on one database: two processes
    worker_rt = Runtime.create(Settings(seed=2), db=url)
    receiver = TisService(receiver_rt, {"worker": False})
    worker = TisService(worker_rt, {"worker": False})
    woken = threading.Event()
    plain_wake = worker.processor.wake

    def wake() -> None:
        woken.set()
        plain_wake()

    worker.processor.wake = wake  # type: ignore[method-assign]
    try:
        assert worker.processor.listen()  # returns once LISTEN ran
        assert not woken.is_set()
        trt = generate_trt(1, package=generate_testpackage(1, items=5, hand_scored=False))
        receiver.model.receive("default", trt, "http://tds.example/tisReply", "default")
        # the worker's poll is not running here: only the notification can wake it
        assert woken.wait(30), "the worker of the other process was not woken by the receipt"
        woken.clear()
        receiver.processor.arrived()  # the receiver does not listen: it wakes its own workers directly
        assert not woken.wait(0.5)
    finally:
        worker.processor.stop()
        receiver.processor.stop()
        receiver_rt.store.dispose()
        worker_rt.store.dispose()


def test_sqlite_has_no_listener(tmp_path: object) -> None:
    runtime = Runtime.create(Settings(seed=1), db="sqlite://")
    tis = TisService(runtime, {"worker": False})
    woken: list[int] = []
    tis.processor.wake = lambda: woken.append(1)  # type: ignore[method-assign]
    assert not tis.processor.listen()
    tis.processor.arrived()  # so a receipt wakes this process's workers directly
    assert woken == [1]
    runtime.store.dispose()


@pytest.mark.postgresql
def test_a_receipt_wakes_only_the_listeners_of_its_own_schema() -> None:
    """The channel is the database's; the payload names the schema, so another schema's processors (another
    deployment, a parallel test) are not woken by this one's receipts."""
    base = require_postgres()
    ours_url, theirs_url = fresh_schema(base), fresh_schema(base)
    runtimes = [Runtime.create(Settings(seed=n), db=u) for n, u in ((1, ours_url), (2, ours_url), (3, theirs_url))]
    receiver, ours, theirs = (TisService(rt, {"worker": False}) for rt in runtimes)
    events = {"ours": threading.Event(), "theirs": threading.Event()}
    for name, service in (("ours", ours), ("theirs", theirs)):
        plain = service.processor.wake

        def wake(event: threading.Event = events[name], plain: Any = plain) -> None:
            event.set()
            plain()
        service.processor.wake = wake  # type: ignore[method-assign]
    try:
        assert ours.processor.listen() and theirs.processor.listen()
        trt = generate_trt(1, package=generate_testpackage(1, items=5, hand_scored=False))
        receiver.model.receive("default", trt, "http://tds.example/tisReply", "default")
        assert events["ours"].wait(30), "the listener of the receipt's schema was not woken"
        # the other schema's listener saw the same notification on the database's channel, and ignored it
        assert not events["theirs"].wait(1.5)
    finally:
        for service in (ours, theirs, receiver):
            service.processor.stop()
        for rt in runtimes:
            rt.store.dispose()
