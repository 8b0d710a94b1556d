"""Outbound OAuth: a cached token refused with 401/403 is evicted, a fresh one fetched, the call retried once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.generate import generate_testpackage, generate_trt
from mocks.tis.processing import MSG_FAIL_UPDATE
from tests.tis.conftest import DW, THSS, Harness

OPENAM = "http://openam.standin/auth/oauth2/access_token"
PKG = generate_testpackage(51, items=6, hand_scored=False)


@pytest.mark.parametrize("refusal", [401, 403])
def test_cached_token_refused_is_refreshed_once(harness: Harness, refusal: int) -> None:
    tokens: list[str] = []
    auth_headers: list[str] = []
    answers: list[int] = []

    def openam(request: Any) -> tuple[int, dict[str, str], str]:
        tokens.append(f"00000000-0000-4000-8000-{len(tokens) + 1:012d}")
        return 200, {}, json.dumps({"access_token": tokens[-1], "token_type": "Bearer", "expires_in": 3600})

    def dw(request: Any) -> tuple[int, dict[str, str], str]:
        auth_headers.append(request.headers.get("Authorization", ""))
        status = answers.pop(0) if answers else 202
        return status, {}, json.dumps({"status": "ACCEPTED"})

    harness.mock.add_callback("POST", OPENAM, callback=openam)
    harness.mock.remove(harness.mock.POST, DW)  # replace the conftest stand-in
    harness.mock.add_callback("POST", DW, callback=dw)
    harness.tis.model.set_config(harness.tenant, {"dw_urls": [DW], "thss_url": THSS, "outbound_auth": {
        "url": "http://openam.standin/", "username": "dw-loader@example.org", "password": "password",
        "client_id": "examrig", "client_secret": "examrig-secret"}})
    assert harness.load_package(PKG).status_code == 201
    first, second, third = (generate_trt(60 + i, package=PKG) for i in range(3))
    for trt in (first, second, third):
        harness.submitted(trt)
    harness.post_trt(first)
    harness.tis.process_pending(harness.tenant)
    assert len(tokens) == 1 and auth_headers == [f"Bearer {tokens[0]}"]
    # the cached token is refused once: evicted, a new one fetched, the post retried and taken
    answers.append(refusal)
    harness.post_trt(second)
    harness.tis.process_pending(harness.tenant)
    assert len(tokens) == 2
    assert auth_headers[1:] == [f"Bearer {tokens[0]}", f"Bearer {tokens[1]}"]
    assert harness.acks()[-1]["success"] is True
    # refused again after the refresh: only one retry, then the pass fails (FailUpdate)
    answers.extend([refusal, refusal])
    harness.post_trt(third)
    harness.tis.process_pending(harness.tenant)
    assert len(tokens) == 3 and len(auth_headers) == 5
    assert harness.acks()[-1] == {"oppKey": harness.acks()[-1]["oppKey"], "success": False, "error": MSG_FAIL_UPDATE,
                                  "trt": None}
