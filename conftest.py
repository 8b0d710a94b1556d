"""Root pytest configuration: keeps loadtests/ out of collection and locates ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

collect_ignore = ["loadtests", "bench", "reports"]

# step definitions for the Gherkin scenarios, one module per domain noun (features/steps/)
pytest_plugins = [
    f"features.steps.{path.stem}"
    for path in sorted((Path(__file__).resolve().parent / "features" / "steps").glob("*.py"))
    if not path.stem.startswith("_")
]
# the per-file counts of the documented shell blocks (tests/docs) at the end of a run
pytest_plugins.append("tests.docs.summary")
# the session's one browser for the tests that need one (tests/browser.py says why it is not a directory's conftest)
pytest_plugins.append("tests.browser")

ROOT = Path(__file__).resolve().parent


def shared_data_dir() -> Path:
    """Where the third-party interoperability data lives (``../shared/data`` beside the repo)."""
    override = os.environ.get("EXAMRIG_SHARED_DATA")
    return Path(override) if override else ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The third-party data directory; missing data fails under CI and skips elsewhere."""
    path = shared_data_dir()
    if not (path / "MANIFEST.md").is_file():
        reason = f"third-party data not found at {path} (set EXAMRIG_SHARED_DATA or check out ../shared)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path
