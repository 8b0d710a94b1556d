"""The thss policy worker: an upload wakes it (no wait for the poll); the due index on older databases."""

from __future__ import annotations

import threading
from io import BytesIO
from pathlib import Path
from typing import Any

import responses
from sqlalchemy import text
from werkzeug.test import Client

from features.steps.thss import STANDIN, thss_trt
from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.thss.service import Service
from tests.dbs import store_url

T = "t1"
OPP = "71a3ee01-f215-4ccd-b74d-df1097a01a0e"


def test_an_upload_wakes_the_worker_before_its_poll() -> None:
    runtime = Runtime.create(Settings(seed=4), db=store_url())
    thss = Service(runtime, {"poll_interval": 3600})  # the poll alone would not come round during the test
    thss.model.submit_items(T, [{"itemId": "1", "bankKey": "200", "maxScore": "2", "HandScored": "1",
                                 "scoreType": "R", "rubriclist": "", "dimensions": []}])
    thss.model.set_policies(T, [{"itemType": "SA", "kind": "fixed", "score": 1}])
    posted = threading.Event()

    def answer(_request: Any) -> tuple[int, dict[str, str], str]:
        posted.set()
        return 200, {}, ""

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, STANDIN, callback=answer)
        thss.start()
        try:
            # the worker's first pass (at start) finds nothing; the upload's wake starts the next one
            response = Client(thss).post("/api/test/submit", headers={"X-Examrig-Tenant": T}, data={
                "file": (BytesIO(thss_trt(OPP, "200-1:SA:NOTSCORED")), "upload.xml", "text/xml")})
            assert response.status_code == 200 and response.json["Files"][0]["Success"], response.json
            assert posted.wait(30), "the upload did not wake the policy worker"
        finally:
            thss.stop()
    assert [row["status"] for row in thss.model.queue(T)] == ["sent"]


def test_an_older_database_gets_the_due_index(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'thss.db'}"
    runtime = Runtime.create(Settings(seed=4), db=db)
    Service(runtime, {"poll_interval": 0})
    with runtime.store.begin() as conn:  # as a database file made before the index existed
        conn.execute(text("DROP INDEX ix_thss_assignment_due"))
    runtime.store.dispose()
    runtime = Runtime.create(Settings(seed=4), db=db)
    Service(runtime, {"poll_interval": 0})
    with runtime.store.read() as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT * FROM thss_assignment WHERE status = 'pending' AND due IS NOT NULL "
            "ORDER BY due, created")))
    runtime.store.dispose()
    assert "ix_thss_assignment_due" in plan, plan
