"""The client-rule engine: small functions over one tenant's journal entries, turned into check records.

A rule sees the inbound exchanges of one service and one tenant, in journal order, and returns a
:class:`Finding`: ``passed``, ``failed`` (with the exchanges that break it, in order),
``not-exercised`` (the client never did what the rule is about) or ``error`` (the rule needed a body the
journal kept only in part, or a mock fault hides what the client did). :func:`evaluate` turns findings
into :class:`~conformance.verdicts.ScenarioResult` records so ``examrig check``'s aggregation, exit code
and five report writers judge a client run unchanged.

This module imports nothing of werkzeug and nothing of the mocks' packages except the journal's
``Entry`` (plain data): the same rules run in ``examrig check --client`` and behind the live admin
route, which receives them injected (``conformance/client_check.py``).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conformance.verdicts import Exchange, ScenarioResult
from mocks.core.journal import OMITTED, Entry

OUTCOMES = ("passed", "failed", "not-exercised", "error")


class Truncated(Exception):
    """A rule needed a body the journal kept only up to its limit."""

    def __init__(self, entry: Entry, which: str) -> None:
        super().__init__(f"#{entry.seq} {entry.method} {entry.path}: the {which} body is {_size(entry, which)} "
                         f"bytes, past the journal's limit; the rule cannot see it")
        self.entry = entry


def _size(entry: Entry, which: str) -> int:
    return entry.request_size if which == "request" else entry.response_size


@dataclass
class Finding:
    """What one rule found over one tenant's entries."""

    outcome: str
    message: str = ""
    evidence: list[Entry] = field(default_factory=list)


def passed(message: str = "") -> Finding:
    return Finding("passed", message)


def failed(message: str, evidence: Iterable[Entry]) -> Finding:
    # an exchange named twice (it breaks the rule in two ways) shows once; seqs number one journal each
    unique = {(e.service, e.seq): e for e in evidence}
    if len({service for service, _ in unique}) > 1:
        return Finding("failed", message, sorted(unique.values(), key=lambda e: (e.ts, e.service, e.seq)))
    return Finding("failed", message, [unique[k] for k in sorted(unique)])


def not_exercised(message: str) -> Finding:
    return Finding("not-exercised", message)


RuleFn = Callable[[Sequence[Entry]], Finding]


@dataclass(frozen=True)
class ClientRule:
    """One rule: the catalogue requirement it judges and the function that judges it."""

    requirement: str
    service: str
    name: str
    check: RuleFn
    #: the rule also reads the mock's own outbound calls (a token TIS sent that a callback must echo)
    outbound: bool = False
    #: other services whose exchanges (in and out, same tenant) the rule also reads when they are in the
    #: window: examrig's own TIS served with its peers shows why it sent what the peer received
    context: tuple[str, ...] = ()


RULES: dict[str, list[ClientRule]] = {}


def rule(requirement: str, service: str, name: str, *, outbound: bool = False,
         context: tuple[str, ...] = ()) -> Callable[[RuleFn], RuleFn]:
    """Register ``fn`` as the rule of ``requirement`` (the decorator of every rule module)."""
    def register(fn: RuleFn) -> RuleFn:
        RULES.setdefault(service, []).append(ClientRule(requirement, service, name, fn, outbound, context))
        return fn
    return register


# --- helpers the rule modules share ------------------------------------------------------------------


def request_body(entry: Entry) -> str:
    """The whole request body, or :class:`Truncated` when the journal kept only part of it."""
    if len(entry.request_body.encode("utf-8", errors="replace")) < entry.request_size:
        raise Truncated(entry, "request")
    return entry.request_body


def response_body(entry: Entry) -> str:
    """The whole response body, or :class:`Truncated`."""
    if len(entry.response_body.encode("utf-8", errors="replace")) < entry.response_size:
        raise Truncated(entry, "response")
    return entry.response_body


_OMITTED = re.compile(re.escape(OMITTED).replace(r"\{\}", r"\d+").replace(r"\{", "{").replace(r"\}", "}"))


def kept_prefix(entry: Entry, which: str = "request") -> tuple[str, bool]:
    """The head of a body the journal kept, and whether that is the whole body.

    For a rule that needs only what a document starts with (a root element, an attribute of it, a
    multipart part's headers): it reads the prefix and raises :class:`Truncated` itself when what it
    looks for is not in a partial one.
    """
    text = entry.request_body if which == "request" else entry.response_body
    size = entry.request_size if which == "request" else entry.response_size
    whole = len(text.encode("utf-8", errors="replace")) >= size
    return (text if whole else _OMITTED.split(text, maxsplit=1)[0]), whole


def kept_next_link(entry: Entry) -> str | None:
    """The ``odata.nextLink`` of a response body the journal kept only in part (it keeps a page's end:
    ``mocks.core.journal.body_digest``); ``None`` when the kept text has no such end."""
    parts = _OMITTED.split(entry.response_body, maxsplit=1)
    if len(parts) != 2:
        return None
    try:
        tail = json.loads("{" + parts[1])
    except ValueError:
        return None
    link = tail.get("odata.nextLink") if isinstance(tail, dict) else None
    return link if isinstance(link, str) else None


def json_request(entry: Entry) -> Any:
    """The request body as JSON, ``None`` when it is not JSON."""
    try:
        return json.loads(request_body(entry) or "null")
    except ValueError:
        return None


def json_response(entry: Entry) -> Any:
    """The response body as JSON, ``None`` when it is not JSON."""
    try:
        return json.loads(response_body(entry) or "null")
    except ValueError:
        return None


def query(entry: Entry) -> dict[str, list[str]]:
    """The query string's parameters (decoded)."""
    return parse_qs(urlsplit(entry.url).query, keep_blank_values=True)


def header(entry: Entry, name: str) -> str | None:
    """A request header by case-insensitive name (a secret one reads ``<redacted>``: present)."""
    wanted = name.lower()
    return next((v for k, v in entry.request_headers.items() if k.lower() == wanted), None)


def faulted(entry: Entry) -> bool:
    """Whether an injected fault shaped this exchange (the client may not have seen the mock's answer)."""
    return bool(entry.fault)


def curl(entry: Entry) -> str:
    """A curl line that repeats the request (secret headers stay redacted: fill them in)."""
    parts = ["curl", "-sS", "-X", entry.method]
    for name, value in entry.request_headers.items():
        if name.lower() in ("host", "content-length", "connection", "accept-encoding"):
            continue
        parts += ["-H", f"{name}: {value}"]
    if entry.request_body:
        parts += ["--data-binary", entry.request_body]
    parts.append(entry.url)
    return " ".join(shlex.quote(p) for p in parts)


def exchange(entry: Entry) -> Exchange:
    """The report's record of one journal entry."""
    return Exchange(method=entry.method, url=entry.url, request_headers=dict(entry.request_headers),
                    request_body=entry.request_body, status=entry.status,
                    response_headers=dict(entry.response_headers), response_body=entry.response_body,
                    error=entry.error or "", service=entry.service, curl=curl(entry))


# --- evaluation ----------------------------------------------------------------------------------------


def run_rule(r: ClientRule, entries: Sequence[Entry], others: Sequence[Entry] = ()) -> Finding:
    """One rule over one tenant's entries; a truncated body it needed makes it ``error``, never ``pass``.

    A rule sees the client's exchanges (inbound to the mock) unless it asks for the mock's outbound ones too;
    a rule with ``context`` also gets ``others``' entries of those services (after its own, each journal in
    its order: seqs of two journals do not compare, their real-clock ``ts`` do).
    """
    mine = list(entries if r.outbound else [e for e in entries if e.direction == "in"])
    extra = [e for e in others if e.service in r.context and e.service != r.service]
    try:
        return r.check(mine + extra)
    except Truncated as exc:
        return Finding("error", str(exc), [exc.entry])


def by_tenant(entries: Iterable[Entry], service: str) -> dict[str, list[Entry]]:
    """The exchanges of ``service`` (in and out), per tenant, in seq order."""
    out: dict[str, list[Entry]] = {}
    for e in sorted(entries, key=lambda e: e.seq):
        if e.service == service:
            out.setdefault(e.tenant, []).append(e)
    return out


def evaluate(entries: Iterable[Entry], services: Sequence[str], *, overflow: Mapping[str, bool] | None = None,
             rules: Mapping[str, Sequence[ClientRule]] | None = None) -> list[ScenarioResult]:
    """Every rule of ``services`` over every tenant's entries, as check records (one per rule and tenant).

    ``overflow[service]`` true means the window lost entries to the journal's bound: every rule of that
    service is then ``error`` (a rule cannot pass, nor fail, on evidence that is partly gone).
    A service whose journal holds no exchange at all gets one ``not-exercised`` record per rule.
    """
    table = rules if rules is not None else RULES
    entries = list(entries)
    tenants_all: dict[str, list[Entry]] = {}
    for e in entries:
        tenants_all.setdefault(e.tenant, []).append(e)
    results: list[ScenarioResult] = []
    for service in services:
        tenants = by_tenant(entries, service) or {"": []}
        for tenant, mine in sorted(tenants.items()):
            for r in table.get(service, []):
                if overflow and overflow.get(service):
                    finding = Finding("error", "journal overflow: the window lost entries; raise journal_capacity "
                                      "or evaluate a shorter window")
                elif not any(e.direction == "in" for e in mine):
                    finding = not_exercised(f"no exchange with {service} in the window")
                else:
                    finding = run_rule(r, mine, tenants_all.get(tenant, []) if r.context else ())
                results.append(ScenarioResult(
                    id=f"client/{service}/{r.requirement}" + (f"[{tenant}]" if tenant else ""),
                    name=f"{r.name}" + (f" (tenant {tenant})" if tenant else ""), service=service,
                    requirements=[r.requirement], outcome=finding.outcome, feature=f"{service} client rules",
                    message=finding.message, tags=["client", f"req_{r.requirement}"],
                    exchanges=[exchange(e) for e in finding.evidence]))
    return results


__all__ = ["OUTCOMES", "RULES", "ClientRule", "Finding", "Truncated", "curl", "evaluate", "exchange", "failed",
           "header", "json_request", "json_response", "kept_next_link", "kept_prefix", "not_exercised", "passed",
           "query", "request_body", "response_body", "rule", "run_rule"]
