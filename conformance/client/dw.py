"""Client rules of dw: what a TIS posts to the data warehouse receivers, DW1/DW2 ``/services/xml`` and RDW's
``/exams/imports`` (reference §2.7, §2.8, §9). See docs/client-conformance.md.

A TRT is larger than the journal's body limit: the body rule reads the kept head (the root element), the
others headers, the receiver's answer and the whole body's sha256 (resends).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from conformance.client.deliveries import keys_carried, passes, resends_keep_keys, trt_opp_key
from conformance.client.engine import (
    Finding,
    Truncated,
    failed,
    faulted,
    header,
    kept_prefix,
    not_exercised,
    passed,
    rule,
)
from mocks.core.journal import Entry

SERVICE = "dw"
IMPORTS = "/exams/imports"
_RECEIVER = re.compile(r"^/dw[12]/services/xml$")
_ROOT = re.compile(r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<TDSReport[\s>/]", re.S)
_FILE_PART = re.compile(r'Content-Disposition:[^\r\n]*\bname="file"', re.I)


def posts(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in entries if e.service == SERVICE and e.direction == "in" and e.method == "POST"
            and (e.path == IMPORTS or _RECEIVER.match(e.path))]


def _mimetype(e: Entry) -> str:
    return (header(e, "Content-Type") or "").split(";")[0].strip().lower()


@rule("DWC-TRT-001", SERVICE, "the body posted is the TRT (a TDSReport; RDW: raw, or the multipart part file)")
def trt_body(entries: Sequence[Entry]) -> Finding:
    made = posts(entries)
    if not made:
        return not_exercised("the client posted nothing to a warehouse receiver")
    bad = []
    for e in made:
        head, whole = kept_prefix(e)
        if e.path == IMPORTS and _mimetype(e) == "multipart/form-data":
            ok = bool(_FILE_PART.search(head))
        else:
            ok = bool(_ROOT.match(head))
        if not ok and not whole and len(head.encode()) < 512:
            raise Truncated(e, "request")  # too little kept to see the root: cannot judge
        if not ok:
            bad.append(e)
    return failed("a warehouse post's body is not a TDSReport document", bad) if bad else passed()


@rule("DWC-TRT-002", SERVICE, "the TRT is posted as application/xml")
def content_type(entries: Sequence[Entry]) -> Finding:
    made = posts(entries)
    if not made:
        return not_exercised("the client posted nothing to a warehouse receiver")
    bad = [e for e in made if _mimetype(e) != "application/xml"
           and not (e.path == IMPORTS and _mimetype(e) == "multipart/form-data")]
    return failed("a TRT was posted with a content type other than application/xml", bad) if bad else passed()


@rule("DWC-AUTH-001", SERVICE, "every RDW import carries an OpenAM bearer token it is not refused for")
def bearer(entries: Sequence[Entry]) -> Finding:
    made = [e for e in posts(entries) if e.path == IMPORTS]
    if not made:
        return not_exercised("the client posted nothing to /exams/imports")
    bad = [e for e in made if header(e, "Authorization") is None]
    for e in made:
        taken_later = any(x.seq > e.seq and x.path == e.path and x.request_sha256 == e.request_sha256
                          and x.status == 202 for x in made)
        if e.status in (401, 403) and not faulted(e) and not taken_later:
            bad.append(e)  # refused, and never taken with a fresh token afterwards
    return failed("an import carried no bearer token, or one RDW refused and no fresh token replaced", bad) if bad \
        else passed()


@rule("DWC-RETRY-001", SERVICE, "no resend of a refused post, except once after a 401/403 with a fresh token",
      context=("openam",))
def retries(entries: Sequence[Entry]) -> Finding:
    made = posts(entries)
    refused = [e for e in made if e.status is None or not 200 <= e.status < 300 or faulted(e)]
    if not refused:
        return not_exercised("no warehouse post was refused (inject a fault at dw, or let the token expire, to "
                             "exercise this)")
    tokens = [e for e in entries if e.service == "openam" and e.direction == "in"
              and e.path == "/auth/oauth2/access_token"]
    seen_openam = any(e.service == "openam" for e in entries)
    bad: list[Entry] = []
    for e in refused:
        again = [x for x in made if x.seq > e.seq and x.path == e.path and x.request_sha256 == e.request_sha256]
        if not again:
            continue
        if e.status in (401, 403) and not faulted(e):
            retry = again[0]
            fresh = not seen_openam or any(e.ts <= t.ts <= retry.ts and t.status == 200 for t in tokens)
            if len(again) > 1 or not fresh:
                bad += [e, *again]
        else:
            bad += [e, *again]
    return failed("a refused warehouse post was sent again (TIS fails the pass and resends only once after a "
                  "401/403, with a new token)", bad) if bad else passed()


@rule("TIS-IDEM-001", SERVICE, "every warehouse post carries its delivery's Idempotency-Key (examrig's extension)")
def dw_keys(entries: Sequence[Entry]) -> Finding:
    return keys_carried(posts(entries), "warehouse post")


@rule("TIS-IDEM-002", SERVICE, "a warehouse post sent again keeps its Idempotency-Key (applied once at the DW)",
      context=("tis",))
def dw_resends(entries: Sequence[Entry]) -> Finding:
    return resends_keep_keys(posts(entries), "warehouse post", trt_opp_key, passes(entries))
