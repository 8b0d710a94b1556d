"""The rig console: the journal live, an exchange opened, copy-as-curl, a fault added from the form, the clock."""

from __future__ import annotations

from typing import Any

import requests

from mocks.core.app import Runtime
from mocks.core.settings import Settings
from tests.pages.conftest import UNLABELLED, expect, screenshot, serve

PATH = "/deliveryodata/400449/$metadata"


def test_console_shows_requests_and_applies_a_fault_from_its_form(new_page: Any) -> None:
    runtime = Runtime.create(Settings(seed=7), db="sqlite://")
    with serve("deliveryodata", runtime=runtime) as (_app, served), serve("tis", runtime=runtime) as (_tis, tis):
        runtime.topology.update({"deliveryodata": served.url, "tis": tis.url})
        page = new_page()
        page.goto(f"{served.url}/_examrig/ui")
        assert page.evaluate(UNLABELLED) == []
        assert page.get_by_role("link", name="tis").get_attribute("href") == f"{tis.url}/_examrig/ui"
        page.wait_for_selector("#health:has-text('ok')")

        made = requests.get(served.url + PATH, auth=("examrig", "examrig"), timeout=30)
        assert made.status_code == 200
        row = page.locator("#journal tbody tr", has_text=PATH).first
        row.wait_for()
        row.get_by_role("button").click()
        assert page.locator("#exchange-request").inner_text().startswith(f"GET {served.url}{PATH}")
        assert "<edmx:Edmx" in page.locator("#exchange-response").inner_text()
        assert page.locator("#curl").input_value().startswith(f"curl -X GET '{served.url}{PATH}'")
        screenshot(page, "console-exchange")

        page.get_by_label("Fault kind").select_option("status")
        page.get_by_label("Fault path (glob)").fill(PATH)
        page.get_by_label("Answer with status").fill("503")
        page.get_by_label("Times").fill("1")
        page.get_by_role("button", name="Add rule").click()
        page.locator("#faults tbody tr").first.wait_for()
        faulted = requests.get(served.url + PATH, auth=("examrig", "examrig"), timeout=30)
        assert faulted.status_code == 503
        assert requests.get(served.url + PATH, auth=("examrig", "examrig"), timeout=30).status_code == 200
        page.locator("#journal tbody tr", has_text="503").first.wait_for()
        screenshot(page, "console-fault")

        page.get_by_label("Set to (ISO 8601)").fill("2026-03-02T09:00:00Z")
        page.get_by_role("button", name="Set", exact=True).click()
        page.wait_for_selector("#clock:has-text('2026-03-02T09:00:00')")
        page.get_by_role("button", name="Advance").click()
        page.wait_for_selector("#clock:has-text('2026-03-02T09:01:00')")
        rule = page.locator("#faults tbody tr").first.get_attribute("data-fault")
        page.get_by_role("button", name=f"Delete fault rule {rule}").click()
        expect(page.locator("#faults tbody tr")).to_have_count(0)
    runtime.store.dispose()


def test_console_is_off_with_the_setting() -> None:
    runtime = Runtime.create(Settings(seed=7, console=False), db="sqlite://")
    with serve("deliveryodata", runtime=runtime) as (_app, served):
        assert requests.get(f"{served.url}/_examrig/ui", timeout=30).status_code == 404
        assert requests.get(f"{served.url}/_examrig/health", timeout=30).status_code == 200
    runtime.store.dispose()
