"""Steps about TDS test opportunities (the tds mock's state)."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then

from conformance.outcomes import HarnessError
from conformance.targets import Rig


@given(parsers.parse('a TDS opportunity "{opp_key}" in status "{status}"'))
def seeded_opportunity(rig: Rig, tenant: str, opp_key: str, status: str) -> None:
    """Seed one opportunity in the scenario's tenant."""
    response = rig.admin("tds", "POST", "seed", tenant=tenant,
                         json={"opportunities": [{"oppKey": opp_key, "status": status}]})
    if response.status_code != 201:
        # Preparing the state is the harness's part: a refused seed is an error, not the target's fail.
        raise HarnessError(f"tds state hook refused the seed: {response.status_code} {response.text[:300]}")


def _opportunity(rig: Rig, tenant: str, opp_key: str) -> dict[str, Any]:
    response = rig.admin("tds", "GET", f"state/opportunities/{opp_key}", tenant=tenant)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


@then(parsers.parse('the TDS opportunity "{opp_key}" has status "{status}"'))
def opportunity_status(rig: Rig, tenant: str, opp_key: str, status: str) -> None:
    """The opportunity's current status."""
    actual = _opportunity(rig, tenant, opp_key)["status"]
    assert actual == status, f"status is {actual!r}, expected {status!r}"


@then(parsers.parse('the TDS opportunity "{opp_key}" has an audit row "{access_type}"'))
def opportunity_audit(rig: Rig, tenant: str, opp_key: str, access_type: str) -> None:
    """At least one audit row of the given access type."""
    audit = _opportunity(rig, tenant, opp_key)["audit"]
    assert any(a["accessType"] == access_type for a in audit), f"audit rows: {audit}"


@then(parsers.parse('the TDS opportunity "{opp_key}" has an audit row "{access_type}" with comment "{comment}"'))
def opportunity_audit_comment(rig: Rig, tenant: str, opp_key: str, access_type: str, comment: str) -> None:
    """An audit row of the given access type and comment."""
    audit = _opportunity(rig, tenant, opp_key)["audit"]
    assert any(a["accessType"] == access_type and a["comment"] == comment for a in audit), f"audit rows: {audit}"


@then(parsers.parse('the TDS opportunity "{opp_key}" has no audit rows'))
def opportunity_has_no_audit(rig: Rig, tenant: str, opp_key: str) -> None:
    """Nothing was audited."""
    audit = _opportunity(rig, tenant, opp_key)["audit"]
    assert audit == [], f"audit rows: {audit}"


@then(parsers.parse('the TDS opportunity "{opp_key}" has a dateExpiredReported'))
def opportunity_expired_reported(rig: Rig, tenant: str, opp_key: str) -> None:
    """``dateExpiredReported`` was set (QC_AcceptOpportunity_SP on an expired opportunity)."""
    actual = _opportunity(rig, tenant, opp_key).get("dateExpiredReported")
    assert isinstance(actual, str) and actual, f"dateExpiredReported is {actual!r}"


@then(parsers.parse('the TDS error log has an entry for opportunity "{opp_key}"'))
def tds_error_log_has_entry(rig: Rig, tenant: str, opp_key: str) -> None:
    """The DB error log has an entry about the opportunity (its wording is examrig's: TDS-CONV-002)."""
    response = rig.admin("tds", "GET", "state/errors/all", tenant=tenant)
    assert response.status_code == 200, response.text
    keys = [str(e.get("oppKey", "")).lower() for e in response.json()["errors"]]
    assert opp_key.lower() in keys, f"error log entries are about {keys}"


@then(parsers.parse('the TDS error log mentions "{text}"'))
def tds_error_log_mentions(rig: Rig, tenant: str, text: str) -> None:
    """The DB error log has an entry containing ``text``."""
    response = rig.admin("tds", "GET", "state/errors/all", tenant=tenant)
    messages = [e["message"] for e in response.json()["errors"]]
    assert any(text in m for m in messages), f"error log: {messages}"
