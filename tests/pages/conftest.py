"""Browser tests of the pages: Debian's chromium driven by Playwright, the mocks served on loopback port 0."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.core.server import Served, bind, start, stop
from mocks.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "reports" / "screenshots"
CHROMIUM = os.environ.get("EXAMRIG_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CUSTOMER = "400449"

# every visible form control has a label (a <label for>, a wrapping label or aria-label) and every button a name
UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
  .filter(el => !((el.labels && el.labels.length) || el.getAttribute('aria-label') ||
                  (el.tagName === 'BUTTON' && el.textContent.trim())))
  .map(el => el.outerHTML)"""
# generous: two cores shared by many processes
TIMEOUT_MS = 30_000


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"chromium not found at {CHROMIUM} (apt-get install -y chromium; scripts/test installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session (never a downloaded browser)."""
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """A factory of pages, each in its own browser context (its own cookies): a candidate, a proctor..."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1000, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


def expect(locator: Any) -> Any:
    """Playwright's retrying assertion with this suite's timeout (string predicates of ``wait_for_function`` need
    eval, which the pages' CSP forbids). Imported late: without the package the tests skip, not fail to collect."""
    from playwright.sync_api import expect as pw_expect
    pw_expect.set_options(timeout=TIMEOUT_MS)
    return pw_expect(locator)


def screenshot(page: Any, name: str) -> Path:
    """Save the page under reports/screenshots/ (gitignored) for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def serve(service: str, options: dict[str, Any] | None = None, runtime: Runtime | None = None) \
        -> Iterator[tuple[ServiceApp, Served]]:
    """One mock on loopback port 0 in this process (its model reachable for setting up state)."""
    own = runtime is None
    rt = runtime or Runtime.create(Settings(seed=7, services={service: options or {}}), db="sqlite://")
    app = registry.available()[service].cls(rt)
    served = bind(service, app, "127.0.0.1", 0)
    start(served)
    try:
        yield app, served
    finally:
        stop(served)
        if own:
            rt.store.dispose()


@pytest.fixture
def delivery_app() -> Iterator[tuple[ServiceApp, str]]:
    """deliveryodata served, seeded with a participant whose name is markup and a timed assessment (the app, for
    tests that change its options while it serves: the pages read them per request)."""
    with serve("deliveryodata") as (app, served):
        model = app.model  # type: ignore[attr-defined]
        model.seed("default", CUSTOMER, "participants",
                   [{"ID": 987654321, "Name": "<script>alert(1)</script>", "FirstName": "Ada"}])
        model.seed("default", CUSTOMER, "assessments",
                   [{"ID": "1234567890876543", "Name": "Maths 101", "Language": "en-US", "IsSecure": False,
                     "TimeLimit": 30}])
        yield app, served.url


@pytest.fixture
def delivery(delivery_app: tuple[ServiceApp, str]) -> tuple[Any, str]:
    """The served deliveryodata's model and base URL."""
    app, url = delivery_app
    return app.model, url  # type: ignore[attr-defined]


def new_attempt(model: Any, base: str, external: str = "ext-1", **extra: Any) -> dict[str, Any]:
    """An attempt created through the model, with freshly signed lobby and proctor URLs for ``base``."""
    att = model.create_attempt("default", CUSTOMER, {"ExternalAttemptID": external, "ParticipantID": 987654321,
                                                     "AssessmentID": "1234567890876543",
                                                     "ParticipantSystemCheckUrl": "about:blank", **extra})
    return dict(model.attempt_with_urls("default", CUSTOMER, att["ID"], base))


