"""Browser tests of the pages: Debian's chromium driven by Playwright, the mocks served on loopback port 0."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mocks import registry
from mocks.core.app import Runtime, ServiceApp
from mocks.core.server import Served, bind, start, stop
from mocks.core.settings import Settings
from tests.browser import CHROMIUM, LAUNCH_ARGS, TIMEOUT_MS, expect  # noqa: F401  (imported from here by the tests)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "reports" / "screenshots"
CUSTOMER = "400449"

# every visible form control has a label (a <label for>, a wrapping label or aria-label) and every button a name
UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
  .filter(el => !((el.labels && el.labels.length) || el.getAttribute('aria-label') ||
                  (el.tagName === 'BUTTON' && el.textContent.trim())))
  .map(el => el.outerHTML)"""
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


