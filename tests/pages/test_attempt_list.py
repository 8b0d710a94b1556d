"""The attempt-list control page (every attempt of a list, updating by itself); an unlock code; Finish."""

from __future__ import annotations

import re
from typing import Any

from tests.pages.conftest import CUSTOMER, expect, new_attempt, screenshot


def test_list_controls_every_attempt_and_updates_by_itself(delivery: tuple[Any, str], new_page: Any) -> None:
    model, base = delivery
    lst = model.create_attempt_list("default", CUSTOMER, {"ExternalAttemptListID": "room-1"})
    first = new_attempt(model, base, external="a-1", LockRequired=True, AttemptListID=lst["ID"])
    new_attempt(model, base, external="a-2", LockRequired=True, AttemptListID=lst["ID"])
    url = model.list_with_url("default", CUSTOMER, lst["ID"], base)["ProctorFacingQMControlsUrl"]
    proctor, candidate = new_page(), new_page()
    answer = proctor.goto(url)
    assert answer.status == 200 and "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert proctor.locator("section.attempt").count() == 2
    assert "x-frame-options" not in answer.headers

    candidate.goto(first["ParticipantFacingQMLobbyUrl"])  # the list page notices the lobby's re-lock and the start
    proctor.get_by_role("button", name="Unlock attempt 1").click()
    proctor.wait_for_url(re.compile(r"/attemptlist/Index/"))
    expect(proctor.locator("#attempt-1 .lock")).to_have_text("Unlocked")
    expect(proctor.locator("#attempt-2 .lock")).to_have_text("Locked")
    candidate.wait_for_selector("#lock[data-locked='false']")
    candidate.get_by_role("button", name="Start the assessment").click()
    candidate.wait_for_url(re.compile(r"/page/Delivery/1$"))
    expect(proctor.locator("#attempt-1 .status")).to_have_text("In progress")  # by polling, no reload
    screenshot(proctor, "attempt-list")
    # a control refused by the model is shown on the page with the model's status
    with proctor.expect_navigation() as nav:
        proctor.get_by_role("button", name="Pause attempt 2").click()
    assert nav.value.status == 409
    assert "has not been started" in proctor.locator("#error").inner_text()


def test_locked_lobby_starts_with_the_unlock_code_and_finishes(delivery: tuple[Any, str], new_page: Any) -> None:
    model, base = delivery
    attempt = new_attempt(model, base, LockRequired=True, UnlockCode="4711")
    page = new_page()
    page.goto(attempt["ParticipantFacingQMLobbyUrl"])
    page.get_by_label("Unlock code (if your proctor gave you one)").fill("1234")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Start the assessment").click()
    assert nav.value.status == 403
    assert "not valid" in page.locator("#error").inner_text()
    screenshot(page, "lobby-wrong-code")
    page.get_by_label("Unlock code (if your proctor gave you one)").fill("4711")
    page.get_by_role("button", name="Start the assessment").click()
    page.wait_for_url(re.compile(r"/page/Delivery/1$"))
    assert page.locator("#status").inner_text() == "In progress"
    screenshot(page, "delivery-in-progress-finish")
    page.get_by_role("button", name="Finish the assessment").click()
    page.wait_for_url(re.compile(r"/page/Delivery/1$"))
    assert page.locator("#status").inner_text() == "Finished"
    assert page.locator("#finish-form").is_hidden()
    result = model.state("default", CUSTOMER, 1)["attempt"]["Result"]
    assert (result["Status"], result["StillGoing"]) == (5, False)  # A_Result.Status 5: Finished at User Request
    assert model.audit_rows("default", CUSTOMER, 1)[-1]["Event"] == "Finished"
