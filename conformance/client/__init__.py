"""Client conformance (issue 15): rules over the journal that judge what a client sent to the mocks.

Importing the package registers every rule module's rules in :data:`conformance.client.engine.RULES`.
"""

from __future__ import annotations

from conformance.client import deliveryodata, proctoru, tis  # noqa: F401  (registers the rules)
from conformance.client.engine import RULES, ClientRule, Finding, evaluate

SERVICES = tuple(RULES)

__all__ = ["RULES", "SERVICES", "ClientRule", "Finding", "evaluate"]
