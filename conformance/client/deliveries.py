"""What the TIS client rules of dw, tds and thss share: its deliveries' Idempotency-Keys (TIS-IDEM-001/002,
examrig's extension) and the evidence, in TIS's own journal, that TIS processed an opportunity again.

A peer's journal shows what TIS delivered; only TIS's journal (served in the same run: ``examrig check
--client tis --client dw ...``) shows why: an accepted TRT or the last hand score of an opportunity starts
a new processing pass, whose deliveries rightly carry new keys even when their bytes repeat an earlier
pass's (a hand-scored opportunity's second acknowledgement is byte for byte its first). Journals are
compared by real-clock arrival (``ts`` less ``duration_ms``); seqs number each journal apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from conformance.client.engine import Finding, failed, header, kept_prefix, not_exercised, passed
from mocks.core.errors import InputError
from mocks.core.idempotency import HEADER, parse_key
from mocks.core.journal import Entry

#: the wire form TIS-IDEM-001 names: an RFC 8941 sf-string "tis-<nonce>-<outbox id>"
WIRE_KEY = re.compile(r'^"tis-[0-9A-Za-z]+-[0-9]+"$')
_OPP_KEY = re.compile(r'<Opportunity\b[^>]*?\skey="([^"]+)"')
_TOKEN = re.compile(r"<ContextToken>\s*(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?\s*</ContextToken>", re.S)

#: (a delivery, its opportunity key or None) -> how many processing passes of that opportunity TIS's journal
#: shows begun before the delivery arrived; None: TIS's journal is not in the window (cannot tell)
Passes = Callable[[Entry, "str | None"], "int | None"]


def arrival(e: Entry) -> datetime:
    """When the exchange began: a journal's ``ts`` is taken when the exchange is done (``duration_ms`` later)."""
    return datetime.fromisoformat(e.ts.replace("Z", "+00:00")) - timedelta(milliseconds=e.duration_ms)


def key(e: Entry) -> str | None:
    """The delivery's Idempotency-Key, ``None`` when absent or not a key at all."""
    try:
        return parse_key(header(e, HEADER))
    except InputError:
        return None


def trt_opp_key(e: Entry) -> str | None:
    """Opportunity@key of a TRT in a request body, when the journal kept that far (lower case)."""
    m = _OPP_KEY.search(kept_prefix(e)[0])
    return m.group(1).lower() if m else None


def callback_opp_key(e: Entry) -> str | None:
    """The oppKey of a scoring callback's plain JSON ContextToken (THSS's), lower case."""
    m = _TOKEN.search(kept_prefix(e)[0])
    if not m:
        return None
    try:
        token = json.loads(m.group(1))
    except ValueError:
        return None
    opp = token.get("oppKey") if isinstance(token, dict) else None
    return opp.lower() if isinstance(opp, str) else None


def passes(entries: Sequence[Entry]) -> Passes:
    """The pass count of TIS's inbound exchanges among ``entries`` (a rule's context).

    A pass begins with an accepted TRT (a file TIS takes) or with the last hand score of an opportunity (the
    daemon re-queues its file); by arrival, since a score can come back while the first pass still routes.
    A TRT whose kept head does not name its opportunity counts for any.
    """
    tis = [e for e in entries if e.service == "tis" and e.direction == "in"]

    def count(b: Entry, opp: str | None) -> int | None:
        if not tis:
            return None
        before = arrival(b)
        n = 0
        for x in tis:
            if arrival(x) > before:
                continue
            if x.path == "/api/testresult" and x.status == 200:
                named = trt_opp_key(x)
            elif x.path == "/ItemScoringCallbackRcv.axd" and _note(x).get("action") == "handscored":
                named = callback_opp_key(x)
            else:
                continue
            n += opp is None or named is None or named == opp
        return n
    return count


def _note(e: Entry) -> dict[str, object]:
    try:
        note = json.loads(e.note or "{}")
    except ValueError:
        return {}
    return note if isinstance(note, dict) else {}


def keys_carried(deliveries: Sequence[Entry], what: str) -> Finding:
    """TIS-IDEM-001 at one receiver: every delivery carries a key of examrig's form; a key names one delivery."""
    if not deliveries:
        return not_exercised(f"TIS delivered no {what} in the window")
    bad = [e for e in deliveries if not WIRE_KEY.match((header(e, HEADER) or "").strip())]
    if bad:
        return failed(f"a {what} carries no Idempotency-Key of the form \"tis-<nonce>-<outbox id>\"", bad)
    bodies: dict[str, Entry] = {}
    reused: list[Entry] = []
    for e in deliveries:
        k = key(e) or ""
        first = bodies.setdefault(k, e)
        if first.request_sha256 != e.request_sha256:
            reused += [first, e]
    if reused:
        return failed(f"one Idempotency-Key was sent with two different {what} bodies: a key names one delivery",
                      reused)
    return passed()


def resends_keep_keys(deliveries: Sequence[Entry], what: str, opp_of: Callable[[Entry], str | None],
                      passes_before: Passes) -> Finding:
    """TIS-IDEM-002 at one receiver: the same delivery sent again keeps its key, so the receiver applies it once.

    The same bytes at one receiver under more keys than TIS made passes of that opportunity (its journal) are a
    resend under a new key; without TIS's journal in the window such a repeat is not judged.
    """
    keyed = [e for e in deliveries if key(e)]
    resent_same_key = len({key(e) for e in keyed}) < len(keyed)
    bad: list[Entry] = []
    unjudged = repeats = 0
    for i, b in enumerate(keyed):
        # one TRT posted to DW1 and DW2 (two receivers) is two deliveries: compare at one receiver
        same = [x for x in keyed[:i + 1] if x.request_sha256 == b.request_sha256 and x.path == b.path]
        keys = list(dict.fromkeys(key(x) for x in same))
        if len(keys) < 2 or keys[-1] != key(b) or key(b) in keys[:-1]:
            continue  # not a repeat, or a resend under a key already seen
        repeats += 1
        made = passes_before(b, opp_of(b))
        if made is None:
            unjudged += 1
        elif len(keys) > made:
            bad += [same[0], b]
    if bad:
        return failed(f"the same {what} was sent again under a new Idempotency-Key, more often than TIS processed "
                      "its opportunity: the receiver takes it for a new delivery and applies it twice", bad)
    if not resent_same_key and not repeats:
        return not_exercised(f"no {what} was sent twice in the window (a send in doubt when TIS is killed mid-send "
                             "exercises this: tests/tis/test_crash.py)")
    if unjudged == repeats and not resent_same_key:
        return not_exercised(f"{unjudged} {what}(s) repeat an earlier one under a new key; without TIS's journal in "
                             "the window a new pass cannot be told from a resend (serve tis with it)")
    return passed()


__all__ = ["WIRE_KEY", "arrival", "callback_opp_key", "key", "keys_carried", "passes", "resends_keep_keys",
           "trt_opp_key"]
