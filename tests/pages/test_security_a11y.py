"""Escaping, CSRF, keyboard-only use and labelled controls on the lobby and proctor pages."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.conformance.check_helpers import served_wsgi
from tests.pages.conftest import CUSTOMER, UNLABELLED, expect, new_attempt, screenshot

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}



def test_markup_in_integrator_data_renders_as_text(delivery: tuple[Any, str], new_page: Any) -> None:
    model, base = delivery
    attempt = new_attempt(model, base, external="<img src=x onerror=alert(2)>")
    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(attempt["ProctorFacingQMControlsWidgetUrl"])
    assert "(<img src=x onerror=alert(2)>)" in page.locator("#attempt-1 h2").inner_text()
    assert page.locator("img").count() == 0
    page.goto(attempt["ParticipantFacingQMLobbyUrl"])
    assert page.locator("#participant").inner_text() == "<script>alert(1)</script>"
    assert page.locator("main script").count() == 0
    screenshot(page, "xss-lobby")
    assert dialogs == []
    raw = requests.get(new_attempt(model, base, external="x2")["ParticipantFacingQMLobbyUrl"], headers=HTML,
                       timeout=30)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw.text and "<script>alert" not in raw.text
    assert "default-src 'self'" in raw.headers["Content-Security-Policy"]


def test_lobby_start_without_the_pages_token_is_refused(delivery: tuple[Any, str]) -> None:
    model, base = delivery
    attempt = new_attempt(model, base)
    browser_like = requests.Session()
    assert browser_like.get(attempt["ParticipantFacingQMLobbyUrl"], headers=HTML, timeout=30).status_code == 200
    start = f"{base}/lobby/{CUSTOMER}/page/Start/1"
    for form in ({}, {"csrf": "0" * 64}):
        refused = browser_like.post(start, data=form, headers=HTML, timeout=30, allow_redirects=False)
        assert refused.status_code == 403 and "This form has expired" in refused.text
    assert model.state("default", CUSTOMER, 1)["attempt"]["ResultID"] is None
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"',
                      browser_like.get(f"{base}/lobby/{CUSTOMER}/page/Lobby/1", headers=HTML, timeout=30).text)
    assert token is not None
    started = browser_like.post(start, data={"csrf": token.group(1)}, headers=HTML, timeout=30,
                                allow_redirects=False)
    assert started.status_code == 303 and started.headers["Location"].endswith("/page/Delivery/1")
    assert model.state("default", CUSTOMER, 1)["attempt"]["ResultID"] is not None


def test_cross_site_form_cannot_drive_the_proctor_widget(delivery: tuple[Any, str], new_page: Any) -> None:
    """Even a page that knows the widget URL (leaked in a log) cannot act: it lacks the page's token."""
    model, base = delivery
    widget = new_attempt(model, base, LockRequired=True)["ProctorFacingQMControlsWidgetUrl"]
    parts = urlsplit(widget)
    action = f"{base}{parts.path.replace('/Index/', '/Unlock/')}?{parts.query}"

    def attacker(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [f'<form id="f" method="post" action="{action}"><input name="csrf" value="guess"></form>'
                '<script>document.getElementById("f").submit()</script>'.encode()]

    page = new_page()
    with served_wsgi(attacker) as evil:
        with page.expect_navigation(url=re.compile(r"/proctorwidget/Unlock/1")) as nav:
            page.goto(evil)
        assert nav.value.status == 403
    assert page.locator("h1").inner_text() == "This form has expired"
    screenshot(page, "error-csrf")
    assert model.state("default", CUSTOMER, 1)["attempt"]["LockStatus"] is True


def _tab_to(page: Any, name: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && (document.activeElement.getAttribute('aria-label') || "
                         "document.activeElement.textContent.trim())") == name:
            return
    raise AssertionError(f"'{name}' cannot be reached with the Tab key")


def test_keyboard_only_proctor_and_lobby_with_labelled_controls(delivery: tuple[Any, str], new_page: Any) -> None:
    model, base = delivery
    attempt = new_attempt(model, base, LockRequired=True)
    candidate, proctor = new_page(), new_page()
    candidate.goto(attempt["ParticipantFacingQMLobbyUrl"])
    proctor.goto(attempt["ProctorFacingQMControlsWidgetUrl"])
    assert candidate.evaluate(UNLABELLED) == []
    assert proctor.evaluate(UNLABELLED) == []

    _tab_to(proctor, "Unlock attempt 1")
    proctor.keyboard.press("Enter")
    proctor.wait_for_url(re.compile(r"/proctorwidget/Index/1\?"))
    candidate.wait_for_selector("#lock[data-locked='false']")
    _tab_to(candidate, "Start the assessment")
    candidate.keyboard.press("Enter")
    candidate.wait_for_url(re.compile(r"/page/Delivery/1$"))
    assert candidate.evaluate(UNLABELLED) == []

    proctor.get_by_label("Minutes to add").focus()  # then keys only
    proctor.keyboard.press("Control+A")
    proctor.keyboard.type("3")
    proctor.keyboard.press("Enter")  # submits the Add time form
    proctor.wait_for_url(re.compile(r"/proctorwidget/Index/1\?"))
    expect(candidate.locator("#extra")).to_have_text("3 min")
    screenshot(proctor, "proctor-keyboard")
