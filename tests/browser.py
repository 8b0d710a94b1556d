"""The one headless chromium of a test session (Debian's, driven by Playwright through ``executable_path``; never a
downloaded browser) and its page factory, for every test that needs a browser (tests/pages, the HTML report's test).

A pytest plugin of the root conftest rather than tests/pages' conftest: Playwright's sync API runs one event loop
per thread, so two session fixtures (one per directory that imported it) cannot both be open in one xdist worker:
the second fails with "using Playwright Sync API inside the asyncio loop"."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("EXAMRIG_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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
