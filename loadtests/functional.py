"""Run every actor's flow once against the targets (a functional check of the actors, not a load test).

``python loadtests/functional.py`` with the same ``EXAMRIG_TARGET_<SERVICE>`` / ``EXAMRIG_LOAD_*`` settings as a
run. Prepares the targets as a run would, then runs each actor's task once in a locust ``Environment``
(TDS twice: one machine-scored TRT, one with hand-scored items, while the hand scorer works the THSS
queue beside it). Prints one JSON line per flow with its requests and failures; exit 0 when every
flow made requests and none failed, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("EXAMRIG_LOAD_PROFILE", "smoke")

import gevent
import locust  # first of these to import ssl: locust's gevent patching must come before requests
import requests
from locust.env import Environment

from loadtests import locustfile
from loadtests.users import deliveryodata, proctoru, scoring


def main() -> int:
    environment = Environment(user_classes=list(locustfile.ACTORS.values()), events=locust.events)
    seen: list[dict[str, Any]] = []
    environment.events.request.add_listener(
        lambda request_type, name, exception=None, **_: seen.append(
            {"type": request_type, "name": name, "error": None if exception is None else str(exception)[:300]}))
    with requests.Session() as session:
        locustfile.prepare(session)
    flows: list[tuple[str, Any, Any]] = [
        ("candidate portal", deliveryodata.CandidatePortal, lambda u: u.launch()),
        ("proctor", deliveryodata.Proctor, lambda u: u.proctor_session()),
        ("attempt-list supervisor", deliveryodata.AttemptListSupervisor, lambda u: u.supervise()),
        ("LMS on proctoru", proctoru.LmsScheduler, lambda u: u.schedule_and_sit()),
        ("warehouse importer", scoring.WarehouseImporter, lambda u: u.import_exam()),
        ("TDS machine-scored", scoring.TdsSender, lambda u: _tds(u, hand=False)),
        ("TDS hand-scored with the hand scorer", scoring.TdsSender, lambda u: _tds(u, hand=True, env=environment)),
    ]
    ok = True
    for label, cls, run in flows:
        start = len(seen)
        run(cls(environment))
        mine = seen[start:]
        failures = [r for r in mine if r["error"]]
        names = sorted({f"{r['type']} {r['name']}" for r in mine})
        print(json.dumps({"flow": label, "requests": len(mine), "failures": failures, "names": names}), flush=True)
        ok = ok and bool(mine) and not failures
    return 0 if ok else 1


def _tds(user: Any, *, hand: bool, env: Any = None) -> None:
    user.hand_share = 1.0 if hand else 0.0
    if not hand:
        user.submit()
        return
    scorer = scoring.HandScorer(env)
    worker = gevent.spawn(lambda: [(scorer.score_pending(), gevent.sleep(0.5)) for _ in iter(int, 1)])
    try:
        user.submit()
    finally:
        worker.kill()


if __name__ == "__main__":
    sys.exit(main())
