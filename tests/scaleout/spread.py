"""pytest plugin for the corpus against ``--processes N`` mocks: every request on a new connection.

The rig's session keeps connections alive, and a kept-alive connection stays with the process that accepted
it; with ``Connection: close`` each request opens a new one, which the kernel gives to either process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Iterator[None]:
    outcome = yield
    if fixturedef.argname == "rig":
        outcome.get_result().session.headers["Connection"] = "close"
