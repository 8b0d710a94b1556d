"""The proctor widget as a proctoring system uses it: its audit log live, and inside another origin's iframe."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mocks import registry
from mocks.core import pages
from mocks.core.app import Runtime
from mocks.core.errors import InputError
from mocks.core.settings import Settings
from tests.conformance.check_helpers import served_wsgi
from tests.pages.conftest import CUSTOMER, expect, new_attempt, screenshot


def test_the_audit_log_shows_another_proctors_action_without_a_reload(delivery: tuple[Any, str],
                                                                        new_page: Any) -> None:
    model, base = delivery
    widget = new_attempt(model, base, LockRequired=True)["ProctorFacingQMControlsWidgetUrl"]
    watcher, actor = new_page(), new_page()
    watcher.goto(widget)
    rows = watcher.locator("#attempt-1 table.audit tbody tr")
    expect(rows).to_have_count(1)  # AttemptCreated
    watcher.evaluate("() => { window.examrigNotReloaded = true; }")  # gone if the page were loaded again

    actor.goto(widget)  # the same reusable widget URL, in another browser (a second proctor, or the API)
    actor.get_by_role("button", name="Unlock attempt 1").click()
    actor.wait_for_url(re.compile(r"/proctorwidget/Index/1\?"))
    model.proctor("default", CUSTOMER, 1, _presented(widget), "Lock")  # and one straight through the model

    expect(rows).to_have_count(3)
    assert [rows.nth(i).locator("td").nth(2).inner_text() for i in range(3)] == \
        ["AttemptCreated", "Unlocked", "Locked"]
    assert rows.nth(1).locator("td").nth(3).inner_text() == "proctor"
    expect(watcher.locator("#attempt-1 .lock")).to_have_text("Locked")
    assert watcher.evaluate("() => window.examrigNotReloaded === true")
    screenshot(watcher, "proctor-widget-audit-live")


def _presented(url: str) -> Any:
    from mocks.deliveryodata import signing
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    return signing.Presented(query["nonce"], query["timestamp"], query["role"], query["signature"])


def test_the_widget_works_in_an_allowed_origins_iframe_and_is_refused_by_default(
        delivery_app: tuple[Any, str], new_page: Any) -> None:
    app, base = delivery_app
    model = app.model
    widget = new_attempt(model, base, LockRequired=True)["ProctorFacingQMControlsWidgetUrl"]

    def proctoring_system(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        # the proctoring system's own page (another origin: another loopback port) embedding the widget
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [f'<!doctype html><title>Proctoring system</title><h1>Proctoring system</h1>'
                f'<iframe id="widget" title="Questionmark proctor controls" src="{widget}" width="900" height="700">'
                '</iframe>'.encode()]

    with served_wsgi(proctoring_system) as origin:
        assert origin.split(":")[-1] != base.split(":")[-1]
        page = new_page()
        refusals: list[str] = []
        page.on("console", lambda m: refusals.append(m.text) if "frame-ancestors" in m.text else None)

        # the default: no page may frame the widget; the browser refuses to render it
        page.goto(origin)
        frame = page.frame_locator("#widget")
        expect(frame.locator("body")).to_have_count(1)
        assert frame.locator("section.attempt").count() == 0
        assert page.frames[1].url != widget  # chromium's error page stands in for the refused document
        screenshot(page, "widget-frame-refused")

        # the proctoring system's origin allowed: the widget renders inside the frame and its buttons work there
        app.options["proctor_frame_ancestors"] = origin
        page.reload()
        expect(frame.locator("#attempt-1 .lock")).to_have_text("Locked")
        frame.get_by_role("button", name="Unlock attempt 1").click()
        expect(frame.locator("#attempt-1 .lock")).to_have_text("Unlocked")
        expect(frame.locator("#attempt-1 table.audit tbody tr").last).to_contain_text("Unlocked")
        screenshot(page, "widget-frame-allowed")
    assert model.state("default", CUSTOMER, 1)["attempt"]["LockStatus"] is False
    assert any("frame-ancestors 'none'" in text for text in refusals), refusals


@pytest.mark.parametrize(("value", "sources"), [
    (None, "'none'"), ("", "'none'"), ([], "'none'"), ("https://proctoring.example", "https://proctoring.example"),
    ("https://a.example  'self'", "https://a.example 'self'"),
    (["https://a.example", "'self'"], "https://a.example 'self'"),
])
def test_frame_ancestors_sources_from_the_option(value: object, sources: str) -> None:
    assert pages.frame_ancestors(value, "proctor_frame_ancestors") == sources


@pytest.mark.parametrize("value", ["https://a.example; script-src *", ["https://a.example,https://b"], [1],
                                   ["https://a.example\n"], {"origin": "https://a.example"}])
def test_a_source_that_could_add_directives_is_refused_at_start(value: object) -> None:
    with pytest.raises(InputError) as refused:
        pages.frame_ancestors(value, "proctor_frame_ancestors")
    assert refused.value.field == "proctor_frame_ancestors"
    runtime = Runtime.create(Settings(seed=7, services={"deliveryodata": {"proctor_frame_ancestors": value}}),
                             db="sqlite://")
    with pytest.raises(InputError):
        registry.available()["deliveryodata"].cls(runtime)
    runtime.store.dispose()
