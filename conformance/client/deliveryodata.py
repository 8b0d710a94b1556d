"""Client rules of deliveryodata: what a proctoring system or candidate portal must send (docs/client-conformance.md).

Sources: ../shared/spec/qm-proctoring-exams.rst (the flow), qm-attempt-entity-2016.rst (the Attempt's
properties), qm-attempts-feeds.rst, ../shared/reference/deliveryodata.md §1.3, §1.4, items 6, 11, 13.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import parse_qs, unquote, urlsplit

from conformance.client.engine import (
    Finding,
    Truncated,
    failed,
    faulted,
    header,
    json_request,
    json_response,
    kept_next_link,
    not_exercised,
    passed,
    query,
    response_body,
    rule,
)
from mocks.core.journal import Entry

SERVICE = "deliveryodata"
_ATTEMPTS = re.compile(r"^/deliveryodata/[^/]+/Attempts(\(\))?$")
_ATTEMPT = re.compile(r"^/deliveryodata/[^/]+/Attempts\((-?\d+)[lL]?\)$")
_LOBBY = re.compile(r"^/lobby/[^/]+/lobby/SystemCheck/(\d+)$")
_WIDGET = re.compile(r"^/lobby/[^/]+/proctorwidget/Index/(\d+)$")
# set on create and never changed (reference item 11; qm-attempt-entity-2016.rst), or written by the service
IMMUTABLE = ("ID", "ExternalAttemptID", "ParticipantID", "AssessmentID", "AssessmentSnapshotID", "Language",
             "LockRequired", "ParticipantFacingQMLobbyUrl", "ProctorFacingQMControlsWidgetUrl", "ResultID",
             "AttemptNumber")
# Int64 properties that $filter may compare, per entity set (reference item 13: the L suffix); Assessment.ID is
# Int64, every other set's ID is Int32 (where the suffix is not needed)
INT64 = {"Assessments": ("ID", "AssessmentID"), "*": ("AssessmentID",)}


def _int64_props(e: Entry) -> tuple[str, ...]:
    last = e.path.rsplit("/", 1)[-1].split("(", 1)[0]
    return INT64.get(last, INT64["*"])


def _compares(props: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(props) + r")\s+(eq|ne|gt|ge|lt|le)\s+(-?\d+)(?![\dlL.])")


def creates(entries: Sequence[Entry]) -> list[tuple[Entry, dict[str, object]]]:
    """The POSTs to the Attempts collection with their JSON bodies (a non-object body maps to {})."""
    out = []
    for e in entries:
        if e.method == "POST" and _ATTEMPTS.match(e.path):
            body = json_request(e)
            out.append((e, body if isinstance(body, dict) else {}))
    return out


def _answered(e: Entry) -> bool:
    """The client saw a success (no fault stood between the mock's answer and the client)."""
    return e.status is not None and 200 <= e.status < 300 and not faulted(e)


def _lost(e: Entry) -> bool:
    """The client saw no usable answer: a 5xx, or a fault (a delay past its timeout, a dropped connection)."""
    return e.status is None or e.status >= 500 or faulted(e)


@rule("DOC-ATT-001", SERVICE, "attempts are created with ExternalAttemptID, ParticipantID and AssessmentID")
def required_properties(entries: Sequence[Entry]) -> Finding:
    made = creates(entries)
    if not made:
        return not_exercised("the client created no attempt")
    bad = [e for e, b in made if any(b.get(k) in (None, "") for k in ("ExternalAttemptID", "ParticipantID",
                                                                     "AssessmentID"))]
    if bad:
        return failed("a POST /Attempts lacks ExternalAttemptID, ParticipantID or AssessmentID", bad)
    return passed(f"{len(made)} create(s) carry all three")


@rule("DOC-ATT-002", SERVICE, "ExternalAttemptID is an ASCII string of at most 64 characters, unique per attempt")
def external_id_form(entries: Sequence[Entry]) -> Finding:
    made = [(e, b) for e, b in creates(entries) if "ExternalAttemptID" in b]
    if not made:
        return not_exercised("the client created no attempt with an ExternalAttemptID")
    bad = []
    created: dict[str, Entry] = {}
    for e, b in made:
        ext = b["ExternalAttemptID"]
        if not isinstance(ext, str) or not ext.isascii() or len(ext) > 64:
            bad.append(e)
            continue
        if ext in created:  # a second create of an attempt the client already saw created
            bad += [created[ext], e]
        elif _answered(e):
            created[ext] = e
    if bad:
        return failed("an ExternalAttemptID is not an ASCII string of at most 64 characters, or is reused "
                      "for a new create after its attempt was created", bad)
    return passed()


@rule("DOC-ATT-003", SERVICE, "ExternalAttemptID is a GUID or URL-like identifier, not a small integer")
def external_id_not_integer(entries: Sequence[Entry]) -> Finding:
    made = [(e, b) for e, b in creates(entries) if "ExternalAttemptID" in b]
    if not made:
        return not_exercised("the client created no attempt with an ExternalAttemptID")
    bad = [e for e, b in made
           if isinstance(b["ExternalAttemptID"], int) or re.fullmatch(r"\d{1,10}", str(b["ExternalAttemptID"]))]
    if bad:
        return failed("an ExternalAttemptID is a small integer (it collides across systems; use a GUID or a "
                      "URL-like id such as 'Heathrow/2026-12-01T10:00')", bad)
    return passed()


@rule("DOC-ATT-004", SERVICE, "a proctored attempt is created with LockRequired and LockStatus true")
def locked(entries: Sequence[Entry]) -> Finding:
    made = creates(entries)
    if not made:
        return not_exercised("the client created no attempt")
    bad = [e for e, b in made if b.get("LockRequired") is not True or b.get("LockStatus") is not True]
    if bad:
        return failed("a create does not set LockRequired and LockStatus to true", bad)
    return passed()


@rule("DOC-RETRY-001", SERVICE, "a create retried after a timeout or 5xx reuses its ExternalAttemptID")
def retry_same_id(entries: Sequence[Entry]) -> Finding:
    made = creates(entries)
    lost = [(e, b) for e, b in made if _lost(e)]
    if not lost:
        return not_exercised("no create of the client went unanswered (inject a fault to exercise this)")
    bad: list[Entry] = []
    for e, b in lost:
        same = (b.get("ParticipantID"), b.get("AssessmentID"))
        later = [(x, c) for x, c in made if x.seq > e.seq and (c.get("ParticipantID"), c.get("AssessmentID")) == same]
        if later and later[0][1].get("ExternalAttemptID") != b.get("ExternalAttemptID"):
            bad += [e, later[0][0]]
    if bad:
        return failed("a create retried after a lost answer carries a new ExternalAttemptID (two attempts "
                      "may now exist for one appointment)", bad)
    return passed()


@rule("DOC-RETRY-002", SERVICE, "a duplicate answer is resolved by reading the attempt back, not by another create")
def duplicate_read_back(entries: Sequence[Entry]) -> Finding:
    made = creates(entries)
    dups = [(e, b) for e, b in made if e.status in (400, 409) and "ExternalAttemptID" in response_body(e)]
    if not dups:
        return not_exercised("no create of the client was refused as a duplicate")
    bad: list[Entry] = []
    for e, b in dups:
        ext = str(b.get("ExternalAttemptID"))
        after = [x for x in entries if x.seq > e.seq]
        read = next((x for x in after if x.method == "GET" and _ATTEMPTS.match(x.path)
                     and ext in unquote(urlsplit(x.url).query)), None)
        other = next((x for x, c in made if x.seq > e.seq and c.get("ExternalAttemptID") != b.get("ExternalAttemptID")
                      and (c.get("ParticipantID"), c.get("AssessmentID")) == (b.get("ParticipantID"),
                                                                             b.get("AssessmentID"))), None)
        if other is not None and (read is None or other.seq < read.seq):
            bad += [e, other]
        elif read is None:
            bad.append(e)
    if bad:
        return failed("after a duplicate answer the client did not read the attempt back "
                      "($filter=ExternalAttemptID eq '…') or created another one", bad)
    return passed()


def _signed_in(body: str) -> set[str]:
    """The lobby and widget URLs' paths with query (what a client could follow) found in a response body."""
    return {m.group(0) for m in re.finditer(r"/lobby/[^\s\"'<>]+", body.replace("\\/", "/"))}


def _target(e: Entry) -> str:
    parts = urlsplit(e.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@rule("DOC-URL-001", SERVICE, "the lobby and proctor URLs are read from the attempt's entity URL")
def urls_from_entity(entries: Sequence[Entry]) -> Finding:
    visits = [e for e in entries if e.method == "GET" and (_LOBBY.match(e.path) or _WIDGET.match(e.path))]
    if not visits:
        return not_exercised("the client opened no lobby or proctor URL")
    bad: list[Entry] = []
    for v in visits:
        source = None
        for e in entries:
            if e.seq >= v.seq:
                break
            if e.method in ("GET", "POST") and (_ATTEMPT.match(e.path) or _ATTEMPTS.match(e.path)) \
                    and _target(v) in _signed_in(response_body(e)):
                source = e
        if source is None:
            bad.append(v)
        elif not _ATTEMPT.match(source.path) and _LOBBY.match(v.path):
            bad += [source, v]
    if bad:
        return failed("a lobby or proctor URL was opened that no earlier GET Attempts(<ID>) answered", bad)
    return passed()


@rule("DOC-URL-002", SERVICE, "a lobby URL is used once: each launch reads a fresh one")
def lobby_once(entries: Sequence[Entry]) -> Finding:
    visits = [e for e in entries if e.method == "GET" and _LOBBY.match(e.path)]
    if not visits:
        return not_exercised("the client opened no lobby URL")
    seen: dict[str, Entry] = {}
    bad: list[Entry] = []
    for v in visits:
        if _target(v) in seen:
            bad += [seen[_target(v)], v]
        seen.setdefault(_target(v), v)
    if bad:
        return failed("a lobby URL (single-use) was opened twice", bad)
    return passed(f"{len(visits)} lobby URL(s), each used once")


@rule("DOC-URL-003", SERVICE, "lobby and proctor URLs are used within their lifetime")
def within_lifetime(entries: Sequence[Entry]) -> Finding:
    visits = [e for e in entries if e.method == "GET" and (_LOBBY.match(e.path) or _WIDGET.match(e.path))]
    if not visits:
        return not_exercised("the client opened no lobby or proctor URL")
    # a refusal for reuse (link_used) is DOC-URL-002's, a bad signature DOC-URL-001's: this rule is the lifetime's
    bad = [v for v in visits if not faulted(v) and (v.status == 410 or (v.status in (401, 403)
                                                                         and "expired" in response_body(v)))]
    if bad:
        return failed("a lobby or proctor URL was refused as expired or invalid", bad)
    return passed()


@rule("DOC-PATCH-001", SERVICE, "no PATCH, MERGE or PUT of an immutable or read-only Attempt property")
def no_immutable_patch(entries: Sequence[Entry]) -> Finding:
    updates = [e for e in entries if e.method in ("PATCH", "MERGE", "PUT") and _ATTEMPT.match(e.path)]
    if not updates:
        return not_exercised("the client updated no attempt")
    bad = []
    for e in updates:
        body = json_request(e)
        if isinstance(body, dict) and any(k in body for k in IMMUTABLE):
            bad.append(e)
    if bad:
        return failed(f"an update sends an immutable or read-only property ({', '.join(IMMUTABLE)})", bad)
    return passed()


@rule("DOC-FILTER-001", SERVICE, "Int64 literals in $filter carry the L suffix")
def int64_suffix(entries: Sequence[Entry]) -> Finding:
    filters = [(e, f) for e in entries if e.method == "GET" for f in query(e).get("$filter", [])]
    relevant = [(e, f) for e, f in filters
                if re.search(r"\b(" + "|".join(_int64_props(e)) + r")\s+(eq|ne|gt|ge|lt|le)\s", f)]
    if not relevant:
        return not_exercised("the client filtered on no Int64 property")
    bad = [e for e, f in relevant if _compares(_int64_props(e)).search(f)]
    if bad:
        return failed("a $filter compares an Int64 property with a literal without the L suffix", bad)
    return passed()


def _json_light(e: Entry) -> bool:
    ctype = next((v for k, v in e.response_headers.items() if k.lower() == "content-type"), "").lower()
    return ctype.startswith("application/json") and "odata=verbose" not in ctype


@rule("DOC-PAGE-001", SERVICE, "a collection read follows odata.nextLink to its last page")
def follows_next_link(entries: Sequence[Entry]) -> Finding:
    pages = []
    for e in entries:
        last = e.path.rsplit("/", 1)[-1]
        if e.method == "GET" and e.status == 200 and e.path.startswith("/deliveryodata/") and "(" not in last:
            try:
                body = json_response(e)
            except Truncated:
                # a full page is past the journal's limit: the journal keeps the end of a body that ends with
                # an odata.nextLink (mocks.core.journal.body_digest), where JSON light writes it; a JSON light
                # page kept without that end has none. Other formats stay unjudgeable (error).
                link = kept_next_link(e)
                if link is None and not _json_light(e):
                    raise
                body = {"odata.nextLink": link}
            if isinstance(body, dict) and isinstance(body.get("odata.nextLink"), str):
                pages.append((e, body["odata.nextLink"]))
    if not pages:
        return not_exercised("no answer of the mock carried an odata.nextLink")
    bad = []
    for e, link in pages:
        want = urlsplit(link)
        followed = any(x.seq > e.seq and x.method == "GET" and urlsplit(x.url).path == want.path
                       and query(x) == parse_qs(want.query, keep_blank_values=True) for x in entries)
        if not followed:
            bad.append(e)
    if bad:
        return failed("a page's odata.nextLink was never requested", bad)
    return passed()


@rule("DOC-AUTH-001", SERVICE, "credentials on every request to the OData service")
def credentials(entries: Sequence[Entry]) -> Finding:
    calls = [e for e in entries if e.path.startswith("/deliveryodata/")]
    if not calls:
        return not_exercised("the client made no OData request")
    bad = [e for e in calls if header(e, "Authorization") is None]
    if bad:
        return failed("a request carries no Authorization header", bad)
    return passed()
