"""Client conformance (issue 15): rules over the journal that judge what a client sent to the mocks.

Importing the package registers every rule module's rules in :data:`conformance.client.engine.RULES`:
deliveryodata, proctoru and tis judge an integrator's client; thss, dw, tds and openam judge whoever called
them (examrig's own TIS when it is served with them).
"""

from __future__ import annotations

from conformance.client import deliveryodata, dw, openam, proctoru, tds, thss, tis  # noqa: F401  (registers)
from conformance.client.engine import RULES, ClientRule, Finding, evaluate

SERVICES = tuple(RULES)

__all__ = ["RULES", "SERVICES", "ClientRule", "Finding", "evaluate"]
