"""Client rules of thss: what a TIS uploads for hand scoring, ``POST /api/test/submit`` (reference §2.5, §2.6,
§11.1). See docs/client-conformance.md.

The upload (the whole TRT in an ItemScoreRequest) is larger than the journal's body limit: THSS's answer
(small, whole) says whether each file was a valid ItemScoreRequest (the mock validates it against the
``thss-upload`` schema), the kept head holds the wrapper's start tag and its callbackUrl.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from conformance.client.deliveries import keys_carried, passes, resends_keep_keys
from conformance.client.engine import (
    Finding,
    Truncated,
    failed,
    faulted,
    header,
    kept_prefix,
    not_exercised,
    passed,
    response_body,
    rule,
)
from mocks.core.journal import Entry

SERVICE = "thss"
SUBMIT = "/api/test/submit"
DAEMON = "/ItemScoringCallbackRcv.axd"
_CALLBACK = re.compile(r'<ItemScoreRequest\b[^>]*?\scallbackUrl\s*=\s*["\']([^"\']*)["\']')
_WRAPPER = re.compile(r"<ItemScoreRequest\b[^>]*>")
_FILENAME = re.compile(r"^[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}_-?[0-9]+\.xml$")
#: THSS's answers for a file that is no ItemScoreRequest it can read (reference §2.5)
_NOT_VALID = ("not in a correct format", "does not contain any data")


def uploads(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in entries if e.service == SERVICE and e.direction == "in" and e.method == "POST"
            and e.path == SUBMIT]


def files(e: Entry) -> list[dict[str, Any]] | None:
    """THSS's ``Files`` answer of an upload, ``None`` when there is none to read (an error, a fault)."""
    if e.status != 200 or faulted(e):
        return None
    try:
        data = json.loads(response_body(e))
    except ValueError:
        return None
    got = data.get("Files") if isinstance(data, dict) else None
    return [f for f in got if isinstance(f, dict)] if isinstance(got, list) else None


def opp_of(e: Entry) -> str | None:
    got = files(e) or []
    name = str(got[0].get("FileName") or "") if got else ""
    return name.split("_", 1)[0].lower() if _FILENAME.match(name) else None


@rule("THSSC-UP-001", SERVICE, "an upload is multipart/form-data holding a valid ItemScoreRequest (thss-upload)")
def upload_valid(entries: Sequence[Entry]) -> Finding:
    made = uploads(entries)
    if not made:
        return not_exercised("the client uploaded nothing to THSS")
    bad = []
    for e in made:
        if (header(e, "Content-Type") or "").split(";")[0].strip().lower() != "multipart/form-data":
            bad.append(e)
            continue
        got = files(e)
        if got is not None and (not got or any(not f.get("Success") and any(
                s in str(f.get("ErrorMessage") or "") for s in _NOT_VALID) for f in got)):
            bad.append(e)
    return failed("an upload was not a multipart ItemScoreRequest THSS could read (its answer says why)", bad) \
        if bad else passed()


@rule("THSSC-UP-002", SERVICE, "the ItemScoreRequest's callbackUrl is the scoring daemon's ItemScoringCallbackRcv.axd")
def callback_url(entries: Sequence[Entry]) -> Finding:
    made = uploads(entries)
    if not made:
        return not_exercised("the client uploaded nothing to THSS")
    bad = []
    for e in made:
        head, whole = kept_prefix(e)
        if not _WRAPPER.search(head):
            if not whole:
                raise Truncated(e, "request")
            continue  # no wrapper at all: THSSC-UP-001's (THSS cannot read it)
        m = _CALLBACK.search(head)
        parts = urlsplit(m.group(1) if m else "")
        if not (parts.scheme in ("http", "https") and parts.netloc and parts.path.endswith(DAEMON)):
            bad.append(e)
    return failed(f"an upload's callbackUrl is not an absolute http(s) URL of the scoring daemon's {DAEMON} (the "
                  "handler that reads THSS's plain ContextToken)", bad) if bad else passed()


@rule("THSSC-UP-003", SERVICE, "one upload per hand-scored item set: one file, {oppKey}_{reportingVersion}.xml, once")
def one_upload(entries: Sequence[Entry]) -> Finding:
    made = uploads(entries)
    if not made:
        return not_exercised("the client uploaded nothing to THSS")
    bad: list[Entry] = []
    taken: dict[str, Entry] = {}
    for e in made:
        got = files(e)
        if got is None:
            continue
        names = [str(f.get("FileName") or "") for f in got]
        if len(got) != 1 or not _FILENAME.match(names[0]):
            bad.append(e)
            continue
        first = taken.get(names[0].lower())
        if first is not None and first.request_sha256 != e.request_sha256:
            bad += [first, e]  # another item set for the same opportunity and reporting version
        elif got[0].get("Success"):
            taken.setdefault(names[0].lower(), e)
    return failed("an upload did not carry exactly one file named {oppKey}_{reportingVersion}.xml, or one "
                  "opportunity's reporting version was uploaded twice with different content", bad) if bad \
        else passed()


@rule("TIS-IDEM-001", SERVICE, "every THSS upload carries its delivery's Idempotency-Key (examrig's extension)")
def thss_keys(entries: Sequence[Entry]) -> Finding:
    return keys_carried(uploads(entries), "THSS upload")


@rule("TIS-IDEM-002", SERVICE, "a THSS upload sent again keeps its Idempotency-Key", context=("tis",))
def thss_resends(entries: Sequence[Entry]) -> Finding:
    return resends_keep_keys(uploads(entries), "THSS upload", opp_of, passes(entries))
