"""The thss policy pass posts several callbacks at once, each scored response exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import responses

from features.steps.thss import STANDIN, thss_trt
from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.thss.models import InputError
from mocks.thss.service import Service
from tests.dbs import store_url

T = "t1"
OPPS = ("71a3ee01-f215-4ccd-b74d-df1097a01a0c", "71a3ee01-f215-4ccd-b74d-df1097a01a0d")


def _service(concurrency: int) -> Service:
    runtime = Runtime.create(Settings(seed=4), db=store_url())
    thss = Service(runtime, {"poll_interval": 0, "callback_concurrency": concurrency})
    runtime.clock.freeze(T, datetime(2024, 1, 1, tzinfo=UTC))
    thss.model.submit_items(T, [{"itemId": str(k), "bankKey": "200", "maxScore": "2", "HandScored": "1",
                                 "scoreType": "R", "rubriclist": "", "dimensions": []} for k in (1, 2, 3)])
    thss.model.set_policies(T, [{"itemType": "SA", "kind": "fixed", "score": 1}])
    for opp in OPPS:
        thss.model.import_file(T, "f.xml", thss_trt(opp, "200-1:SA:NOTSCORED;200-2:SA:NOTSCORED;200-3:SA:NOTSCORED"))
    return thss


def test_one_pass_posts_callbacks_concurrently_and_each_once() -> None:
    thss = _service(4)
    # the first two posts meet at a barrier: a pass posting one at a time would break it (5 s) and fail them
    barrier = threading.Barrier(2, timeout=5)
    seen: list[str] = []
    lock = threading.Lock()

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        with lock:
            seen.append(request.body.decode("ascii") if isinstance(request.body, bytes) else str(request.body))
            first_two = len(seen) <= 2
        if first_two:
            barrier.wait()
        return 200, {}, ""

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, STANDIN, callback=answer)
        assert thss.run_due(T) == 6
    assert len(seen) == 6 and len(set(seen)) == 6  # one post per scored response, none repeated
    queue = thss.model.queue(T)
    assert Counter(row["status"] for row in queue) == Counter({"sent": 6})
    assert [c["status"] for c in thss.model.callback_log(T)] == [200] * 6
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, STANDIN, status=200)
        assert thss.run_due(T) == 0  # nothing due twice
        assert not mock.calls


def test_serial_pass_when_concurrency_is_one() -> None:
    thss = _service(1)
    threads: set[int] = set()

    def answer(_request: Any) -> tuple[int, dict[str, str], str]:
        threads.add(threading.get_ident())
        return 200, {}, ""

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, STANDIN, callback=answer)
        assert thss.run_due(T) == 6
    assert threads == {threading.get_ident()}  # posted by the pass itself, one after the other
    assert len(thss.model.callback_log(T)) == 6


@pytest.mark.parametrize("value", [0, -1, "4", True])
def test_callback_concurrency_must_be_a_positive_integer(value: object) -> None:
    runtime = Runtime.create(Settings(seed=4), db=store_url())
    with pytest.raises(InputError) as err:
        Service(runtime, {"callback_concurrency": value})
    assert err.value.field == "callback_concurrency"
