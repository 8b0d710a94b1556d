"""Steps of the tds scenarios about idempotency keys (the generic ones from features/tds/keyed_steps.py)."""

from __future__ import annotations

from pytest_bdd import parsers, then

from conformance.targets import Rig
from features.tds.keyed_steps import register

register()


@then(parsers.parse('the TDS opportunity "{opp_key}" has exactly the audit rows "{rows}"'))
def exact_audit(rig: Rig, tenant: str, opp_key: str, rows: str) -> None:
    """Every audit row of the opportunity, in order (comma-separated access types)."""
    response = rig.admin("tds", "GET", f"state/opportunities/{opp_key}", tenant=tenant)
    assert response.status_code == 200, response.text
    actual = [a["accessType"] for a in response.json()["audit"]]
    assert actual == rows.split(","), f"audit rows: {actual}"
