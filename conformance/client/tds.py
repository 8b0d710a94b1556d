"""Client rules of tds: what a TIS sends to TDS's status callback, the acknowledgement (reference §2.4, §2.4.1,
§2.4.2; §9). See docs/client-conformance.md.

An acknowledgement is small, so these rules read its body whole; whether an identical second one was a new
processing pass (a hand-scored opportunity is acknowledged twice, byte for byte alike) is read from TIS's own
journal when it is in the window.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from conformance.client.deliveries import keys_carried, passes, resends_keep_keys
from conformance.client.engine import Finding, failed, faulted, header, not_exercised, passed, request_body, rule
from contracts.validate import validate_json
from mocks.core.journal import Entry

SERVICE = "tds"
ACK_PATHS = ("/student/TIS/API/tisReply", "/tis")


def acks(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in entries if e.service == SERVICE and e.direction == "in" and e.method == "POST"
            and e.path in ACK_PATHS]


def opp_key(e: Entry) -> str | None:
    try:
        data = json.loads(request_body(e))
    except ValueError:
        return None
    opp = data.get("oppKey") if isinstance(data, dict) else None
    return opp.lower() if isinstance(opp, str) else None


@rule("TDSC-ACK-001", SERVICE, "an acknowledgement is {oppKey, success, error, trt} (the tis-ack schema)")
def ack_shape(entries: Sequence[Entry]) -> Finding:
    made = acks(entries)
    if not made:
        return not_exercised("the client sent no acknowledgement")
    bad = [e for e in made if not validate_json(request_body(e), "tis-ack").valid]
    return failed("an acknowledgement is not valid against the tis-ack schema (oppKey a GUID, success a "
                  "boolean, error and trt strings or null, nothing else)", bad) if bad else passed()


@rule("TDSC-ACK-002", SERVICE, "an acknowledgement is posted as application/json")
def ack_content_type(entries: Sequence[Entry]) -> Finding:
    made = acks(entries)
    if not made:
        return not_exercised("the client sent no acknowledgement")
    bad = [e for e in made if (header(e, "Content-Type") or "").split(";")[0].strip().lower() != "application/json"]
    return failed("an acknowledgement was posted with a content type other than application/json", bad) if bad \
        else passed()


@rule("TDSC-ACK-003", SERVICE, "one acknowledgement per processing outcome: one TDS did not take is not resent")
def ack_not_retried(entries: Sequence[Entry]) -> Finding:
    made = acks(entries)
    lost = [e for e in made if e.status != 200 or faulted(e)]
    if not lost:
        return not_exercised("TDS took every acknowledgement (inject a fault at tds to exercise this)")
    bad: list[Entry] = []
    for e in lost:
        again = [x for x in made if x.seq > e.seq and x.request_sha256 == e.request_sha256]
        if again:
            bad += [e, *again]
    return failed("an acknowledgement TDS did not take was sent again (TIS logs a failed acknowledgement and "
                  "does not retry it)", bad) if bad else passed()


@rule("TIS-IDEM-001", SERVICE, "every acknowledgement carries its delivery's Idempotency-Key (examrig's extension)")
def ack_keys(entries: Sequence[Entry]) -> Finding:
    return keys_carried(acks(entries), "acknowledgement")


@rule("TIS-IDEM-002", SERVICE, "an acknowledgement sent again keeps its Idempotency-Key (applied once at TDS)",
      context=("tis",))
def ack_resends(entries: Sequence[Entry]) -> Finding:
    return resends_keep_keys(acks(entries), "acknowledgement", opp_key, passes(entries))
