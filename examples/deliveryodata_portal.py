"""A reference deliveryodata client: a candidate portal following the proctoring flow of qm-proctoring-exams.rst.

Plain ``requests``. Run it under ``examrig check --client deliveryodata -- python examples/deliveryodata_portal.py``
(the mock's URL comes from ``EXAMRIG_URL_DELIVERYODATA``). ``--break RULE`` makes it break one client rule, so
the check can be seen failing exactly that rule (docs/client-conformance.md):

  reuse-lobby       open the same lobby URL for the second launch (DOC-URL-002)
  integer-id        ExternalAttemptID "42" instead of a GUID (DOC-ATT-003)
  retry-new-id      retry the create that got a 503 with a new ExternalAttemptID (DOC-RETRY-001)
  patch-assessment  PATCH AssessmentID of the attempt (DOC-PATCH-001)
  no-l-suffix       Assessments?$filter=ID eq 9962000009962 without the L (DOC-FILTER-001)
  unlocked          create with LockRequired false (DOC-ATT-004)
  no-credentials    read the attempt without credentials once (DOC-AUTH-001)

Only the seeding (``/_examrig/seed``) and the injected 503 (``/_examrig/faults``) are examrig's admin calls: they
stand for the data and the outage a real portal meets, and the admin door is never journaled nor judged.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid

import requests

CUSTOMER = "400449"
AUTH = ("examrig", "examrig")
ASSESSMENT = 9962000009962
PARTICIPANT = 987654321
BREAKS = ("reuse-lobby", "integer-id", "retry-new-id", "patch-assessment", "no-l-suffix", "unlocked",
          "no-credentials")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--break", dest="broken", choices=BREAKS, help="break one client rule")
    args = parser.parse_args(argv)
    base = os.environ["EXAMRIG_URL_DELIVERYODATA"]
    root = f"{base}/deliveryodata/{CUSTOMER}"
    s = requests.Session()
    s.auth = AUTH
    s.headers["Accept"] = "application/json"
    broken = args.broken

    # the data and the outage of this demonstration (examrig's admin door, not judged)
    s.post(f"{base}/_examrig/seed", json={
        "participants": [{"ID": PARTICIPANT, "FirstName": "Ada", "LastName": "Lovelace"}],
        "assessments": [{"ID": str(ASSESSMENT), "Name": "Final"}]}, timeout=30).raise_for_status()
    s.post(f"{base}/_examrig/faults", json={"kind": "status", "status": 503, "method": "POST", "path": "*/Attempts",
                                            "times": 1}, timeout=30).raise_for_status()

    # 1. the assessment, by its Int64 key with the L suffix
    literal = str(ASSESSMENT) if broken == "no-l-suffix" else f"{ASSESSMENT}L"
    s.get(f"{root}/Assessments", params={"$filter": f"ID eq {literal}"}, timeout=30)
    # 2. create the attempt: ExternalAttemptID is the proctoring reservation's id (a GUID), locked
    ext = "42" if broken == "integer-id" else str(uuid.UUID(int=0x3F2504E04F8911D39A0C0305E82C3301))
    body = {"ExternalAttemptID": ext, "ParticipantID": PARTICIPANT, "AssessmentID": str(ASSESSMENT),
            "LockRequired": broken != "unlocked", "LockStatus": broken != "unlocked"}
    created = s.post(f"{root}/Attempts", json=body, timeout=30)
    if created.status_code >= 500:  # the injected outage: retry the same create (same ExternalAttemptID)
        if broken == "retry-new-id":
            body = {**body, "ExternalAttemptID": ext + "-retry"}
        created = s.post(f"{root}/Attempts", json=body, timeout=30)
    if created.status_code == 409:  # the first create did land: read it back, never create another
        found = s.get(f"{root}/Attempts", params={"$filter": f"ExternalAttemptID eq '{body['ExternalAttemptID']}'"},
                      timeout=30)
        found.raise_for_status()
        attempt_id = found.json()["value"][0]["ID"]
    else:
        created.raise_for_status()
        attempt_id = created.json()["ID"]

    # 3. hand the vendor's widget URL to QM
    s.patch(f"{root}/Attempts({attempt_id})", json={"ParticipantFacingProctorSystemWidgetUrl":
                                                    "https://vendor.example/widget/1"}, timeout=30).raise_for_status()
    if broken == "patch-assessment":
        s.patch(f"{root}/Attempts({attempt_id})", json={"AssessmentID": "1"}, timeout=30)

    # 4. two launches: each reads the entity for a fresh, single-use lobby URL and opens it at once
    lobby = ""
    for launch in range(2):
        if broken == "no-credentials" and launch == 1:
            requests.get(f"{root}/Attempts({attempt_id})", headers={"Accept": "application/json"}, timeout=30)
        entity = s.get(f"{root}/Attempts({attempt_id})", timeout=30)
        entity.raise_for_status()
        if not (broken == "reuse-lobby" and lobby):
            lobby = entity.json()["ParticipantFacingQMLobbyUrl"]
        requests.get(lobby, timeout=30)  # the candidate's browser: no QM credentials
        requests.get(entity.json()["ProctorFacingQMControlsWidgetUrl"], timeout=30)  # the proctor's
    print(f"deliveryodata portal: attempt {attempt_id} launched twice ({broken or 'conformant'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
