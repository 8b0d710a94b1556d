"""Client rules of tis: a TDS posting TRTs (reference §2.1, §2.4; spec/tis-api-guide.md) and a hand-scoring
system calling the scoring daemon back (reference §2.6). See docs/client-conformance.md.

A TRT is usually larger than the journal's body limit, so these rules judge it by what the journal always
keeps whole: the request's sha256 (resends), its query (statusCallback), headers, and the mock's answer
(the mock validates the TRT against the strict profile and answers 400 when it is not valid).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from conformance.client.engine import (
    Finding,
    failed,
    faulted,
    header,
    not_exercised,
    passed,
    query,
    request_body,
    rule,
)
from mocks.core.journal import Entry

SERVICE = "tis"
_TOKEN = re.compile(r"<ContextToken>\s*(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?\s*</ContextToken>", re.S)


def posts(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in entries if e.direction == "in" and e.method == "POST" and e.path == "/api/testresult"]


def callbacks(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in entries if e.direction == "in" and e.method == "POST"
            and e.path == "/ItemScoringCallbackRcv.axd" and e.request_size > 0]


def _lost(e: Entry) -> bool:
    return e.status is None or e.status >= 500 or faulted(e)


@rule("TISC-TRT-001", SERVICE, "a posted TRT is valid against the strict profile")
def trt_valid(entries: Sequence[Entry]) -> Finding:
    made = posts(entries)
    if not made:
        return not_exercised("the client posted no TRT")
    bad = [e for e in made if e.status == 400 and not faulted(e)]
    return failed("a TRT was refused as not valid (the answer says why)", bad) if bad else passed()


@rule("TISC-TRT-002", SERVICE, "statusCallback is an absolute URL")
def callback_absolute(entries: Sequence[Entry]) -> Finding:
    made = posts(entries)
    if not made:
        return not_exercised("the client posted no TRT")
    bad = []
    for e in made:
        cb = (query(e).get("statusCallback") or [""])[0]
        parts = urlsplit(cb)
        if not (parts.scheme in ("http", "https") and parts.netloc):
            bad.append(e)
    return failed("a TRT was posted without an absolute statusCallback URL", bad) if bad else passed()


@rule("TISC-TRT-003", SERVICE, "a TRT is posted as XML (Content-Type application/xml or text/xml)")
def content_type(entries: Sequence[Entry]) -> Finding:
    made = posts(entries)
    if not made:
        return not_exercised("the client posted no TRT")
    bad = [e for e in made
           if (header(e, "Content-Type") or "").split(";")[0].strip().lower() not in ("application/xml", "text/xml")]
    return failed("a TRT was posted with a content type other than XML", bad) if bad else passed()


@rule("TISC-AUTH-001", SERVICE, "a bearer token from openam where TIS requires one")
def bearer(entries: Sequence[Entry]) -> Finding:
    made = posts(entries)
    if not made:
        return not_exercised("the client posted no TRT")
    bad = [e for e in made if e.status == 401 and not faulted(e)]
    return failed("a TRT was refused for a missing or invalid bearer token", bad) if bad else passed()


@rule("TISC-RETRY-001", SERVICE, "a TRT whose post failed (5xx, connection error) is retried, unchanged")
def retried(entries: Sequence[Entry]) -> Finding:
    made = posts(entries)
    lost = [e for e in made if _lost(e)]
    if not lost:
        return not_exercised("no TRT post of the client went unanswered (inject a fault to exercise this)")
    bad = [e for e in lost if not any(x.seq > e.seq and x.request_sha256 == e.request_sha256 for x in made)]
    return failed("a TRT whose post failed was never sent again unchanged", bad) if bad else passed()


@rule("TISC-RETRY-002", SERVICE, "an accepted TRT is not sent again")
def no_resend(entries: Sequence[Entry]) -> Finding:
    made = posts(entries)
    if not made:
        return not_exercised("the client posted no TRT")
    accepted: dict[str, Entry] = {}
    bad: list[Entry] = []
    for e in made:
        if e.request_sha256 in accepted:
            bad += [accepted[e.request_sha256], e]
        elif e.status == 200 and not faulted(e):
            accepted[e.request_sha256] = e
    return failed("a TRT TIS had accepted was posted again", bad) if bad else passed()


@rule("TISC-SCORE-001", SERVICE, "an ItemScoreResponse callback is a valid ItemScoreResponse")
def score_valid(entries: Sequence[Entry]) -> Finding:
    made = callbacks(entries)
    if not made:
        return not_exercised("the client sent no scoring callback")
    bad = []
    for e in made:
        try:
            note = json.loads(e.note or "{}")
        except ValueError:
            note = {}
        if isinstance(note, dict) and note.get("action") == "unreadable":
            bad.append(e)
    return failed("a callback is not a readable ItemScoreResponse (the daemon only logs it)", bad) if bad else passed()


def _token(e: Entry) -> str | None:
    m = _TOKEN.search(request_body(e))
    return m.group(1).strip() if m else None


def _thss_token(tok: str) -> bool:
    """Whether a ContextToken is THSS's plain JSON (oppKey, itemBank, itemID), which THSS builds itself."""
    try:
        data = json.loads(tok)
    except ValueError:
        return False
    return isinstance(data, dict) and all(k in data for k in ("oppKey", "itemBank", "itemID"))


def _daemon_note(e: Entry) -> dict[str, object]:
    try:
        note = json.loads(e.note or "{}")
    except ValueError:
        return {}
    return note if isinstance(note, dict) else {}


@rule("TISC-SCORE-002", SERVICE, "the callback echoes the context token TIS sent, unchanged", outbound=True)
def token_echoed(entries: Sequence[Entry]) -> Finding:
    made = callbacks(entries)
    if not made:
        return not_exercised("the client sent no scoring callback")
    sent = [e for e in entries if e.direction == "out" and e.service == SERVICE]
    bad = []
    for e in made:
        tok = _token(e)
        if tok is None:  # no token at all is TISC-SCORE-001's (not a readable ItemScoreResponse)
            continue
        if _thss_token(tok):
            # THSS builds its plain JSON token from the opportunity and item TIS uploaded (reference 2.6, 11.2):
            # it is right when the daemon found that item waiting for a score (the upload itself is past the
            # journal's limit); a late score for an opportunity no longer in handscoring is no token fault
            message = str(_daemon_note(e).get("message") or "")
            if "no item" in message and "waiting" in message:
                bad.append(e)
            continue
        seen = False
        for out in sent:
            if out.seq > e.seq:
                break
            # a truncated outbound body raises Truncated: the rule is then error, never a guess
            seen = tok in request_body(out) or tok in json.dumps(request_body(out))
            if seen:
                break
        if not seen:
            if not sent:
                return not_exercised("TIS sent nothing to a hand-scoring system in this window; the tokens "
                                     "cannot be compared")
            bad.append(e)
    return failed("a callback's ContextToken is not one TIS sent (THSS's JSON token names no item TIS sent for "
                  "hand scoring)", bad) if bad else passed()


@rule("TISC-SCORE-003", SERVICE, "one callback per scored item")
def one_per_item(entries: Sequence[Entry]) -> Finding:
    made = callbacks(entries)
    if not made:
        return not_exercised("the client sent no scoring callback")
    seen: dict[str, Entry] = {}
    bad: list[Entry] = []
    for e in made:
        tok = _token(e)
        if tok is None:
            continue
        try:
            data = json.loads(tok)
        except ValueError:
            continue
        key = json.dumps([data.get(k) for k in ("oppKey", "itemBank", "itemID")]) if isinstance(data, dict) else tok
        if key in seen:
            bad += [seen[key], e]
        seen.setdefault(key, e)
    return failed("an item was scored back more than once", bad) if bad else passed()
