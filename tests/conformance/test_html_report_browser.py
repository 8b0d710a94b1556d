"""The HTML report in a real browser: its script renders the exchanges of the evidence when a scenario is opened
(they are a JSON data block, not markup, so a big report opens fast), as text, and the filters count rows.

Debian's chromium driven by Playwright, as tests/pages does (skipped with the reason where it is missing, failed
under CI=true).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.reports import html_report
from conformance.verdicts import Exchange, ReqInfo, Run, ScenarioResult, aggregate
from tests.browser import expect

MUST = ReqInfo("X-B-001", "x", "MUST", title="the first rule")
OTHER = ReqInfo("X-B-002", "y", "MUST", title="the second rule")


def test_opening_a_failed_scenario_renders_its_exchanges_as_text(tmp_path: Path, new_page: Any) -> None:
    bad = ScenarioResult(id="s1", name="a failing scenario", service="x", requirements=[MUST.id], outcome="failed",
                         message="expected 400, got 200", failed_step="Then the response status is 400")
    bad.exchanges = [Exchange(method="POST", url="http://target/x", status=200, request_body='{"a": 1}',
                              response_body="<b id='injected'>bold</b>", curl="curl -X POST http://target/x"),
                     Exchange(method="GET", url="http://target/y", error="ConnectionResetError", curl="curl http://target/y")]
    good = ScenarioResult(id="s2", name="a passing scenario", service="y", requirements=[OTHER.id], outcome="passed")
    run = Run(started="2026-12-02T04:00:00+00:00", seed=3, scenarios=[bad, good])
    aggregate(run, {r.id: r for r in (MUST, OTHER)}, {})
    page = new_page()
    page.goto(html_report.write(run, tmp_path).as_uri(), wait_until="load")
    expect(page.locator("#f-count")).to_have_text("2 of 2 requirements")
    expect(page.locator("#matrix")).to_be_visible()  # hidden while parsed, shown by the script
    box = page.locator("#matrix tbody tr").first.locator("details.ev")
    expect(box.locator(":scope > pre")).to_have_count(0)  # nothing rendered before it is opened
    box.locator("summary").first.click()
    expect(box.locator(":scope > div").first).to_have_text("step: Then the response status is 400")
    expect(box.locator(":scope > pre")).to_have_text("expected 400, got 200")
    expect(box.locator(":scope > div.muted")).to_have_text("seed 3; scenario s1")
    expect(box.locator(":scope > details")).to_have_count(2)
    first, second = box.locator(":scope > details").nth(0), box.locator(":scope > details").nth(1)
    expect(first.locator("summary")).to_have_text("POST http://target/x \u2192 200")
    expect(second.locator("summary")).to_have_text("GET http://target/y \u2192 ConnectionResetError")
    first.locator("summary").click()
    expect(first.locator("pre")).to_have_text(['{"a": 1}', "<b id='injected'>bold</b>", "curl -X POST http://target/x"])
    assert page.locator("#injected").count() == 0, "a target's answer became markup"
    page.select_option("#f-service", "y")
    expect(page.locator("#f-count")).to_have_text("1 of 2 requirements")
