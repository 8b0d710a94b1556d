"""How a scenario step reports an outcome that is neither a pass nor a fail of the system under test.

The contract between the Gherkin corpus (``features/``) and ``examrig check``'s verdicts:

- ``unsupported(reason)``: the check cannot be made against this target (no state hook, a capability
  the integrator declared absent, an examrig convention the target need not follow). The scenario is
  skipped by pytest with a reason starting ``UNSUPPORTED_PREFIX``; ``examrig check`` turns it into the
  ``unsupported`` verdict, never ``pass``.
- ``HarnessError``: the harness or the target's infrastructure failed (connection refused, a journal
  window that overflowed, a state hook that answered garbage). ``examrig check`` turns it into the
  ``error`` verdict, never counted as pass or fail.
- An ``AssertionError`` raised by a ``then`` step is a ``fail``; any other exception is an ``error``.

Scenario tags that carry meaning for ``examrig check``:

- ``@req_<ID>``: the requirement(s) the scenario checks (catalogue IDs).
- ``@examrig``: the scenario checks one of examrig's own conventions or extensions, not the real
  system's contract; against an integrator's target it is ``unsupported`` unless the integrator
  declares the capability ``examrig.conventions``.
- ``@cap_<service>.<name>``: the scenario needs an optional capability (``@cap_tds.idempotency_key``);
  against an integrator's target it is ``unsupported`` unless declared present.
- ``@state_hook``: the scenario prepares or reads state through the state hook (docs/state-hook.md).
"""

from __future__ import annotations

from typing import NoReturn

import pytest

UNSUPPORTED_PREFIX = "unsupported: "


class HarnessError(Exception):
    """The harness or the target's infrastructure failed; the verdict is ``error``."""


def unsupported(reason: str) -> NoReturn:
    """Stop the scenario with the ``unsupported`` verdict and ``reason``."""
    pytest.skip(UNSUPPORTED_PREFIX + reason)


def is_unsupported(skip_reason: str) -> bool:
    """Whether a pytest skip reason came from :func:`unsupported`."""
    return skip_reason.startswith(UNSUPPORTED_PREFIX) or f"Skipped: {UNSUPPORTED_PREFIX}" in skip_reason


__all__ = ["UNSUPPORTED_PREFIX", "HarnessError", "is_unsupported", "unsupported"]
