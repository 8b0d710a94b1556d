"""ProctorU routes: ``/api/<Endpoint>``, read by GET or POST alike."""

from __future__ import annotations

from werkzeug.routing import Rule

from mocks.core.app import View
from mocks.proctoru import views

ENDPOINTS: dict[str, View] = {
    "getTimeZoneList": views.get_time_zone_list,
    "getScheduleInfoAvailableTimesList": views.get_schedule_info_available_times_list,
    "addAdHocProcess": views.add_adhoc_process,
    "removeReservation": views.remove_reservation,
    "getStudentReservationList": views.get_student_reservation_list,
    "beginReservation": views.begin_reservation,
    "clientActivityReport": views.client_activity_report,
    "editStudent": views.edit_student,
    "getStudentProfile": views.get_student_profile,
    "moveReservation": views.move_reservation,
    "autoLogin": views.auto_login,
}
# SmarterServices' client calls these two with a trailing slash (api-list.json: "/moveReservation/")
TRAILING_SLASH = ("moveReservation", "autoLogin")


def routes() -> list[tuple[Rule, View]]:
    """Fresh rules for one app (a werkzeug Rule binds to a single Map)."""
    rules = [(Rule(f"/api/{name}", endpoint=name, methods=["GET", "POST"]), view) for name, view in ENDPOINTS.items()]
    rules += [(Rule(f"/api/{name}/", endpoint=name, methods=["GET", "POST"]), ENDPOINTS[name])
              for name in TRAILING_SLASH]
    return rules
