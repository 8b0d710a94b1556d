"""DOC-PAGE-001 on full pages: the journal keeps a page's odata.nextLink past its body limit
(``mocks.core.journal.body_digest``), so a client paging 250 participants is judged, not ``error``.

The real deliveryodata mock (in process) serves 100 entities a page; each full page is past the journal's
4 KiB limit, its nextLink at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.client import evaluate
from conformance.client.engine import kept_next_link
from conformance.targets import Rig
from features.steps.deliveryodata import AUTH, CUSTOMER
from mocks.core.journal import BODY_LIMIT, Entry, body_digest

PATH = f"/deliveryodata/{CUSTOMER}/Participants"


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    rig = Rig(mode="inprocess")
    people = [{"ID": 1000 + n, "Name": f"p{n:03d}", "FirstName": f"First{n}", "LastName": f"Last{n}",
               "Details1": "x" * 20, "Details2": "dept"} for n in range(250)]
    for tenant in ("all", "first"):
        r = rig.admin("deliveryodata", "POST", "seed", tenant=tenant, json={"participants": people})
        assert r.status_code == 201, r.text
    try:
        yield rig
    finally:
        rig.close()


def page_through(rig: Rig, tenant: str, *, follow: bool) -> list[Entry]:
    """GET the collection, then each odata.nextLink (or stop after the first page); the window's entries."""
    app = rig.apps["deliveryodata"]
    since = app.journal.next_seq
    r = rig.request("deliveryodata", "GET", PATH, tenant=tenant, headers=AUTH)
    seen = len(r.json()["value"])
    while follow and "odata.nextLink" in r.json():
        r = rig.session.get(r.json()["odata.nextLink"], headers={**AUTH, "X-Examrig-Tenant": tenant}, timeout=60)
        assert r.status_code == 200, r.text
        seen += len(r.json()["value"])
    assert seen == (250 if follow else 100)
    return app.journal.query(since=since).entries


def verdict(entries: list[Entry]) -> tuple[str, str]:
    page = next(s for s in evaluate(entries, ["deliveryodata"]) if s.requirements == ["DOC-PAGE-001"])
    return page.outcome, page.message


def test_a_client_paging_250_participants_passes(rig: Rig) -> None:
    entries = page_through(rig, "all", follow=True)
    full = [e for e in entries if e.response_size > BODY_LIMIT]
    assert len(full) >= 2, [e.response_size for e in entries]  # the full pages are past the limit
    assert all(kept_next_link(e) for e in full[:2])
    assert verdict(entries) == ("passed", "")


def test_a_client_that_stops_at_the_first_page_fails(rig: Rig) -> None:
    outcome, message = verdict(page_through(rig, "first", follow=False))
    assert outcome == "failed" and "nextLink" in message


def test_only_a_body_ending_with_a_next_link_keeps_its_end() -> None:
    link = b',"odata.nextLink":"http://h/deliveryodata/1/Participants?$skip=100"}'
    page = b'{"value":[' + b",".join(b'{"ID":%d}' % n for n in range(2000)) + b"]" + link
    text, _, size = body_digest(page)
    assert size == len(page) and len(text.encode()) <= BODY_LIMIT and text.endswith(link[1:].decode())
    other = b'{"value":[' + b"1," * 5000 + b"1]}"
    assert body_digest(other)[0] == other[:BODY_LIMIT].decode()
