"""The LMS (the Open edX ProctorU xBlock's calls, docs/proctoru.md): time zones, availability, schedule,
reschedule, cancel, take-it-now, begin, and the activity report that should list the session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from locust import FastHttpUser, between, task

from loadtests.common import (
    PU_TOKEN,
    TENANT_HEADER,
    Ids,
    check,
    json_of,
    next_user_index,
    participants,
    pick_host,
    tenant,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class LmsScheduler(FastHttpUser):
    """One candidate's scheduling through the LMS, every answer's envelope (``response_code`` 1) and data checked."""

    wait_time = between(0.5, 1.5)

    def __init__(self, environment: Any) -> None:
        self.index = next_user_index()
        self.host = pick_host("proctoru", self.index)
        self.default_headers = {"Authorization-Token": PU_TOKEN, TENANT_HEADER: tenant()}
        super().__init__(environment)
        self.ids = Ids(environment, self.index)

    def call(self, endpoint: str, params: dict[str, str], rule: str, good: Any = None) -> Any:
        """POST a form to ``/api/<endpoint>``: HTTP 200, ``response_code`` 1 and ``good(data)``; returns the data."""
        with self.client.post(f"/api/{endpoint}", data=params, headers=FORM, name=endpoint,
                              catch_response=True) as r:
            body = json_of(r)
            if not isinstance(body, dict) or body.get("response_code") != 1:
                message = body.get("message") if isinstance(body, dict) else None
                check(r, 200, f"response_code {body.get('response_code') if isinstance(body, dict) else '?'}: "
                              f"{message}", False)
                return None
            data = body.get("data")
            if check(r, 200, rule, good is None or bool(good(data))):
                return data
        return None

    @task
    def schedule_and_sit(self) -> None:
        person = participants()[self.ids.rng.randrange(len(participants()))]
        student = self.ids.next("stu")
        who = {"student_id": student, "first_name": person["FirstName"], "last_name": person["LastName"],
               "email": f"{student}@example.org"}
        zones = self.call("getTimeZoneList", {}, "no time zones",
                          lambda d: isinstance(d, list) and d and all("Id" in z for z in d))
        if not zones:
            return
        zone = str(zones[self.ids.rng.randrange(len(zones))]["Id"])
        tomorrow = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        slots = self.call("getScheduleInfoAvailableTimesList",
                          {"time_zone_id": zone, "start_date": _z(tomorrow), "duration": "60"},
                          "no available times", lambda d: isinstance(d, list) and len(d) >= 2
                          and all(str(s.get("start_date", "")).endswith("Z") for s in d))
        if not slots:
            return
        first, later = slots[0]["start_date"], slots[len(slots) // 2]["start_date"]
        reservation_id = self.ids.next("res")
        booked = self.call("addAdHocProcess", {**who, "time_zone_id": zone, "start_date": first, "duration": "60",
                                               "reservation_id": reservation_id},
                           "no reservation_no", lambda d: isinstance(d, dict) and d.get("reservation_no"))
        if not booked:
            return
        number = str(booked["reservation_no"])
        moved = self.call("addAdHocProcess", {**who, "time_zone_id": zone, "start_date": later, "duration": "60",
                                              "reservation_id": reservation_id, "reservation_no": number},
                          "reschedule changed the reservation_no",
                          lambda d: isinstance(d, dict) and str(d.get("reservation_no")) == number)
        if moved is None:
            return
        if self.call("removeReservation", {"student_id": student, "reservation_no": number},
                     "cancel without the refund field", lambda d: isinstance(d, dict) and "onaccount" in d) is None:
            return
        now = self.call("addAdHocProcess", {**who, "time_zone_id": zone, "takeitnow": "Y", "duration": "60",
                                            "reservation_id": self.ids.next("res")},
                        "no reservation_no", lambda d: isinstance(d, dict) and d.get("reservation_no"))
        if not now:
            return
        sitting = str(now["reservation_no"])
        if self.call("beginReservation", {"student_id": student, "reservation_no": sitting},
                     "begin without a session url", lambda d: isinstance(d, dict)
                     and str(d.get("url", "")).startswith("http")) is None:
            return
        today = datetime.now(UTC)
        self.call("clientActivityReport", {"start_date": _z(today - timedelta(hours=1)),
                                           "end_date": _z(today + timedelta(days=2)), "student_id": student},
                  "the begun session is not in the activity report",
                  lambda d: isinstance(d, list) and sitting in {str(x.get("ReservationNo")) for x in d})
