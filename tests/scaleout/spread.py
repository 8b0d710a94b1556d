"""pytest plugin for the corpus against examrig's own mocks served by ``examrig serve --processes N``.

Every request goes on a new connection: the rig's session keeps connections alive, and a kept-alive connection
stays with the process that accepted it; with ``Connection: close`` each request opens a new one, which the
kernel gives to either process.

With ``--examrig-served-db URL`` (the served mocks' database), the ``--examrig-target`` services are also known
to be examrig's own mocks rather than an integrator's: each gets a stand-in in ``rig.apps``, so the rig checks
them as mocks (the whole admin door over HTTP: journal, faults, ``run``, ``score``; every response against the
mock's OpenAPI document) instead of through the state hook alone. The stand-in for tis drives TIS's processing
service as ``examrig worker tis`` does, in this process on the served database, one synchronous pass per
"the TIS processing service runs" step (serve tis with ``--option tis.worker=false`` so that nothing else
processes behind the scenario's back).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from conformance.targets import TENANT_HEADER, Rig

SERVED_DB = "--examrig-served-db"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("examrig").addoption(
        SERVED_DB, default=None, metavar="URL",
        help="the --examrig-target services are examrig's mocks served on this database (tests/scaleout/spread.py)")


class _Faults:
    """``app.faults.rules(tenant)`` of a served mock: its ``GET /_examrig/faults``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()  # not the rig's: its response hooks check what the rig receives
        self.session.headers["Connection"] = "close"

    def rules(self, tenant: str | None = None) -> list[dict[str, Any]]:
        response = self.session.get(self.url + "/_examrig/faults", headers={TENANT_HEADER: tenant or "default"},
                                    timeout=60)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()["faults"]
        return found


class ServedMock:
    """One of examrig's mocks served elsewhere, standing in ``rig.apps``: what the corpus asks of an app there."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.faults = _Faults(url)

    def stop(self) -> None:
        self.faults.session.close()


class ServedTis(ServedMock):
    """The served tis, and TIS's processing service on its database (``mocks.tis.service.run_worker``'s)."""

    def __init__(self, name: str, url: str, db: str, topology: dict[str, str]) -> None:
        super().__init__(name, url)
        from mocks.core.app import Runtime
        from mocks.core.settings import Settings
        from mocks.tis.service import Service

        settings = Settings(seed=1234, db=db, shared_control=True, topology=dict(topology))
        self.runtime = Runtime.create(settings)
        self.service = Service(self.runtime, {"worker": False})

    def process_pending(self, tenant: str | None = None, limit: int | None = None) -> int:
        return self.service.process_pending(tenant, limit)

    def stop(self) -> None:
        super().stop()
        self.service.stop()
        self.runtime.control.close()
        self.runtime.store.dispose()


def served(rig: Rig, db: str) -> None:
    """Give every target of ``rig`` its stand-in: they are examrig's mocks, served on ``db``."""
    for name, url in rig.targets.items():
        if name == "tis":
            rig.apps[name] = ServedTis(name, url, db, rig.urls)  # type: ignore[assignment]
        else:
            rig.apps[name] = ServedMock(name, url)  # type: ignore[assignment]


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Iterator[Any]:
    result = yield
    if fixturedef.argname == "rig" and isinstance(result, Rig):
        result.session.headers["Connection"] = "close"
        db = request.config.getoption(SERVED_DB)
        if db:
            served(result, db)
    return result
