"""``GET /_examrig/client-check?since=N``: the verdicts so far for the request's tenant, from the injected rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from werkzeug.test import Client

from conformance.client_check import install_live
from mocks.core import client_check_route
from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.proctoru.models import DEFAULT_TOKEN
from mocks.proctoru.service import Service

REQUIREMENTS = ("PUC-AUTH-001", "PUC-TIME-002")


@pytest.fixture
def client() -> Iterator[Client]:
    app = Service(Runtime.create(Settings(seed=1), db="sqlite://"))
    try:
        yield Client(app)
    finally:
        app.stop()


def _call(client: Client, tenant: str, *, token: bool = True, minutes_ago: int = 0) -> None:
    sent = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)).replace(tzinfo=None).isoformat()
    headers = {"X-Examrig-Tenant": tenant, "Content-Type": "application/x-www-form-urlencoded"}
    if token:
        headers["Authorization-Token"] = DEFAULT_TOKEN
    client.post("/api/getTimeZoneList", data=urlencode({"time_sent": sent}), headers=headers)


def _verdicts(client: Client, tenant: str, since: int | None = None) -> dict[str, str]:
    query = f"?since={since}" if since is not None else ""
    resp = client.get(f"/_examrig/client-check{query}", headers={"X-Examrig-Tenant": tenant})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["service"] == "proctoru" and body["tenant"] == tenant
    return {r["id"]: r["verdict"] for r in body["requirements"]}


def test_the_route_judges_the_tenant_window_so_far(client: Client) -> None:
    install_live()
    _call(client, "good")
    _call(client, "bad", token=False)
    _call(client, "bad", minutes_ago=10)
    good, bad = _verdicts(client, "good"), _verdicts(client, "bad")
    assert good["PUC-AUTH-001"] == "pass" and good["PUC-TIME-002"] == "pass"
    assert bad["PUC-AUTH-001"] == "fail" and bad["PUC-TIME-002"] == "fail"
    # a window after the bad calls has no exchange of that tenant: nothing to judge
    later = client.get("/_examrig/journal?tenant=*").get_json()["next_seq"]
    assert set(_verdicts(client, "bad", since=later).values()) == {"not-exercised"}


def test_without_installed_rules_the_route_says_so(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_check_route, "_evaluator", [])
    resp = client.get("/_examrig/client-check")
    assert resp.status_code == 501 and "not installed" in resp.get_data(as_text=True)
    assert client.get("/_examrig/client-check?since=x").status_code == 400
