"""THSS's teacher page end to end: real thss and tis mocks served; the teacher scores two items, TIS gets both."""

from __future__ import annotations

import re
from typing import Any

import requests

from features.steps.thss import thss_trt
from mocks.core.app import Runtime
from mocks.core.settings import Settings
from tests.pages.conftest import UNLABELLED, screenshot, serve

OPP = "71a3ee01-f215-4ccd-b74d-df1097a01a0e"
ITEMS = [
    {"itemId": "1", "bankKey": "200", "maxScore": "2", "HandScored": "1", "scoreType": "R",
     "rubriclist": "", "dimensions": []},
    {"itemId": "2", "bankKey": "200", "maxScore": "3", "HandScored": "1", "scoreType": "R", "rubriclist": "",
     "dimensions": [{"description": "Initial", "minPoints": "0", "maxPoints": "3",
                     "conditions": [{"code": "B"}, {"code": "I"}]}]},
]


def test_teacher_scores_two_items_and_tis_receives_both(new_page: Any) -> None:
    runtime = Runtime.create(Settings(seed=7, services={"thss": {"poll_interval": 0}, "tis": {"worker": False}}),
                             db="sqlite://")
    with serve("tis", runtime=runtime) as (tis, tis_served), serve("thss", runtime=runtime) as (thss, thss_served):
        thss.model.submit_items("default", ITEMS)  # type: ignore[attr-defined]
        callback = f"{tis_served.url}/ItemScoringCallbackRcv.axd"
        upload = thss_trt(OPP, "200-1:SA:NOTSCORED:<b>two</b> answers;200-2:ER:NOTSCORED:an essay",
                          callback=callback)
        answer = requests.post(f"{thss_served.url}/api/test/submit", files={"file": ("u.xml", upload, "text/xml")},
                               timeout=30)
        assert answer.status_code == 200 and answer.json()["Files"][0]["Success"], answer.text

        page = new_page()
        page.goto(f"{thss_served.url}/teacher")
        assert page.evaluate(UNLABELLED) == []
        assert page.locator("#queue tbody tr[data-assignment]").count() == 2
        page.get_by_label("Item type").select_option("ER")
        page.get_by_role("button", name="Filter").click()
        assert page.locator("#queue tbody tr[data-assignment]").count() == 1
        screenshot(page, "teacher-queue-filtered")
        page.get_by_label("Item type").select_option("")
        page.get_by_role("button", name="Filter").click()

        page.get_by_role("link", name="Score 200-1").click()
        assert page.locator("#response").inner_text() == "<b>two</b> answers"  # the response as text
        assert page.evaluate(UNLABELLED) == []
        # the browser's own range check is bypassed: the server validates against the item's configuration
        page.evaluate("document.getElementById('score-0').removeAttribute('max')")
        page.get_by_label("Score for Initial").fill("5")
        with page.expect_navigation() as nav:
            page.get_by_role("button", name="Submit score").click()
        assert nav.value.status == 400
        assert "must be within 0..2" in page.locator("#error").inner_text()
        screenshot(page, "teacher-score-refused")
        page.get_by_label("Score for Initial").fill("2")
        page.get_by_role("button", name="Submit score").click()
        page.wait_for_url(re.compile(r"/teacher\?scored="))
        assert "sent" in page.locator("#scored").inner_text()
        assert page.locator("#queue tbody tr[data-assignment]").count() == 1  # the scored item left the queue

        page.get_by_role("link", name="Score 200-2").click()
        page.get_by_label("Score for Initial").fill("1")
        page.get_by_label("Condition code for Initial").select_option("B")
        screenshot(page, "teacher-assignment")
        page.get_by_role("button", name="Submit score").click()
        page.wait_for_url(re.compile(r"/teacher\?scored="))
        assert page.locator("#queue tbody tr[data-assignment]").count() == 0
        screenshot(page, "teacher-queue-empty")

        received = tis.journal.query(direction="in", path="/ItemScoringCallbackRcv.axd").entries
        assert len(received) == 2
        bodies = sorted(e.request_body for e in received)
        assert any('scorePoint="2" scoreDimension="Overall"' in b and '"itemID":1,' in b for b in bodies)
        assert any('scorePoint="1" scoreDimension="Overall"' in b and '"conditionCode":"B"' in b
                   and '"itemID":2,' in b for b in bodies)
        assert [c["status"] for c in thss.model.callback_log("default")] == [200, 200]  # type: ignore[attr-defined]


def test_teacher_form_without_the_pages_token_is_refused() -> None:
    runtime = Runtime.create(Settings(seed=7, services={"thss": {"poll_interval": 0}}), db="sqlite://")
    with serve("thss", runtime=runtime) as (thss, served):
        thss.model.submit_items("default", ITEMS[:1])  # type: ignore[attr-defined]
        upload = thss_trt(OPP, "200-1:SA:NOTSCORED")
        requests.post(f"{served.url}/api/test/submit", files={"file": ("u.xml", upload, "text/xml")}, timeout=30)
        key = thss.model.queue("default")[0]["id"]  # type: ignore[attr-defined]
        refused = requests.post(f"{served.url}/teacher/assignment/{key}/score", data={"score-0": "1"}, timeout=30)
        assert refused.status_code == 403 and "token" in refused.text
        assert thss.model.queue("default")[0]["status"] == "pending"  # type: ignore[attr-defined]


def test_the_teacher_and_lobby_pages_share_one_stylesheet(delivery: tuple[Any, str]) -> None:
    """mocks/core/static/pages.css, served under each mock's own static path (no copy per mock)."""
    _model, lobby = delivery
    with serve("thss", {"poll_interval": 0}) as (_thss, served):
        page = requests.get(f"{served.url}/teacher", headers={"Accept": "text/html"}, timeout=30)
        assert '<link rel="stylesheet" href="/teacher/static/pages.css">' in page.text
        teacher = requests.get(f"{served.url}/teacher/static/pages.css", timeout=30)
        assert requests.get(f"{served.url}/teacher/static/teacher.css", timeout=30).status_code == 404
    candidate = requests.get(f"{lobby}/lobby/_static/pages.css", timeout=30)
    assert teacher.status_code == candidate.status_code == 200
    assert teacher.headers["Content-Type"].startswith("text/css")
    assert teacher.content == candidate.content and b":focus-visible" in teacher.content
