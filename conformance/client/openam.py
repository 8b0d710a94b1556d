"""Client rules of openam: what a token client (TIS's outbound OAuth, ERT, THSS) sends to
``/auth/oauth2/access_token``, and how it treats its token's end (reference §2.8, §9). See
docs/client-conformance.md.

The resource servers' ``tokeninfo`` look-ups (the dw mock's for RDW, TIS's own inbound check) are in openam's
journal too: a refused look-up (its note names ``expired``, ``revoked`` or ``unknown``) is where the token a
client presented ran out; the token requests after it show whether the client replaced it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from urllib.parse import parse_qsl

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

SERVICE = "openam"
TOKEN = "/auth/oauth2/access_token"
INFO = "/auth/oauth2/tokeninfo"
FORM = "application/x-www-form-urlencoded"
#: the grants the sources name: TIS's and ERT's password grant, THSS's client_credentials to ART (§2.8)
GRANTS = ("password", "client_credentials")


def token_requests(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in entries if e.direction == "in" and e.method == "POST" and e.path == TOKEN]


def _form(e: Entry) -> dict[str, str]:
    """The form's fields (TIS starts it with a stray '&', which parses away)."""
    return dict(parse_qsl(request_body(e), keep_blank_values=True))


def _answered(e: Entry, status: int) -> bool:
    return e.status == status and not faulted(e)


@rule("OAMC-TOK-001", SERVICE, "a token request is a form POST to access_token?realm=")
def token_form(entries: Sequence[Entry]) -> Finding:
    made = token_requests(entries)
    if not made:
        return not_exercised("the client requested no token")
    bad = [e for e in made if (header(e, "Content-Type") or "").split(";")[0].strip().lower() != FORM
           or not (query(e).get("realm") or [""])[0]]
    return failed(f"a token request is not {FORM} or names no realm", bad) if bad else passed()


@rule("OAMC-TOK-002", SERVICE, "the grant is password (with username and password) or client_credentials")
def grant(entries: Sequence[Entry]) -> Finding:
    made = token_requests(entries)
    if not made:
        return not_exercised("the client requested no token")
    bad = []
    for e in made:
        form = _form(e)
        kind = form.get("grant_type", "")
        if kind not in GRANTS or (kind == "password" and not (form.get("username") and form.get("password"))) \
                or _answered(e, 400):
            bad.append(e)
    return failed("a token request names no supported grant, lacks the password grant's username or password, or "
                  "was refused (400: invalid_request, invalid_grant, unsupported_grant_type)", bad) if bad \
        else passed()


@rule("OAMC-TOK-003", SERVICE, "client credentials on every token request (form fields or HTTP Basic)")
def client_credentials(entries: Sequence[Entry]) -> Finding:
    made = token_requests(entries)
    if not made:
        return not_exercised("the client requested no token")
    bad = []
    for e in made:
        form = _form(e)
        in_form = bool(form.get("client_id") and form.get("client_secret"))
        if not (in_form or header(e, "Authorization") is not None) or _answered(e, 401):
            bad.append(e)
    return failed("a token request carries no client_id and client_secret (nor HTTP Basic), or was refused "
                  "invalid_client (401)", bad) if bad else passed()


def _refused_lookups(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in entries if e.direction == "in" and e.method == "GET" and e.path == INFO
            and e.status is not None and e.status >= 400 and (e.note or "").startswith("token refused:")]


@rule("OAMC-TOK-004", SERVICE, "a token refused at a resource server is replaced with a new one")
def replaced(entries: Sequence[Entry]) -> Finding:
    refused = _refused_lookups(entries)
    if not refused:
        return not_exercised("no resource server was refused the client's token (advance openam's clock past "
                             "expires_in, or revoke the token, to exercise this)")
    made = token_requests(entries)
    bad = [e for e in refused if not any(t.seq > e.seq and _answered(t, 200) for t in made)]
    return failed("after a resource server was refused the client's token, the client asked for no new token",
                  bad) if bad else passed()


@rule("OAMC-TOK-005", SERVICE, "a token is replaced before it expires (expires_in), not used past its lifetime")
def before_expiry(entries: Sequence[Entry]) -> Finding:
    refused = _refused_lookups(entries)
    expired = [e for e in refused if (e.note or "").endswith("expired")]
    if expired:
        return failed("the client presented a token after its expires_in had run out (it was refused as expired)",
                      expired)
    got = [t for t in token_requests(entries) if _answered(t, 200)]
    ahead = [b for a, b in itertools.pairwise(got)
             if not any(a.seq < r.seq < b.seq for r in refused)]
    if ahead:
        return passed("the client asked for a new token while its last one was still accepted")
    return not_exercised("no token the client held reached its lifetime in the window")
