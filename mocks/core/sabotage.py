"""Test-only sabotage switches: break one rule of one mock, so a test can show its checks fail.

``tests/conformance/test_checks_can_fail.py`` runs a service's scenarios with ``EXAMRIG_SABOTAGE`` set
to one switch (every switch in one pytest session, docs/state-hook.md) and demands that the scenarios
that fail are exactly scenarios of that switch's requirement. Without the variable (every normal serve,
every normal run) :func:`on` is false and nothing changes: a mock's model (or view) calls :func:`on` in a
single line at the rule it breaks, asking only where the break would change something.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache

ENV = "EXAMRIG_SABOTAGE"

#: switch -> the requirement it breaks (and nothing else).
SWITCHES: dict[str, str] = {
    "openam.refresh-token-dropped": "OAM-TOK-001",
    "openam.wrong-secret-taken": "OAM-TOK-003",
    "openam.wrong-password-taken": "OAM-TOK-004",
    "openam.missing-parameter-taken": "OAM-TOK-005",
    "openam.expires-in-off": "OAM-TOK-006",
    "openam.chain-dropped": "OAM-INFO-001",
    "openam.revoked-token-valid": "OAM-INFO-002",
    "openam.client-credentials-refreshable": "OAM-TOK-002",
    "openam.bad-role-taken": "OAM-CFG-001",
    "openam.description-unworded": "OAM-CONV-001",
    "tds.expired-status-kept": "TDS-REPLY-003",
    "tds.null-key-npe": "TDS-REPLY-007",
    "tds.null-success-npe": "TDS-REPLY-008",
    "tds.key-repeat-applied": "TDS-IDEM-001",
    "tds.bad-key-ignored": "TDS-IDEM-002",
    "tds.refusal-field-renamed": "TDS-CONV-001",
    "tds.error-log-unworded": "TDS-CONV-002",
    "dw.taken-not-200": "DW-RCV-001",
    "dw.scale-range-unchecked": "DW-CHK-001",
    "dw.bad-format-as-invalid": "DW-CHK-002",
    "dw.claim-scores-unchecked": "DW-CHK-003",
    "dw.reset-not-deleted": "DW-EXAM-001",
    "dw.multipart-part-ignored": "DW-IMP-001",
    "dw.imports-not-deduplicated": "DW-IMP-002",
    "dw.role-not-required": "DW-IMP-003",
    "dw.refusal-field-renamed": "DW-CONV-001",
    "dw.key-repeat-recorded": "DW-IDEM-001",
    "dw.bad-key-ignored": "DW-IDEM-002",
    "dw.receipt-messages-dropped": "DW-ADM-001",
    "dw.token-refusal-unworded": "DW-CONV-002",
    "tis.missing-callback-misreported": "TIS-RCV-001",
    "tis.relative-callback-misreported": "TIS-RCV-002",
    "tis.bad-content-misreported": "TIS-RCV-003",
    "tis.other-root-misreported": "TIS-RCV-004",
    "tis.bad-keys-400": "TIS-RCV-005",
    "tis.oppid-zero-kept": "TIS-RCV-007",
    "tis.tokenless-taken": "TIS-RCV-008",
    "tis.itemcount-unscored": "TIS-PRC-001",
    "tis.validation-text-unswapped": "TIS-PRC-002",
    "tis.unloaded-test-rejected": "TIS-PRC-003",
    "tis.dw-failure-ignored": "TIS-PRC-004",
    "tis.thss-upload-skipped": "TIS-HS-001",
    "tis.daemon-score-refused": "TIS-SD-001",
    "tis.wer-d-summed": "TIS-SD-002",
    "tis.combined-held-pending": "TIS-CMB-001",
    "tis.missing-assessment-deleted": "TIS-PKG-001",
    "tis.failed-ack-retried": "TIS-ACK-002",
    "tis.scoremode-not-stored": "TIS-RCV-006",
    "tis.ack-null-trt-omitted": "TIS-ACK-001",
    "tis.message-detail-dropped": "TIS-CONV-001",
    "tis.family-label-unused": "TIS-LBL-001",
    "thss.form-field-taken": "THSS-UP-004",
    "thss.scored-items-taken": "THSS-UP-002",
    "thss.upload-schema-skipped": "THSS-UP-003",
    "thss.reset-keeps-work": "THSS-UP-005",
    "thss.rubric-items-dropped": "THSS-ITEM-001",
    "thss.bad-item-taken": "THSS-ITEM-002",
    "thss.policy-type-ignored": "THSS-POL-001",
    "thss.delay-ignored": "THSS-POL-002",
    "thss.unconfigured-type-scored": "THSS-POL-003",
    "thss.admin-scorer-dropped": "THSS-ADM-001",
    "thss.admin-range-unchecked": "THSS-ADM-002",
    "thss.callback-not-form": "THSS-CB-001",
    "thss.overall-not-sum": "THSS-CB-002",
    "thss.failed-callback-sent": "THSS-CB-003",
    "thss.later-parts-dropped": "THSS-UP-001",
    "thss.callback-error-unworded": "THSS-CONV-001",
}


#: Test-only: called with the switch's name each time :func:`on` is asked about one (on or off). The variant
#: runner (``tests/conformance/independent/corpus_run.py``) records which scenarios reach which switch: a
#: scenario that never asks about a switch runs the same with it on, so that switch's pass need not rerun it.
#: A switch must therefore sit in code that runs on every call, never in a cached computation.
observer: Callable[[str], None] | None = None


@cache
def _switches(raw: str) -> frozenset[str]:
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    unknown = names - set(SWITCHES)
    if unknown:
        raise ValueError(f"{ENV}: unknown sabotage switch {sorted(unknown)[0]!r}")
    return names


def on(name: str) -> bool:
    """Whether the switch ``name`` is on (only ever with ``EXAMRIG_SABOTAGE`` set)."""
    if name not in SWITCHES:
        raise KeyError(f"sabotage switch {name!r} is not declared in mocks/core/sabotage.py")
    if observer is not None:
        observer(name)
    raw = os.environ.get(ENV)
    return bool(raw) and name in _switches(raw)


__all__ = ["ENV", "SWITCHES", "observer", "on"]
