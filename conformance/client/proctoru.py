"""Client rules of proctoru: what an LMS (the Open edX xBlock is one) must send (docs/client-conformance.md).

Source: ../shared/reference/proctoring.md §2.3 (the API surface), §2.6 (fidelity traps), §2.8 (the flow).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from urllib.parse import parse_qs

from conformance.client.engine import (
    Finding,
    Truncated,
    failed,
    faulted,
    header,
    json_response,
    not_exercised,
    passed,
    query,
    request_body,
    rule,
)
from mocks.core.journal import Entry

SERVICE = "proctoru"
# the mock's default stale-request threshold (PU-TIME-003); the client is judged by the same bound
STALE_SECONDS = 300


def calls(entries: Sequence[Entry]) -> list[Entry]:
    """The /api/<Endpoint> exchanges."""
    return [e for e in entries if e.path.startswith("/api/")]


def endpoint(e: Entry) -> str:
    return e.path[len("/api/"):].strip("/")


def params(e: Entry) -> dict[str, str]:
    """The call's parameters as the mock reads them: query string, then a form or JSON body."""
    out = {k: v[0] for k, v in query(e).items()}
    body = request_body(e)
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict):
            out.update({k: str(v) for k, v in data.items()})
        else:
            out.update({k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()})
    return out


_CODE = re.compile(r'"response_code"\s*:\s*(\d+)')
_MESSAGE = re.compile(r'"message"\s*:\s*("(?:[^"\\]|\\.)*")')


def answer(e: Entry) -> tuple[int | None, str, object]:
    """(response_code, message, data) of the envelope; (None, '', None) when it is not one.

    A body past the journal's limit still starts with the envelope's response_code and message (the mock writes
    them before data): they are read from the kept prefix, and data is then None. Without them, Truncated.
    """
    try:
        body = json_response(e)
    except Truncated:
        code, message = _CODE.search(e.response_body), _MESSAGE.search(e.response_body)
        if code is None or message is None:
            raise
        return int(code.group(1)), str(json.loads(message.group(1))), None
    if not isinstance(body, dict):
        return None, "", None
    code = body.get("response_code")
    return (code if isinstance(code, int) else None), str(body.get("message") or ""), body.get("data")


def _parse(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)  # the xBlock's naive utcnow()


@rule("PUC-AUTH-001", SERVICE, "Authorization-Token on every call")
def token(entries: Sequence[Entry]) -> Finding:
    made = calls(entries)
    if not made:
        return not_exercised("the client made no /api call")
    bad = [e for e in made if header(e, "Authorization-Token") is None]
    return failed("a call carries no Authorization-Token header", bad) if bad else passed()


@rule("PUC-TIME-001", SERVICE, "time_sent present and parseable on every call")
def time_sent_present(entries: Sequence[Entry]) -> Finding:
    made = calls(entries)
    if not made:
        return not_exercised("the client made no /api call")
    bad = [e for e in made if _parse(params(e).get("time_sent", "")) is None]
    return failed("a call has no time_sent, or one that is not an ISO 8601 instant", bad) if bad else passed()


@rule("PUC-TIME-002", SERVICE, "time_sent is fresh: within 300 s of the real clock when the call arrived")
def time_sent_fresh(entries: Sequence[Entry]) -> Finding:
    made = [(e, _parse(params(e).get("time_sent", ""))) for e in calls(entries)]
    timed = [(e, t) for e, t in made if t is not None]
    if not timed:
        return not_exercised("no call carried a parseable time_sent")
    # the journal's ts is the real wall clock of the exchange, never the tenant's simulated time (issue 15 item 5)
    bad = [e for e, t in timed if abs((_parse(e.ts) or t) - t).total_seconds() > STALE_SECONDS]
    if bad:
        return failed(f"a time_sent is more than {STALE_SECONDS} s from the real clock (the client's clock is off, "
                      "or it resends an old request)", bad)
    return passed()


@rule("PUC-FORM-001", SERVICE, "request bodies are form-encoded")
def form_encoded(entries: Sequence[Entry]) -> Finding:
    bodied = [e for e in calls(entries) if e.request_size > 0]
    if not bodied:
        return not_exercised("no call carried a body")
    bad = [e for e in bodied
           if not (header(e, "Content-Type") or "").lower().startswith("application/x-www-form-urlencoded")]
    return failed("a body is not application/x-www-form-urlencoded", bad) if bad else passed()


def _reservations(entries: Sequence[Entry]) -> dict[str, tuple[str, Entry]]:
    """reservation_no -> (the reservation_id the institution last gave it, the exchange), from addAdHocProcess."""
    out: dict[str, tuple[str, Entry]] = {}
    for e in calls(entries):
        if endpoint(e) in ("addAdHocProcess", "moveReservation"):
            code, _, data = answer(e)
            if code == 1 and isinstance(data, dict) and data.get("reservation_no") is not None:
                rid = params(e).get("reservation_id") or str(data.get("reservation_id") or "")
                out[str(data["reservation_no"])] = (rid, e)
    return out


@rule("PUC-RES-001", SERVICE, "reschedule, cancel and begin name the institution's own reservations")
def own_reservations(entries: Sequence[Entry]) -> Finding:
    uses = [e for e in calls(entries) if endpoint(e) in ("removeReservation", "moveReservation", "beginReservation")]
    if not uses:
        return not_exercised("the client rescheduled, cancelled or began no reservation")
    known = _reservations(entries)

    def wrong_id_only(e: Entry) -> bool:  # a known reservation_no begun with another reservation_id: PUC-RES-002's
        p = params(e)
        made = known.get(p.get("reservation_no", ""))
        return endpoint(e) == "beginReservation" and made is not None and p.get("reservation_id") != made[0]

    bad = [e for e in uses if answer(e)[1].startswith("Reservation Not found") and not wrong_id_only(e)]
    return failed("a call names a reservation the institution does not hold", bad) if bad else passed()


@rule("PUC-RES-002", SERVICE, "beginReservation sends the reservation_id the reservation was (re)scheduled with")
def begin_same_id(entries: Sequence[Entry]) -> Finding:
    begins = [e for e in calls(entries) if endpoint(e) == "beginReservation"]
    if not begins:
        return not_exercised("the client began no reservation")
    known = _reservations(entries)
    bad: list[Entry] = []
    judged = 0
    for e in begins:
        p = params(e)
        made = known.get(p.get("reservation_no", ""))
        if made is None or made[1].seq > e.seq:
            continue
        judged += 1
        if p.get("reservation_id") != made[0]:
            bad += [made[1], e]
    if bad:
        return failed("a beginReservation carries a reservation_id other than the one its reservation was "
                      "scheduled or rescheduled with", bad)
    if not judged:
        return not_exercised("no begun reservation was scheduled in this window")
    return passed()


@rule("PUC-BEGIN-001", SERVICE, "a reservation is begun only inside its window")
def begin_in_window(entries: Sequence[Entry]) -> Finding:
    begins = [e for e in calls(entries) if endpoint(e) == "beginReservation"]
    if not begins:
        return not_exercised("the client began no reservation")
    bad = [e for e in begins if answer(e)[1].startswith("Reservation is in the future")]
    return failed("a reservation was begun before its window opened", bad) if bad else passed()


@rule("PUC-ERR-001", SERVICE, "a refused call is not retried blindly")
def no_blind_retry(entries: Sequence[Entry]) -> Finding:
    made = calls(entries)
    refused = [e for e in made if answer(e)[0] == 2 and not faulted(e)]
    if not refused:
        return not_exercised("no call of the client was refused")
    bad: list[Entry] = []
    for e in refused:
        nxt = next((x for x in made if x.seq > e.seq and endpoint(x) == endpoint(e)), None)
        if nxt is None:
            continue
        same = {k: v for k, v in params(nxt).items() if k != "time_sent"} == \
            {k: v for k, v in params(e).items() if k != "time_sent"}
        if same:
            bad += [e, nxt]
    if bad:
        return failed("a refused call was sent again unchanged (response_code 2 is not transient)", bad)
    return passed()
