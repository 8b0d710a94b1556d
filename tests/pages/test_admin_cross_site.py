"""The admin door refuses a browser's state-changing request from another site or origin; curl-like clients and the
console keep working (mocks/core/admin.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from tests.conformance.check_helpers import served_wsgi
from tests.pages.conftest import CUSTOMER, new_attempt, screenshot

FUTURE = "2030-01-01T00:00:00Z"


def _clock(base: str) -> str:
    now: str = requests.get(f"{base}/_examrig/clock", timeout=30).json()["now"]
    return now


def test_another_origins_page_cannot_reset_or_set_the_clock(delivery: tuple[Any, str], new_page: Any) -> None:
    model, base = delivery
    new_attempt(model, base)  # the state a reset would wipe
    before = _clock(base)
    # the classic forms of the attack: a text/plain form whose body is JSON, and a no-cors fetch (neither needs
    # a CORS preflight, so the browser sends both)
    body_name = json.dumps({"all": True, "pad": ""})[:-2]  # '{"all": true, "pad": "' + '=' + '"}'

    def attacker(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [f'''<!doctype html><title>Free prizes</title>
<form id="f" method="post" enctype="text/plain" action="{base}/_examrig/reset">
<input type="hidden" name='{body_name}' value='"}}'></form>
<script>
fetch("{base}/_examrig/clock", {{method: "POST", mode: "no-cors", body: JSON.stringify({{set: "{FUTURE}"}})}})
  .catch(function () {{}})
  .then(function () {{ document.title = "fetched"; document.getElementById("f").submit(); }});
</script>'''.encode()]

    page = new_page()
    with served_wsgi(attacker) as evil:
        with page.expect_navigation(url=re.compile(r"/_examrig/reset$")) as nav:
            page.goto(evil)
        answer = nav.value
        assert answer.status == 403
        error = json.loads(page.locator("body").inner_text())["error"]
        assert (error["code"], error["field"]) == ("cross_site_refused", "Origin")
        assert evil in error["message"]
        screenshot(page, "admin-cross-site-refused")
    assert model.state("default", CUSTOMER, 1) is not None  # not reset
    assert _clock(base)[:4] == before[:4] != "2030"  # the no-cors fetch did not set it


@pytest.mark.parametrize(("headers", "field"), [
    ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site"),
    ({"Sec-Fetch-Site": "Cross-Site", "Origin": "{base}"}, "Sec-Fetch-Site"),
    ({"Origin": "http://evil.example"}, "Origin"),
    ({"Origin": "null"}, "Origin"),  # a sandboxed frame or a file:// page
    ({"Origin": "{other_port}"}, "Origin"),  # same host, another port: another origin
    ({"Sec-Fetch-Site": "same-site", "Origin": "{other_port}"}, "Origin"),
])
def test_plain_requests_with_a_foreign_site_or_origin_are_refused(delivery: tuple[Any, str],
                                                                  headers: dict[str, str], field: str) -> None:
    _model, base = delivery
    port = int(base.rsplit(":", 1)[1])
    sent = {k: v.format(base=base, other_port=f"http://127.0.0.1:{port + 1}") for k, v in headers.items()}
    requests.post(f"{base}/_examrig/faults", json={"kind": "status", "path": "/x", "status": 503}, timeout=30)
    for method, op, body in (("POST", "clock", {"set": FUTURE}), ("POST", "reset", {}),
                             ("DELETE", "faults", None), ("POST", "seed", {"participants": []})):
        refused = requests.request(method, f"{base}/_examrig/{op}", json=body, headers=sent, timeout=30)
        assert refused.status_code == 403, (op, refused.text)
        error = refused.json()["error"]
        assert (error["code"], error["field"]) == ("cross_site_refused", field), error
    assert not _clock(base).startswith("2030")
    assert len(requests.get(f"{base}/_examrig/faults", timeout=30).json()["faults"]) == 1  # not deleted
    # reading is not a state change: a GET with the same headers answers (the browser keeps the answer from
    # the other site's page anyway)
    assert requests.get(f"{base}/_examrig/health", headers=sent, timeout=30).status_code == 200


@pytest.mark.parametrize("headers", [
    {},  # curl, requests, the corpus: neither header
    {"Sec-Fetch-Site": "same-origin", "Origin": "{base}"},  # the console's own fetch
    {"Sec-Fetch-Site": "none"},  # typed into the address bar
    {"Origin": "{base_default_port}"},
])
def test_clients_without_a_foreign_origin_change_state_as_before(delivery: tuple[Any, str],
                                                                 headers: dict[str, str]) -> None:
    _model, base = delivery
    sent = {k: v.format(base=base, base_default_port="http://127.0.0.1") for k, v in headers.items()}
    host = {"Host": "127.0.0.1"} if "base_default_port" in str(headers) else {}  # as behind a proxy on port 80
    answer = requests.post(f"{base}/_examrig/clock", json={"set": FUTURE}, headers={**sent, **host}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert _clock(base).startswith("2030")
