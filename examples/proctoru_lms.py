"""A reference proctoru client: an LMS scheduling, beginning and cancelling as the Open edX xBlock's flow does.

Plain ``requests``, form-encoded bodies, ``Authorization-Token`` and a fresh ``time_sent`` on every call
(../shared/reference/proctoring.md §2.3, §2.8). Run it under
``examrig check --client proctoru -- python examples/proctoru_lms.py`` (URL from ``EXAMRIG_URL_PROCTORU``).
``--break RULE`` breaks one client rule:

  stale-time    send a time_sent ten minutes old on one call (PUC-TIME-002)
  no-token      call getTimeZoneList without Authorization-Token once (PUC-AUTH-001)
  json-body     send one body as JSON (PUC-FORM-001)
  fresh-id      begin with a new random reservation_id, as the xBlock does after a reschedule (PUC-RES-002)
  blind-retry   cancel the cancelled reservation again, unchanged, after the refusal (PUC-ERR-001)
  early-begin   begin the reservation scheduled for tomorrow (PUC-BEGIN-001)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
from typing import Any

import requests

TOKEN = "e7a1c0de-0000-4000-8000-000000000001"  # the mock's default institution (docs/proctoru.md)
BREAKS = ("stale-time", "no-token", "json-body", "fresh-id", "blind-retry", "early-begin")


class Api:
    def __init__(self, base: str, broken: str | None) -> None:
        self.base, self.broken = base, broken
        self.session = requests.Session()
        self.session.headers["Authorization-Token"] = TOKEN

    def call(self, endpoint: str, *, stale: bool = False, json_body: bool = False, token: bool = True,
             refusable: bool = False, **params: Any) -> Any:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # the xBlock's datetime.utcnow().isoformat()
        sent = now - dt.timedelta(minutes=10) if stale else now
        data = {"time_sent": sent.isoformat(), **{k: str(v) for k, v in params.items()}}
        headers = {} if token else {"Authorization-Token": ""}
        if json_body:
            resp = self.session.post(f"{self.base}/api/{endpoint}", json=data, timeout=30)
        elif token:
            resp = self.session.post(f"{self.base}/api/{endpoint}", data=data, timeout=30)
        else:
            resp = requests.post(f"{self.base}/api/{endpoint}", data=data, timeout=30, headers=headers)
        resp.raise_for_status()
        answer = resp.json()
        if answer.get("response_code") != 1 and not refusable:
            raise SystemExit(f"proctoru lms: {endpoint} refused: {answer.get('message')}")
        return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--break", dest="broken", choices=BREAKS, help="break one client rule")
    args = parser.parse_args(argv)
    b = args.broken
    api = Api(os.environ["EXAMRIG_URL_PROCTORU"], b)
    student = {"student_id": "learner-7", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org",
               "address1": "1 Main St", "city": "Springfield", "country": "US", "phone1": "5550100", "state": "CA"}

    zones = api.call("getTimeZoneList", stale=b == "stale-time", refusable=True)
    zone = zones["data"][0]["Id"] if zones.get("data") else "UTC"
    if b == "no-token":
        api.call("getTimeZoneList", token=False, refusable=True)
    # slots from noon UTC tomorrow: always 12 h or more ahead, so the reservation is never inside its begin window
    # (slots from midnight were minutes away when the example ran shortly before midnight UTC)
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    slots = api.call("getScheduleInfoAvailableTimesList", time_zone_id=zone, duration=60,
                     start_date=tomorrow.isoformat(), takeitnow="N", isadhoc="Y",
                     json_body=b == "json-body")
    start = slots["data"][0]["start_date"] if slots.get("data") else tomorrow.isoformat()

    # a reservation for tomorrow (cancelled below), and one to take now (begun)
    later_id = secrets.token_hex(20)
    later = api.call("addAdHocProcess", **student, time_zone_id=zone, duration=60, start_date=start,
                     takeitnow="N", reservation_id=later_id, description="Final exam")
    now_id = secrets.token_hex(20)
    # (another learner: ProctorU refuses a second pending reservation of one learner as OVERLAP)
    other = {**student, "student_id": "learner-8", "email": "grace@example.org"}
    taken = api.call("addAdHocProcess", **other, time_zone_id=zone, duration=60, takeitnow="Y",
                     reservation_id=now_id, description="Final exam, now")
    api.call("getStudentReservationList", student_id=other["student_id"])
    if b == "early-begin":
        api.call("beginReservation", student_id=student["student_id"], reservation_id=later_id,
                 reservation_no=later["data"]["reservation_no"], refusable=True)
    api.call("beginReservation", student_id=other["student_id"],
             reservation_id=secrets.token_hex(20) if b == "fresh-id" else now_id,
             reservation_no=taken["data"]["reservation_no"], refusable=b == "fresh-id")
    cancel = {"student_id": student["student_id"], "reservation_no": later["data"]["reservation_no"]}
    api.call("removeReservation", **cancel)
    if b == "blind-retry":
        refused = api.call("removeReservation", **cancel, refusable=True)  # refused: "Reservation Cancelled."
        if refused["response_code"] == 2:
            api.call("removeReservation", **cancel, refusable=True)  # and again, unchanged: the blind retry
    print(f"proctoru lms: begun {taken['data']['reservation_no']}, cancelled {cancel['reservation_no']} "
          f"({b or 'conformant'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
