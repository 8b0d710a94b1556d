"""What the TIS client rules of dw, tds and thss share: its deliveries' Idempotency-Keys (TIS-IDEM-001/002,
examrig's extension) and the evidence, in TIS's own journal, that TIS processed an opportunity again.

A peer's journal shows what TIS delivered; only TIS's journal (served in the same run: ``examrig check
--client tis --client dw ...``) shows why: an accepted TRT or the last hand score of an opportunity starts
a new processing pass, whose deliveries rightly carry new keys even when their bytes repeat an earlier
pass's (a hand-scored opportunity's second acknowledgement is byte for byte its first).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from conformance.client.engine import Finding, failed, header, kept_prefix, not_exercised, passed
from mocks.core.errors import InputError
from mocks.core.idempotency import HEADER, parse_key
from mocks.core.journal import Entry

#: the wire form TIS-IDEM-001 names: an RFC 8941 sf-string "tis-<nonce>-<outbox id>"
WIRE_KEY = re.compile(r'^"tis-[0-9A-Za-z]+-[0-9]+"$')
_OPP_KEY = re.compile(r'<Opportunity\b[^>]*?\skey="([^"]+)"')
_TOKEN = re.compile(r"<ContextToken>\s*(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?\s*</ContextToken>", re.S)

#: (earlier, later, opportunity key or None) -> True: TIS's journal shows a new pass between them;
#: False: it shows none; None: TIS's journal is not in the window (cannot tell)
NewPass = Callable[[Entry, Entry, "str | None"], "bool | None"]


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


def new_pass(entries: Sequence[Entry]) -> NewPass:
    """The new-pass evidence of TIS's inbound exchanges among ``entries`` (a rule's context)."""
    tis = [e for e in entries if e.service == "tis" and e.direction == "in"]

    def between(a: Entry, b: Entry, opp: str | None) -> bool | None:
        if not tis:
            return None
        for x in tis:
            if not a.ts <= x.ts <= b.ts:
                continue
            if x.path == "/api/testresult" and x.status == 200:
                named = trt_opp_key(x)
                if opp is None or named is None or named == opp:
                    return True
            if x.path == "/ItemScoringCallbackRcv.axd" and _note(x).get("action") == "handscored":
                named = callback_opp_key(x)
                if opp is None or named is None or named == opp:
                    return True
        return False
    return between


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
                      is_new_pass: NewPass) -> Finding:
    """TIS-IDEM-002 at one receiver: the same delivery sent again keeps its key, so the receiver applies it once.

    Two keyed deliveries with the same bytes under two keys are a resend under a new key unless TIS's journal
    shows a new pass of that opportunity between them; without TIS's journal such a pair is not judged.
    """
    keyed = [e for e in deliveries if key(e)]
    resent_same_key = len({key(e) for e in keyed}) < len(keyed)
    bad: list[Entry] = []
    unjudged = 0
    pairs = 0
    for i, b in enumerate(keyed):
        # one TRT posted to DW1 and DW2 (two receivers) is two deliveries: compare at one receiver
        a = next((x for x in reversed(keyed[:i]) if x.request_sha256 == b.request_sha256 and x.path == b.path),
                 None)
        if a is None or key(a) == key(b):
            continue
        pairs += 1
        verdict = is_new_pass(a, b, opp_of(b))
        if verdict is None:
            unjudged += 1
        elif not verdict:
            bad += [a, b]
    if bad:
        return failed(f"the same {what} was sent again under a new Idempotency-Key, with no new processing pass "
                      "between: the receiver takes it for a new delivery and applies it twice", bad)
    if not resent_same_key and not pairs:
        return not_exercised(f"no {what} was sent twice in the window (a send in doubt when TIS is killed mid-send "
                             "exercises this: tests/tis/test_crash.py)")
    if unjudged == pairs and not resent_same_key:
        return not_exercised(f"{unjudged} {what}(s) repeat an earlier one under a new key; without TIS's journal in "
                             "the window a new pass cannot be told from a resend (serve tis with it)")
    return passed()


__all__ = ["WIRE_KEY", "callback_opp_key", "key", "keys_carried", "new_pass", "resends_keep_keys", "trt_opp_key"]
