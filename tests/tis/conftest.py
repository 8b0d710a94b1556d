"""A TIS and a TDS in process, with responses-backed THSS and DW stand-ins."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import responses
from sqlalchemy import select

from mocks.core.app import Runtime
from mocks.core.inprocess import WSGIAdapter, inprocess_url
from mocks.core.server import Served, bind, start, stop
from mocks.core.settings import Settings
from mocks.dw.service import Service as DwService
from mocks.openam.service import Service as OpenamService
from mocks.tds.service import Service as TdsService
from mocks.tis.service import Service as TisService
from tests.dbs import store_url

DW = "http://dw.standin/exams/imports"
THSS = "http://thss.standin/api/test/submit"
TENANT = "t1"
_COUNTER = iter(range(1, 1_000_000))


@dataclass
class Harness:
    """TIS + TDS in process; ``posts`` records what the stand-ins received."""

    tis: TisService
    tds: TdsService
    session: requests.Session
    mock: responses.RequestsMock
    tenant: str = TENANT
    dw_status: int = 202
    thss_uploads: list[bytes] = field(default_factory=list)
    dw_posts: list[bytes] = field(default_factory=list)

    def post_trt(self, trt: bytes, *, tenant: str | None = None, callback: str | None = None,
                 **params: str) -> requests.Response:
        tenant = tenant or self.tenant
        query = {"statusCallback": callback or inprocess_url("tds") + "/student/TIS/API/tisReply", **params}
        return self.session.post(inprocess_url("tis") + "/api/testresult", params=query, data=trt,
                                 headers={"X-Examrig-Tenant": tenant, "Content-Type": "application/xml"})

    def load_package(self, pkg: bytes, tenant: str | None = None) -> requests.Response:
        tenant = tenant or self.tenant
        return self.session.post(inprocess_url("tis") + "/api/testpackage", data=pkg,
                                 headers={"X-Examrig-Tenant": tenant})

    def submitted(self, trt: bytes, tenant: str | None = None) -> str:
        """Register the TRT's opportunity as submitted at TDS; returns its key."""
        tenant = tenant or self.tenant
        key = opp_key(trt)
        self.tds.model.seed(tenant, [{"oppKey": key, "status": "submitted"}])
        return key

    def score_all(self, upload: bytes, points: int = 1) -> None:
        """Play THSS: post an ItemScoreResponse for every unscored hand item of an upload."""
        callback = re.search(rb'callbackUrl="([^"]+)"', upload)
        assert callback is not None
        key = opp_key(upload)
        for m in re.finditer(rb'<Item [^>]*bankKey="(\d+)" key="(\d+)"[^>]*format="(ER|SA|WER)"[^>]*'
                             rb'scoreStatus="NOTSCORED"', upload):
            read = (f'<SubScoreList><ScoreInfo scorePoint="{points}" scoreDimension="Initial" scoreStatus="Scored">'
                    '<ScoreRationale><Message>{"scorerID":"t1"}</Message></ScoreRationale></ScoreInfo></SubScoreList>')
            if m.group(3) == b"WER":  # THSS sends the three WER dimensions; TIS resolves D and C
                dims = "".join(f'<ScoreInfo scorePoint="{points}" scoreDimension="{d}" scoreStatus="Scored">{read}'
                               "</ScoreInfo>" for d in ("Organization/Purpose", "Evidence/Elaboration", "Conventions"))
                inner, total = f"<SubScoreList>{dims}</SubScoreList>", 3 * points
            else:
                inner, total = read, points
            body = (f'<ItemScoreResponse><Score><ScoreInfo scorePoint="{total}" scoreDimension="Overall" '
                    f'scoreStatus="Scored">{inner}</ScoreInfo><ContextToken><![CDATA['
                    + json.dumps({"clientName": "SBAC", "oppKey": key, "itemBank": int(m.group(1)),
                                  "itemID": int(m.group(2)), "itemType": m.group(3).decode()})
                    + "]]></ContextToken></Score></ItemScoreResponse>")
            r = self.session.post(callback.group(1).decode(), data=body.encode(),
                                  headers={"Content-Type": "application/x-www-form-urlencoded",
                                           "X-Examrig-Tenant": self.tenant})
            assert r.status_code == 200

    def acks(self) -> list[dict[str, Any]]:
        """Every acknowledgement TIS sent (from its outbox: the journal truncates long bodies)."""
        o = self.tis.model.outbox
        with self.tis.store.read() as conn:
            bodies = conn.execute(select(o.c.body).where(o.c.tenant == self.tenant, o.c.kind == "ack",
                                                         o.c.state.in_(("sent", "failed"))).order_by(o.c.id)).scalars()
            return [json.loads(b) for b in bodies]


@contextmanager
def served_peers() -> Iterator[dict[str, Served]]:
    """tds, dw and openam served over HTTP from this process (one runtime, wired to each other): TIS's peers
    for the tests that run TIS in other processes (tests/tis/test_crash.py, tests/races/test_processes.py)."""
    runtime = Runtime.create(Settings(seed=3), db="sqlite://")
    served = {name: bind(name, cls(runtime), "127.0.0.1", 0)
              for name, cls in (("tds", TdsService), ("dw", DwService), ("openam", OpenamService))}
    try:
        for s in served.values():
            runtime.topology[s.name] = s.url
            start(s)
        yield served
    finally:
        for s in served.values():
            stop(s)
        runtime.store.dispose()


def opp_key(doc: bytes) -> str:
    m = re.search(rb'<Opportunity [^>]*?key="([0-9a-fA-F-]{36})"', doc)
    assert m is not None
    return m.group(1).decode().lower()


@pytest.fixture(scope="session")
def apps() -> Iterator[tuple[TisService, TdsService, requests.Session]]:
    """One TIS and one TDS for the session (the tds mock's rules bind to one app); tests use their own tenant."""
    rt = Runtime.create(Settings(seed=1), db=store_url())
    tis = TisService(rt, {"worker": False})
    tds = TdsService(rt)
    session = requests.Session()
    for name, app in (("tis", tis), ("tds", tds)):
        adapter = WSGIAdapter(app)
        rt.mounts[inprocess_url(name) + "/"] = adapter
        rt.topology[name] = inprocess_url(name)
        session.mount(inprocess_url(name) + "/", adapter)
    yield tis, tds, session
    tis.stop()
    rt.store.dispose()


@pytest.fixture
def harness(apps: tuple[TisService, TdsService, requests.Session]) -> Iterator[Harness]:
    tis, tds, session = apps
    tenant = f"u{next(_COUNTER)}"
    tis.model.set_config(tenant, {"dw_urls": [DW], "thss_url": THSS, "outbound_auth": {}})  # stand-ins: no OpenAM
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        h = Harness(tis, tds, session, mock, tenant=tenant)

        def dw(request: Any) -> tuple[int, dict[str, str], str]:
            h.dw_posts.append(request.body if isinstance(request.body, bytes) else request.body.encode())
            return h.dw_status, {}, json.dumps({"status": "ACCEPTED"})

        def thss(request: Any) -> tuple[int, dict[str, str], str]:
            body = request.body if isinstance(request.body, bytes) else request.body.encode()
            start = body.index(b"<?xml")
            end = body.index(b"</ItemScoreRequest>") + len(b"</ItemScoreRequest>")
            h.thss_uploads.append(body[start:end])
            return 200, {}, json.dumps({"Files": [{"FileName": "x.xml", "Success": True, "ErrorMessage": None}]})

        mock.add_callback("POST", DW, callback=dw)
        mock.add_callback("POST", THSS, callback=thss)
        yield h

