"""Outbound calls to peers: journal entries, tenant propagation, outbound faults (peers stubbed by responses)."""

from __future__ import annotations

import pytest
import requests
import responses

from mocks.core.faults import FaultEngine
from mocks.core.journal import Journal
from mocks.core.outbound import Outbound

URL = "http://thss.example/api/test/submit"


@pytest.fixture
def outbound() -> Outbound:
    return Outbound("tis", Journal(), FaultEngine(3), timeout=2.0)


@responses.activate
def test_call_is_journaled_with_tenant_and_bodies(outbound: Outbound) -> None:
    responses.post(URL, json={"Files": []}, status=200)
    response = outbound.request("POST", URL, tenant="t1", peer="thss", data=b"<xml/>",
                                headers={"Authorization": "Bearer abc"})
    assert response.status_code == 200
    sent = responses.calls[0].request
    assert sent.headers["X-Examrig-Tenant"] == "t1"
    entry = outbound.journal.query(direction="out").entries[0]
    assert (entry.peer, entry.tenant, entry.status, entry.request_body) == ("thss", "t1", 200, "<xml/>")
    assert entry.request_headers["Authorization"] == "<redacted>"
    assert entry.response_body == '{"Files": []}'


@responses.activate
def test_peer_down_fault_raises_without_traffic(outbound: Outbound) -> None:
    outbound.faults.add({"kind": "reset", "direction": "outbound", "peer": "thss"}, tenant="t1")
    with pytest.raises(requests.ConnectionError, match="injected"):
        outbound.request("POST", URL, tenant="t1", peer="thss")
    assert len(responses.calls) == 0
    entry = outbound.journal.query(direction="out").entries[0]
    assert entry.status is None and "injected" in (entry.error or "")
    assert entry.fault == {"applied": [{"rule": "f1", "kind": "reset"}]}


@responses.activate
def test_status_fault_by_url_glob_synthesises_a_response(outbound: Outbound) -> None:
    outbound.faults.add({"kind": "status", "direction": "outbound", "peer": "http://thss.example/*",
                         "status": 500, "body": "boom"}, tenant="t1")
    response = outbound.request("POST", URL, tenant="t1", peer="thss")
    assert response.status_code == 500 and response.text == "boom"
    assert len(responses.calls) == 0


@responses.activate
def test_truncate_and_malformed_alter_the_real_answer(outbound: Outbound) -> None:
    responses.get(URL, body="0123456789")
    outbound.faults.add({"kind": "truncate", "direction": "outbound", "fraction": 0.3, "times": 1}, tenant="t")
    assert outbound.request("GET", URL, tenant="t").content == b"012"
    outbound.faults.add({"kind": "malformed", "direction": "outbound", "times": 1}, tenant="t")
    assert outbound.request("GET", URL, tenant="t").content != b"0123456789"
    assert outbound.request("GET", URL, tenant="t").content == b"0123456789"


@responses.activate
def test_timeouts_and_connection_errors_are_journaled(outbound: Outbound) -> None:
    responses.post(URL, body=requests.Timeout("read timed out"))
    with pytest.raises(requests.Timeout):
        outbound.request("POST", URL, tenant="t")
    assert "timed out" in (outbound.journal.query(direction="out").entries[0].error or "")


@responses.activate
def test_other_tenants_faults_do_not_apply(outbound: Outbound) -> None:
    responses.get(URL, body="ok")
    outbound.faults.add({"kind": "reset", "direction": "outbound"}, tenant="a")
    assert outbound.request("GET", URL, tenant="b").text == "ok"
