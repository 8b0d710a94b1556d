"""Actors on deliveryodata (docs/deliveryodata.md): the candidate portal, the proctor, the attempt-list supervisor.

Each task is one whole session as the party runs it; every answer is checked for its status and for
the rule that matters at that step (a lobby URL on the entity GET, a session token at the lobby, the
result status after a proctor action), so a wrong answer is a failure in locust's statistics.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from locust import FastHttpUser, between, task

from loadtests.common import (
    CUSTOMER,
    DOD_PASSWORD,
    DOD_USER,
    TENANT_HEADER,
    Ids,
    check,
    json_of,
    next_user_index,
    participants,
    pick_host,
    relative,
    tenant,
)

#: what ``prepare`` seeds at examrig's deliveryodata (an integrator's system must hold the same ids)
ASSESSMENT = "1234567890876543"
TEST_CENTER = 7
ODATA = f"/deliveryodata/{CUSTOMER}"
WIDGET = "https://proctor.example.org/candidate-controls"
JSON_HEADERS = {"Content-Type": "application/json"}


def seed_body() -> dict[str, Any]:
    """The deliveryodata seed the actors rely on: participants, one assessment, a test center, a monitoring type."""
    # the generator's SsoId is not a Participant property of this service's CSDL; Password is write-only
    people = [{k: v for k, v in p.items() if k not in ("SsoId", "Password")} for p in participants()]
    return {"participants": people,
            "assessments": [{"ID": ASSESSMENT, "Name": "Load exam", "Language": "en-US", "IsSecure": False}],
            "testCenters": [{"ID": TEST_CENTER, "Name": "Load centre"}],
            "monitoringTypes": [{"ID": 5, "Name": "UNMONITORED", "SystemCheckUrl": "about:blank"}]}


class _DeliveryOData(FastHttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)

    def __init__(self, environment: Any) -> None:
        self.index = next_user_index()
        self.host = pick_host("deliveryodata", self.index)
        credential = base64.b64encode(f"{DOD_USER}:{DOD_PASSWORD}".encode()).decode()
        self.default_headers = {"Authorization": f"Basic {credential}", TENANT_HEADER: tenant()}
        super().__init__(environment)
        self.ids = Ids(environment, self.index)

    def participant(self) -> int:
        people = participants()
        return int(people[self.ids.rng.randrange(len(people))]["ID"])

    def create_attempt(self, *, list_id: int | None = None, unlock_code: str | None = None) -> int | None:
        """POST Attempts (locked, proctored): 201, an ID, the proctor URL minted and no lobby URL yet."""
        body: dict[str, Any] = {"ExternalAttemptID": self.ids.next("att"), "ParticipantID": self.participant(),
                                "AssessmentID": ASSESSMENT, "LockRequired": True, "LockStatus": True}
        if list_id is not None:
            body["AttemptListID"] = list_id
        if unlock_code is not None:
            body["UnlockCode"] = unlock_code
        with self.client.post(f"{ODATA}/Attempts", data=json.dumps(body), headers=JSON_HEADERS, name="Attempts",
                              catch_response=True) as r:
            data = json_of(r)
            good = (isinstance(data, dict) and isinstance(data.get("ID"), int)
                    and str(data.get("ProctorFacingQMControlsWidgetUrl") or "").startswith("http")
                    and data.get("ParticipantFacingQMLobbyUrl") is None and data.get("LockStatus") is True)
            if check(r, 201, "201 without an ID, a proctor URL, a null lobby URL and LockStatus true", good):
                return int(data["ID"])
        return None

    def entity(self, attempt: int) -> dict[str, Any] | None:
        """GET Attempts(n) for launch: both signed URLs minted on the entity."""
        with self.client.get(f"{ODATA}/Attempts({attempt})", name="Attempts(n)", catch_response=True) as r:
            data = json_of(r)
            good = (isinstance(data, dict) and data.get("ID") == attempt
                    and str(data.get("ParticipantFacingQMLobbyUrl") or "").startswith("http")
                    and str(data.get("ProctorFacingQMControlsWidgetUrl") or "").startswith("http"))
            if check(r, 200, "entity without its lobby and proctor URLs", good):
                return dict(data)
        return None

    def enter_lobby(self, lobby_url: str, attempt: int) -> str | None:
        """Follow the participant's signed lobby URL: the lobby state with a session token."""
        with self.client.get(relative(lobby_url), name="lobby SystemCheck", catch_response=True) as r:
            data = json_of(r)
            good = isinstance(data, dict) and data.get("AttemptID") == attempt and bool(data.get("Session"))
            if check(r, 200, "lobby without the attempt's state and a session token", good):
                return str(data["Session"])
        return None

    def start_exam(self, attempt: int, session: str, code: str | None = None) -> bool:
        """Press start: the result is created (ResultStatus 1, a ResultID)."""
        payload: dict[str, Any] = {"Session": session}
        if code is not None:
            payload["UnlockCode"] = code
        with self.client.post(f"/lobby/{CUSTOMER}/lobby/Start/{attempt}", data=json.dumps(payload),
                              headers=JSON_HEADERS, name="lobby Start", catch_response=True) as r:
            data = json_of(r)
            good = isinstance(data, dict) and data.get("ResultStatus") == 1 and bool(data.get("ResultID"))
            return check(r, 200, "start without ResultStatus 1 and a ResultID", good)


class CandidatePortal(_DeliveryOData):
    """The exam portal launching a candidate: create a locked attempt, PATCH the widget URL, GET for launch,
    the candidate enters the lobby and starts once unlocked (here with the unlock code the portal set)."""

    weight = 10

    @task
    def launch(self) -> None:
        code = f"C{self.ids.rng.randrange(10**6):06d}"
        attempt = self.create_attempt(unlock_code=code)
        if attempt is None:
            return
        with self.client.patch(f"{ODATA}/Attempts({attempt})", name="Attempts(n) widget",
                               data=json.dumps({"ParticipantFacingProctorSystemWidgetUrl": WIDGET}),
                               headers=JSON_HEADERS, catch_response=True) as r:
            if not check(r, 204, "PATCH answered with a body", not r.content):
                return
        entity = self.entity(attempt)
        if entity is None:
            return
        if entity.get("ParticipantFacingProctorSystemWidgetUrl") != WIDGET:
            self.environment.events.request.fire(
                request_type="CHECK", name="widget URL kept", response_time=0, response_length=0,
                exception=AssertionError("the PATCHed widget URL is not on the entity"), context={})
            return
        session = self.enter_lobby(str(entity["ParticipantFacingQMLobbyUrl"]), attempt)
        if session is not None:
            self.start_exam(attempt, session, code)


class Proctor(_DeliveryOData):
    """A proctor running one candidate's session through the signed proctor widget URL:
    unlock, (the candidate starts), pause, resume, add time, terminate."""

    weight = 3

    def action(self, url: str, name: str, status: int, payload: dict[str, Any] | None = None) -> bool:
        path = relative(url).replace("/Index/", f"/{name}/")
        with self.client.post(path, data=json.dumps(payload or {}), headers=JSON_HEADERS, name=f"proctor {name}",
                              catch_response=True) as r:
            data = json_of(r)
            good = isinstance(data, dict) and data.get("ResultStatus") == status
            return check(r, 200, f"{name} did not leave ResultStatus {status}", good)

    @task
    def proctor_session(self) -> None:
        attempt = self.create_attempt()
        entity = self.entity(attempt) if attempt is not None else None
        if attempt is None or entity is None:
            return
        widget = str(entity["ProctorFacingQMControlsWidgetUrl"])
        session = self.enter_lobby(str(entity["ParticipantFacingQMLobbyUrl"]), attempt)
        if session is None:
            return
        path = relative(widget).replace("/Index/", "/Unlock/")
        with self.client.post(path, data="{}", headers=JSON_HEADERS, name="proctor Unlock", catch_response=True) as r:
            data = json_of(r)
            if not check(r, 200, "Unlock left the attempt locked", isinstance(data, dict) and data.get("LockStatus")
                         is False):
                return
        if not self.start_exam(attempt, session):
            return
        if not (self.action(widget, "Pause", 6) and self.action(widget, "Resume", 1)):
            return
        with self.client.post(relative(widget).replace("/Index/", "/AddTime/"), data=json.dumps({"Minutes": 10}),
                              headers=JSON_HEADERS, name="proctor AddTime", catch_response=True) as r:
            data = json_of(r)
            if not check(r, 200, "AddTime did not add 10 minutes", isinstance(data, dict)
                         and data.get("ExtraTime") == 10):
                return
        self.action(widget, "Terminate", 7)


class AttemptListSupervisor(_DeliveryOData):
    """A supervisor: an attempt list, its candidates' attempts, the list's controls page, unlocking every
    attempt from there."""

    weight = 1
    attempts_per_list = 3

    @task
    def supervise(self) -> None:
        # a test centre has at most one open list and lists cannot be closed through the API, so each
        # supervisor's session list carries no centre (the controls page works the same)
        body = {"ExternalAttemptListID": self.ids.next("list")}
        with self.client.post(f"{ODATA}/AttemptLists", data=json.dumps(body), headers=JSON_HEADERS,
                              name="AttemptLists", catch_response=True) as r:
            data = json_of(r)
            if not check(r, 201, "201 without a list ID", isinstance(data, dict) and isinstance(data.get("ID"), int)):
                return
            list_id = int(data["ID"])
        attempts = [self.create_attempt(list_id=list_id) for _ in range(self.attempts_per_list)]
        if None in attempts:
            return
        with self.client.get(f"{ODATA}/AttemptLists({list_id})", name="AttemptLists(n)", catch_response=True) as r:
            data = json_of(r)
            controls = str(data.get("ProctorFacingQMControlsUrl") or "") if isinstance(data, dict) else ""
            if not check(r, 200, "list entity without its controls URL", controls.startswith("http")):
                return
        with self.client.get(relative(controls), name="attemptlist Index", catch_response=True) as r:
            data = json_of(r)
            listed = ({a.get("AttemptID") for a in data.get("Attempts", [])}
                      if isinstance(data, dict) and isinstance(data.get("Attempts"), list) else set())
            if not check(r, 200, "controls page does not list the list's attempts", listed == set(attempts)):
                return
        base = relative(controls)
        path, _, query = base.partition("?")
        for attempt in attempts:
            url = f"{path.replace('/Index/', '/Unlock/')}/{attempt}?{query}"
            with self.client.post(url, data="{}", headers=JSON_HEADERS, name="attemptlist Unlock",
                                  catch_response=True) as r:
                data = json_of(r)
                check(r, 200, "Unlock from the list left the attempt locked",
                      isinstance(data, dict) and data.get("AttemptID") == attempt and data.get("LockStatus") is False)
