"""Steps of features/proctoru/client_clock.feature: a tenant clock moved away from the real clock, a client stamping
time_sent with the real clock (as every real client does)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pytest_bdd import given, parsers, when

from conformance.targets import Rig
from features.steps.proctoru import _pu, _send


@given(parsers.parse("the proctoru clock runs {days:d} days ahead of the real clock"))
def proctoru_clock_ahead(rig: Rig, tenant: str, context: dict[str, Any], days: int) -> None:
    """Set the tenant's clock running (not frozen) ``days`` ahead; the scenario's own clock is dropped."""
    ahead = datetime.now(UTC) + timedelta(days=days)  # the client's real clock, read by the scenario as a client
    response = rig.admin("proctoru", "POST", "clock", tenant=tenant,
                         json={"set": ahead.isoformat(), "frozen": False})
    assert response.status_code == 200, response.text
    _pu(context).pop("now", None)


@when(parsers.parse('the proctoru client sends {method} "{endpoint}" stamped with the real clock'))
def proctoru_send_real(rig: Rig, tenant: str, context: dict[str, Any], method: str, endpoint: str) -> None:
    """time_sent = the real clock now, naive with microseconds (the xBlock's utcnow().isoformat())."""
    sent = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    _send(rig, tenant, context, method, endpoint, {"time_sent": sent})


@when(parsers.parse('the proctoru client sends {method} "{endpoint}" stamped {minutes:d} minutes before the real '
                    'clock'))
def proctoru_send_real_late(rig: Rig, tenant: str, context: dict[str, Any], method: str, endpoint: str,
                            minutes: int) -> None:
    """time_sent = the real clock ``minutes`` ago."""
    sent = (datetime.now(UTC) - timedelta(minutes=minutes)).replace(tzinfo=None).isoformat(timespec="microseconds")
    _send(rig, tenant, context, method, endpoint, {"time_sent": sent})
