"""A TDS's smoke test of TIS, run under ``examrig check --client tis --client thss --client dw --client tds
--client openam -- python tests/client/tis_flow_driver.py``: examrig's own TIS, served with its peers,
processes what this posts and calls thss, dw, tds and openam, whose journals then judge it as their client.

The flow of features/end_to_end (plain ``requests`` over the URLs in ``EXAMRIG_URL_*``): a machine-scored and
a hand-scored test package and TRT (generated from seeds 61 and 62), THSS configured to score the hand items
by a fixed policy, the opportunities registered ``submitted`` at TDS; then it waits (bounded) until TDS heard
the three acknowledgements (one, then two for the hand-scored TRT). Exits non-zero when they do not come.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from contracts.generate import generate_testpackage, generate_trt
    from features.steps._documents import opportunity_key
    from features.steps.pipeline import HAND_TYPES, WER_DIMENSIONS, _hand_items

    url = {name: os.environ[f"EXAMRIG_URL_{name.upper()}"] for name in ("tis", "thss", "tds")}
    http = requests.Session()
    callback = url["tds"] + "/student/TIS/API/tisReply"
    for seed, hand in ((61, False), (62, True)):
        package = generate_testpackage(seed, items=8, hand_scored=hand)
        check(http.post(url["tis"] + "/api/testpackage", data=package, timeout=60), 201)
        trt = generate_trt(seed, package=package)
        if hand:
            items = [{"itemId": key, "bankKey": bank, "HandScored": "1", "scoreType": "R", "rubriclist": "",
                      "maxScore": str(sum(m for _, m in dims)), "dimensions": [
                          {"description": n, "minPoints": "0", "maxPoints": str(m), "conditions": []} for n, m in dims]}
                     for bank, key, fmt in _hand_items(trt)
                     for dims in [WER_DIMENSIONS if fmt == "WER" else (("Correct Answer", 2),)]]
            check(http.post(url["thss"] + "/api/item/submit", json=items, timeout=60), 200)
            policies = [{"itemType": t, "kind": "fixed", "score": 1} for t in HAND_TYPES]
            check(http.post(url["thss"] + "/_examrig/seed", json={"policies": policies}, timeout=60), 201)
        opportunity = {"opportunities": [{"oppKey": opportunity_key(trt), "status": "submitted"}]}
        check(http.post(url["tds"] + "/_examrig/seed", json=opportunity, timeout=60), 201)
        check(http.post(url["tis"] + "/api/testresult", params={"statusCallback": callback}, data=trt,
                        headers={"Content-Type": "application/xml"}, timeout=60), 200)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        journal = http.get(url["tds"] + "/_examrig/journal", params={"since": 1, "tenant": "*"}, timeout=60).json()
        if sum(e["path"] == "/student/TIS/API/tisReply" for e in journal["entries"]) >= 3:
            return 0
        time.sleep(0.2)
    print("TDS did not hear three acknowledgements in 120 s", file=sys.stderr)
    return 1


def check(response: requests.Response, status: int) -> None:
    if response.status_code != status:
        raise SystemExit(f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}")


if __name__ == "__main__":
    sys.exit(main())
