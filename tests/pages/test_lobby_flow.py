"""The seed document's proctored launch in two browser contexts at once, and the lobby's error pages."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from tests.pages.conftest import CUSTOMER, expect, new_attempt, screenshot


def test_proctored_launch_in_two_browsers(delivery: tuple[Any, str], new_page: Any) -> None:
    model, base = delivery
    attempt = new_attempt(model, base, LockRequired=True)
    proctor = new_page()
    candidate = new_page()
    dialogs: list[str] = []
    candidate.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    candidate.goto(attempt["ParticipantFacingQMLobbyUrl"])
    lock = candidate.locator("#lock")
    assert lock.get_attribute("data-locked") == "true"
    # the participant's name is markup: it renders as text, no script runs
    assert candidate.locator("#participant").inner_text() == "<script>alert(1)</script>"
    screenshot(candidate, "lobby-locked")

    proctor.goto(attempt["ProctorFacingQMControlsWidgetUrl"])
    assert proctor.locator("#attempt-1 .lock").inner_text() == "Locked"
    screenshot(proctor, "proctor-widget-locked")
    proctor.get_by_role("button", name="Unlock attempt 1").click()
    proctor.wait_for_url(re.compile(r"/proctorwidget/Index/1\?"))
    assert proctor.locator("#attempt-1 .lock").inner_text() == "Unlocked"

    # the candidate's lobby notices by itself (no reload) and Start becomes possible
    candidate.wait_for_selector("#lock[data-locked='false']")
    assert candidate.locator(".unlock-code").is_hidden()
    candidate.get_by_role("button", name="Start the assessment").click()
    candidate.wait_for_url(re.compile(r"/page/Delivery/1$"))
    assert candidate.locator("#assessment").inner_text() == "Maths 101"
    assert candidate.locator("#status").inner_text() == "In progress"
    assert "30 min" in candidate.locator("#left").inner_text() or "29 min" in candidate.locator("#left").inner_text()
    screenshot(candidate, "delivery-in-progress")

    model.clock.freeze("default")  # from here the tenant's clock moves only when the test advances it
    proctor.get_by_role("button", name="Pause attempt 1").click()
    proctor.wait_for_url(re.compile(r"/proctorwidget/Index/1\?"))
    candidate.wait_for_selector("#status[data-status='6']")
    assert "paused" in candidate.locator("#notice").inner_text()
    screenshot(candidate, "delivery-paused")
    paused_left = _seconds(candidate.locator("#left").inner_text())
    model.clock.advance("default", seconds=300)  # five minutes paused: the time left stands still
    candidate.reload()
    assert _seconds(candidate.locator("#left").inner_text()) == paused_left

    proctor.get_by_label("Minutes to add").fill("10")
    proctor.get_by_role("button", name="Add time to attempt 1").click()
    proctor.wait_for_url(re.compile(r"/proctorwidget/Index/1\?"))
    expect(candidate.locator("#extra")).to_have_text("10 min")
    expect(candidate.locator("#left")).to_have_text(_shown(paused_left + 600))  # by polling

    proctor.get_by_role("button", name="Resume attempt 1").click()
    candidate.wait_for_selector("#status[data-status='1']")
    model.clock.advance("default", seconds=60)  # running again: the time left falls
    expect(candidate.locator("#left")).to_have_text(_shown(paused_left + 600 - 60))
    proctor.get_by_role("button", name="Terminate attempt 1").click()
    proctor.wait_for_url(re.compile(r"/proctorwidget/Index/1\?"))
    candidate.wait_for_selector("#status[data-status='7']")
    assert "ended" in candidate.locator("#notice").inner_text()
    screenshot(candidate, "delivery-terminated")
    events = proctor.locator("table.audit tbody td:nth-child(3)").all_inner_texts()
    assert events == ["AttemptCreated", "LobbyEntered", "Unlocked", "Started", "Paused", "TimeAdded", "Resumed",
                      "Terminated"]
    screenshot(proctor, "proctor-widget-terminated")
    # the page's state is the model's: the same result the JSON API reports
    state = model.state("default", CUSTOMER, 1)
    assert (state["attempt"]["Result"]["Status"], state["attempt"]["Result"]["ExtraTime"]) == (7, 10)
    assert dialogs == []


def _seconds(shown: str) -> int:
    minutes, seconds = re.fullmatch(r"(\d+) min (\d+) s", shown.strip()).groups()  # type: ignore[union-attr]
    return int(minutes) * 60 + int(seconds)


def _shown(seconds: int) -> str:
    return f"{seconds // 60} min {seconds % 60} s"


def _tamper(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_tampered_expired_and_replayed_links_show_error_pages(delivery: tuple[Any, str], new_page: Any) -> None:
    model, base = delivery
    page = new_page()
    lobby = new_attempt(model, base)["ParticipantFacingQMLobbyUrl"]

    tampered = _tamper(lobby, signature="0" * 64)
    answer = page.goto(tampered)
    assert answer.status == 403
    assert page.locator("h1").inner_text() == "This link is not valid"
    screenshot(page, "error-tampered")

    wrong_role = _tamper(lobby, role="proctor")
    assert page.goto(wrong_role).status == 403
    assert page.locator("h1").inner_text() == "This link is not for this page"
    screenshot(page, "error-wrong-role")

    assert page.goto(lobby).status == 200  # used once, legitimately
    assert page.goto(lobby).status == 403
    assert page.locator("h1").inner_text() == "This link has already been used"
    screenshot(page, "error-replayed")

    fresh = new_attempt(model, base, external="ext-2")["ParticipantFacingQMLobbyUrl"]
    model.clock.advance("default", seconds=model.config.lobby_ttl + 1)
    assert page.goto(fresh).status == 403
    assert page.locator("h1").inner_text() == "This link has expired"
    screenshot(page, "error-expired")
    # API clients still get the JSON refusal on the same URL
    answer_json = requests.get(_tamper(lobby, signature="0" * 64), timeout=30)
    assert answer_json.status_code == 403 and answer_json.json()["error"]["code"] == "signature_invalid"
