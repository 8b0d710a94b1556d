"""The environment for a pytest run in a subprocess (a corpus run, an ``examrig check``): examrig importable,
and only the pytest plugins the corpus needs.

pytest imports every installed ``pytest11`` plugin at start-up (schemathesis, hypothesis, locust, anyio,
faker, benchmark ...): about 2 s of CPU for each of the dozens of child runs these tests make, none of which
uses them. ``PYTEST_PLUGINS`` names the two a corpus run can need (pytest-bdd; xdist for ``-n``/``--jobs``).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pytest_env(**extra: str) -> dict[str, str]:
    """``os.environ`` plus examrig on the path and plugin autoload off (pytest-bdd and xdist named)."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PYTEST_PLUGINS": "pytest_bdd.plugin,xdist.plugin", **extra}
