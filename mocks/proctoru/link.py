"""The link to Questionmark's deliveryodata: an Appointment, the proctor widget URL, the candidate URL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from mocks.core.outbound import Outbound
from mocks.proctoru import timezones

PEER = "deliveryodata"


@dataclass(frozen=True)
class LinkOutcome:
    """How linking one begun reservation to its deliveryodata attempt went."""

    status: str  # "linked" or "failed"
    error: str | None = None
    appointment_id: str | None = None
    proctor_widget_url: str | None = None


class LinkFailed(Exception):
    """One step of the link did not get the answer the spec promises."""


class DeliveryOdataLink:
    """Calls deliveryodata as ``qm-proctoring-exams.rst`` has a proctoring service do it.

    On the first begin of a reservation that carries an attempt: POST an Appointment
    for the attempt, GET ``Attempts(id)`` for the (fresh) ProctorFacingQMControlsWidgetUrl,
    PATCH ``ParticipantFacingProctorSystemWidgetUrl`` with the candidate's session URL.
    Every call goes through the service's outbound client (journaled, faults applied).
    """

    def __init__(self, outbound: Outbound, base_url: str, customer: str, user: str, password: str) -> None:
        self.outbound = outbound
        self.root = f"{base_url.rstrip('/')}/deliveryodata/{customer}"
        self.auth = (user, password)

    def link(self, tenant: str, attempt_id: int, reservation: dict[str, Any]) -> LinkOutcome:
        """Run the three calls; never raises (a failure is an outcome)."""
        try:
            appointment = self._call(tenant, "POST", "/Appointments", (200, 201),
                                     json=self._appointment(attempt_id, reservation))
            attempt = self._call(tenant, "GET", f"/Attempts({attempt_id})", (200,))
            widget = _prop(attempt, "ProctorFacingQMControlsWidgetUrl")
            if not isinstance(widget, str) or not widget:
                raise LinkFailed(f"Attempts({attempt_id}) has no ProctorFacingQMControlsWidgetUrl")
            self._call(tenant, "PATCH", f"/Attempts({attempt_id})", (200, 204),
                       json={"ParticipantFacingProctorSystemWidgetUrl": reservation["session_url"]})
        except (LinkFailed, requests.RequestException) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return LinkOutcome("failed", error=text)
        ident = _prop(appointment, "ID")
        return LinkOutcome("linked", appointment_id=None if ident is None else str(ident),
                           proctor_widget_url=widget)

    def _appointment(self, attempt_id: int, reservation: dict[str, Any]) -> dict[str, Any]:
        start = datetime.fromisoformat(str(reservation["start_date"]).replace("Z", "+00:00"))
        zone = timezones.find(str(reservation["time_zone_id"]))
        local = start.astimezone(zone.zone if zone else ZoneInfo("UTC"))
        return {
            "AttemptID": attempt_id,
            "ExternalID": str(reservation["reservation_no"]),
            "AppointmentStartUtc": str(reservation["start_date"]),
            "AppointmentStart": local.strftime("%Y-%m-%dT%H:%M:%S"),
            "TimeZoneID": reservation["time_zone_id"],
            "Status": "Started",
        }

    def _call(self, tenant: str, method: str, path: str, expect: tuple[int, ...], **kwargs: Any) -> Any:
        headers = {"Accept": "application/json", "DataServiceVersion": "3.0", "MaxDataServiceVersion": "3.0"}
        response = self.outbound.request(method, self.root + path, tenant=tenant, peer=PEER, headers=headers,
                                         auth=self.auth, **kwargs)
        if response.status_code not in expect:
            raise LinkFailed(f"{method} {path} answered {response.status_code}")
        if not response.content:
            return {}
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError):
            raise LinkFailed(f"{method} {path} answered a body that is not JSON") from None


def _prop(entity: Any, name: str) -> Any:
    """A property of an OData v3 entity in JSON light or verbose (``{"d": {...}}``) form."""
    if isinstance(entity, dict) and isinstance(entity.get("d"), dict):
        entity = entity["d"]
    return entity.get(name) if isinstance(entity, dict) else None
