"""Helpers shared by the contracts tests (kept out of conftest so they can be imported)."""

from __future__ import annotations

import copy
from typing import Any


def conform_strict(root: Any) -> Any:
    """A copy of a real TRT edited just enough to satisfy the strict profile (a mutation base)."""
    root = copy.deepcopy(root)
    opp = root.find("Opportunity")
    opp.set("validity", "valid")
    opp.set("completeness", (opp.get("completeness") or "complete").lower())
    required = ("assessmentParticipantSessionPlatformUserAgent", "effectiveDate", "startDate")
    required += ("dateCompleted",)
    for name in required:
        opp.set(name, opp.get(name) or "")
    for item in opp.iter("Item"):
        item.set("responseDuration", str(int(float(item.get("responseDuration") or 0))))
        resp = item.find("Response")
        if resp is not None and resp.get("type") is None:
            resp.set("type", "value")
        for info in item.iter("ScoreInfo"):
            info.set("maxScore", info.get("maxScore") or "1")
    return root
