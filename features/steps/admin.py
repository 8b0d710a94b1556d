"""Steps about the admin door every mock shares: other tenants, reset, faults, clock, journal."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from pytest_bdd import given, parsers, then, when

from conformance.outcomes import unsupported
from conformance.targets import Rig
from mocks.core.journal import Journal


def _other(context: dict[str, Any]) -> str:
    other: str = context.setdefault("other_tenant", f"o-{uuid.uuid4().hex[:16]}")
    return other


@given(parsers.parse('in another tenant a TDS opportunity "{opp_key}" in status "{status}"'))
def other_tenant_opportunity(rig: Rig, context: dict[str, Any], opp_key: str, status: str) -> None:
    """Seed the same key in a second tenant."""
    response = rig.admin("tds", "POST", "seed", tenant=_other(context),
                         json={"opportunities": [{"oppKey": opp_key, "status": status}]})
    assert response.status_code == 201, response.text


@then(parsers.parse('in the other tenant the TDS opportunity "{opp_key}" has status "{status}"'))
def other_tenant_status(rig: Rig, context: dict[str, Any], opp_key: str, status: str) -> None:
    """The second tenant's copy is untouched."""
    response = rig.admin("tds", "GET", f"state/opportunities/{opp_key}", tenant=_other(context))
    assert response.status_code == 200 and response.json()["status"] == status, response.text


@when("the tds mock is reset for this tenant")
def reset_tenant(rig: Rig, tenant: str) -> None:
    """POST /_examrig/reset with the tenant header."""
    response = rig.admin("tds", "POST", "reset", tenant=tenant)
    assert response.json() == {"reset": tenant}


@then(parsers.parse('the TDS opportunity "{opp_key}" does not exist'))
def opportunity_absent(rig: Rig, tenant: str, opp_key: str) -> None:
    """The admin door finds nothing."""
    assert rig.admin("tds", "GET", f"state/opportunities/{opp_key}", tenant=tenant).status_code == 404


@given(parsers.parse('the {service} mock answers route "{route}" with status {status:d} once'))
def status_fault(rig: Rig, tenant: str, service: str, route: str, status: int) -> None:
    """One status fault on a route for this tenant."""
    response = rig.admin(service, "POST", "faults", tenant=tenant,
                         json={"kind": "status", "status": status, "route": route, "times": 1})
    assert response.status_code == 201, response.text


@then(parsers.parse('the last {service} journal entry records a "{kind}" fault'))
def last_entry_fault(rig: Rig, tenant: str, service: str, kind: str) -> None:
    """The newest journal entry of the tenant names the fault."""
    entries = rig.admin(service, "GET", "journal?limit=1", tenant=tenant).json()["entries"]
    assert entries and entries[0]["fault"]["applied"][0]["kind"] == kind, entries


@given(parsers.parse("the tds journal keeps only {capacity:d} entries"))
def small_journal(rig: Rig, cleanups: list[Callable[[], None]], capacity: int) -> None:
    """Give the in-process tds mock a small journal for this scenario; the old one comes back after it."""
    if not rig.is_mock("tds"):
        unsupported("the journal bound is a property of examrig's own tds mock, not of a target")
    app = rig.apps["tds"]
    saved = app.journal
    app.journal = Journal(capacity)
    app.outbound.journal = app.journal
    cleanups.append(lambda: _restore(app, saved))


def _restore(app: Any, journal: Any) -> None:
    app.journal = journal
    app.outbound.journal = journal


@when(parsers.parse("I send {count:d} replies for unknown opportunities to tds"))
def many_replies(rig: Rig, tenant: str, context: dict[str, Any], count: int) -> None:
    """Fill the journal past its bound."""
    context["since"] = rig.admin("tds", "GET", "health", tenant=tenant).json()["journal"]["next_seq"]
    for _ in range(count):
        rig.request("tds", "POST", "/student/TIS/API/tisReply", tenant=tenant,
                    json={"oppKey": str(uuid.uuid4()), "success": True})


@then(parsers.parse('a tds journal check for {count:d} inbound requests since the first reports "{code}"'))
def journal_check_code(rig: Rig, tenant: str, context: dict[str, Any], count: int, code: str) -> None:
    """The verification is an error with the given code."""
    result = rig.admin("tds", "POST", "journal/verify", tenant=tenant,
                       json={"count": count, "direction": "in", "since": context["since"]}).json()
    assert result["verdict"] == "error" and result["code"] == code, result


@given(parsers.parse('the tds clock is frozen at "{instant}"'))
def freeze_clock(rig: Rig, tenant: str, instant: str) -> None:
    """Freeze this tenant's clock."""
    assert rig.admin("tds", "POST", "clock", tenant=tenant, json={"set": instant}).json()["frozen"] is True


@given(parsers.parse("the tds clock is advanced by {seconds:d} seconds"))
def advance_clock(rig: Rig, tenant: str, seconds: int) -> None:
    """Move this tenant's clock on."""
    assert rig.admin("tds", "POST", "clock", tenant=tenant, json={"advance": seconds}).status_code == 200


@then(parsers.parse('the TDS opportunity "{opp_key}" was audited at "{instant}"'))
def audited_at(rig: Rig, tenant: str, opp_key: str, instant: str) -> None:
    """The audit row carries the tenant's frozen instant."""
    audit = rig.admin("tds", "GET", f"state/opportunities/{opp_key}", tenant=tenant).json()["audit"]
    assert [a["dateAccessed"] for a in audit] == [instant], audit


@then("in the other tenant the tds clock is not frozen")
def other_clock_free(rig: Rig, context: dict[str, Any]) -> None:
    """Freezing one tenant's clock leaves the others on system time."""
    assert rig.admin("tds", "GET", "clock", tenant=_other(context)).json()["frozen"] is False


@when(parsers.parse('I POST a body of {mib:d} MiB to {service} "{path}"'))
def big_body(rig: Rig, tenant: str, context: dict[str, Any], mib: int, service: str, path: str) -> None:
    """Send an oversized JSON body."""
    context["response"] = rig.request(service, "POST", path, tenant=tenant, data=b" " * (mib * 1024 * 1024),
                                      headers={"Content-Type": "application/json"})
