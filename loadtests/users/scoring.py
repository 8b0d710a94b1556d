"""The scoring pipeline's parties: TDS sending TRTs to TIS, the THSS hand scorer, the warehouse importer.

TDS's acknowledgement is counted when it arrives at the tds callback (examrig's tds mock is TDS's side
of TIS's callback), so the figure reported as ``ACK TRT …`` is the end-to-end latency from the POST to
the acknowledgement, not the POST alone. TRTs come from ``contracts.generate`` (a few documents per
process, generated once: one costs ~20 ms, too much for a load generator's loop) with a fresh
opportunity and examinee key per submission, so every TRT is a new opportunity of a new testee.
"""

from __future__ import annotations

import json
import re
import time
from functools import lru_cache
from typing import Any

from locust import FastHttpUser, between, constant, task

from loadtests.common import (
    OAM_CLIENT,
    OAM_LOADER,
    TENANT_HEADER,
    Ids,
    check,
    json_of,
    next_user_index,
    pick_host,
    poll,
    seed,
    targets,
    tenant,
)

XML = {"Content-Type": "application/xml"}
HAND_TYPES = ("ER", "SA", "WER")  # TIS's default hand-scoring item types (docs/tis.md)
_OPP = re.compile(rb'(<Opportunity\b[^>]*?\bkey=")([0-9a-fA-F-]{36})(")')
_EXAMINEE = re.compile(rb'(<Examinee\b[^>]*?\bkey=")([^"]+)(")')
TEMPLATES = 4
# a WER item is scored on three dimensions, which TIS's resolution rule combines (docs/tis.md)
WER_DIMENSIONS = (("Conventions", 2), ("Evidence/Elaboration", 4), ("Organization/Purpose", 4))


def package(hand_scored: bool) -> bytes:
    """The run's v4 test package (one with hand-scored items, one without), from the run's seed."""
    return _package(seed(), hand_scored)


def templates(kind: str) -> tuple[bytes, ...]:
    """A few generated TRTs of ``kind`` (``machine``, ``hand`` or ``scored``) for the run's packages."""
    return _templates(seed(), kind)


@lru_cache(maxsize=8)
def _package(run_seed: int, hand_scored: bool) -> bytes:
    from contracts.generate import generate_testpackage
    return generate_testpackage(run_seed * 2 + int(hand_scored), items=8, hand_scored=hand_scored)


@lru_cache(maxsize=8)
def _templates(run_seed: int, kind: str) -> tuple[bytes, ...]:
    from contracts.generate import generate_trt
    pkg = _package(run_seed, kind == "hand")
    trt_kind = "scored" if kind == "scored" else "machine"
    return tuple(generate_trt(run_seed * 100 + i, kind=trt_kind, package=pkg) for i in range(TEMPLATES))


def hand_items() -> list[dict[str, Any]]:
    """THSS item configurations (as the SupportTool sends them) of the hand-scored package's hand items."""
    from contracts.generate import read_package
    info = read_package(package(True))
    items = [i for test in info.tests for segment in test.segments for i in segment.items
             if i.hand_scored and i.format in HAND_TYPES]
    def dimensions(fmt: str) -> list[dict[str, Any]]:
        if fmt != "WER":
            return []
        return [{"description": name, "minPoints": 0, "maxPoints": top, "conditions": []}
                for name, top in WER_DIMENSIONS]
    return [{"itemId": str(i.key), "bankKey": str(i.bank_key), "maxScore": str(max(i.points, 1)),
             "HandScored": "1", "scoreType": i.format, "Passage": None, "rubriclist": "",
             "dimensions": dimensions(i.format)} for i in items]


def fresh(document: bytes, opp_key: str, examinee: int) -> bytes:
    """``document`` as a new opportunity (``Opportunity@key``) of a new testee (``Examinee@key``)."""
    document = _OPP.sub(lambda m: m.group(1) + opp_key.encode() + m.group(3), document, count=1)
    return _EXAMINEE.sub(lambda m: m.group(1) + str(examinee).encode() + m.group(3), document, count=1)


class TdsSender(FastHttpUser):
    """TDS: registers the opportunity as submitted, POSTs the TRT to TIS with its status callback, and waits
    for TIS's acknowledgement at the tds callback (machine-scored, or with items hand scored at thss)."""

    wait_time = between(0.5, 1.5)
    weight = 4
    hand_share = 0.25  # of the TRTs carry hand-scored items

    def __init__(self, environment: Any) -> None:
        self.index = next_user_index()
        self.host = pick_host("tis", self.index)
        self.tds = pick_host("tds", self.index)
        self.default_headers = {TENANT_HEADER: tenant()}
        super().__init__(environment)
        self.ids = Ids(environment, self.index)

    @task
    def submit(self) -> None:
        hand = self.ids.rng.random() < self.hand_share
        kind = "hand" if hand else "machine"
        key = self.ids.uuid()
        document = fresh(self.ids.rng.choice(templates(kind)), key, self.ids.rng.randrange(10**7, 10**9))
        with self.client.post(f"{self.tds}/_examrig/seed", name="tds register opportunity", catch_response=True,
                              data=json.dumps({"opportunities": [{"oppKey": key, "status": "submitted"}]}),
                              headers={"Content-Type": "application/json"}) as r:
            if not check(r, 201):
                return
        started = time.perf_counter()
        callback = f"{self.tds}/student/TIS/API/tisReply"
        with self.client.post(f"/api/testresult?statusCallback={callback}", data=document, headers=XML,
                              name="testresult", catch_response=True) as r:
            if not check(r, 200, "the receiver answered with a body", not r.content.strip()):
                return
        # machine-scored: the first ack; hand-scored: the pass after the last hand score acks again
        wanted = 2 if hand else 1
        name = f"TRT {'hand-scored' if hand else 'machine'}"
        audit: list[Any] = []
        for _ in poll(0.5 if hand else 0.2):
            with self.client.get(f"{self.tds}/_examrig/state/opportunities/{key}", name="tds opportunity (poll)",
                                 catch_response=True) as r:
                data = json_of(r)
                if not check(r, 200, "opportunity state without its audit rows",
                             isinstance(data, dict) and isinstance(data.get("audit"), list)):
                    continue
                audit = [a for a in data["audit"] if a.get("source") == "tisReply"]
                if data.get("status") == "reported" and len(audit) >= wanted:
                    self.environment.events.request.fire(
                        request_type="ACK", name=name, response_time=(time.perf_counter() - started) * 1000,
                        response_length=0, exception=None, context={})
                    return
                if any(a.get("accessType") == "rejected" for a in audit):
                    break
        self.environment.events.request.fire(
            request_type="ACK", name=name, response_time=(time.perf_counter() - started) * 1000, response_length=0,
            exception=AssertionError(f"no acknowledgement ({len(audit)} of {wanted}): {audit[-1:]}"), context={})


class HandScorer(FastHttpUser):
    """A teacher at THSS: takes the pending work, scores each response, and THSS calls TIS back
    (``/_examrig/score`` is the teacher's action at examrig's thss: docs/thss.md)."""

    wait_time = constant(1)
    fixed_count = 1  # one teacher per run takes the queue (two would race for the same responses)

    def __init__(self, environment: Any) -> None:
        self.index = next_user_index()
        self.host = pick_host("thss", self.index)
        self.default_headers = {TENANT_HEADER: tenant(), "Content-Type": "application/json"}
        super().__init__(environment)
        self.done: set[str] = set()

    @task
    def score_pending(self) -> None:
        with self.client.get("/_examrig/state/queue/all", name="thss work queue", catch_response=True) as r:
            data = json_of(r)
            if not check(r, 200, "queue without assignments",
                         isinstance(data, dict) and isinstance(data.get("assignments"), list)):
                return
        pending = [a for a in data["assignments"] if a.get("status") == "pending" and a["id"] not in self.done]
        for assignment in pending:
            body: dict[str, Any] = {"assignment": assignment["id"], "score": 1}
            if assignment.get("itemType") == "WER":
                body = {"assignment": assignment["id"],
                        "dimensions": [{"name": name, "score": 1} for name, _top in WER_DIMENSIONS]}
            with self.client.post("/_examrig/score", data=json.dumps(body), name="thss score",
                                  catch_response=True) as r:
                answer = json_of(r)
                if check(r, 200, "the score did not reach TIS",
                         isinstance(answer, dict) and answer.get("status") == "sent"):
                    self.done.add(assignment["id"])


class WarehouseImporter(FastHttpUser):
    """The data-warehouse loader: an OpenAM token, scored TRTs to RDW's ``/exams/imports``, and the import's status."""

    wait_time = between(0.5, 1.5)
    weight = 2

    def __init__(self, environment: Any) -> None:
        self.index = next_user_index()
        self.host = pick_host("dw", self.index)
        self.openam = targets("openam")[self.index % len(targets("openam"))]
        self.default_headers = {TENANT_HEADER: tenant()}
        super().__init__(environment)
        self.ids = Ids(environment, self.index)
        self.token: str | None = None

    def fetch_token(self) -> str | None:
        client_id, _, secret = OAM_CLIENT.partition(":")
        user, _, password = OAM_LOADER.partition(":")
        form = {"grant_type": "password", "username": user, "password": password, "client_id": client_id,
                "client_secret": secret}
        with self.client.post(f"{self.openam}/auth/oauth2/access_token?realm=/sbac", data=form, name="access_token",
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              catch_response=True) as r:
            data = json_of(r)
            if check(r, 200, "no bearer access_token", isinstance(data, dict) and data.get("token_type") == "Bearer"
                     and bool(data.get("access_token"))):
                return str(data["access_token"])
        return None

    @task
    def import_exam(self) -> None:
        self.token = self.token or self.fetch_token()
        if self.token is None:
            return
        document = fresh(self.ids.rng.choice(templates("scored")), self.ids.uuid(),
                         self.ids.rng.randrange(10**7, 10**9))
        with self.client.post("/exams/imports", data=document, name="exams/imports", catch_response=True,
                              headers={**XML, "Authorization": f"Bearer {self.token}"}) as r:
            if r.status_code == 401:
                self.token = None  # expired or revoked: a new token on the next import
            data = json_of(r)
            if not check(r, 202, "import not ACCEPTED with an id", isinstance(data, dict)
                         and data.get("status") == "ACCEPTED" and data.get("id") is not None):
                return
            ident = data["id"]
        with self.client.get(f"/exams/imports/{ident}", name="exams/imports/<id>", catch_response=True,
                             headers={"Authorization": f"Bearer {self.token}"}) as r:
            data = json_of(r)
            check(r, 200, f"import not PROCESSED: {data.get('status') if isinstance(data, dict) else data}",
                  isinstance(data, dict) and data.get("status") == "PROCESSED")
