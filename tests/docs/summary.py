"""pytest plugin (root conftest.py): the per-file counts of documented shell blocks at the end of a run.

A plugin of the root conftest, not of tests/docs/conftest.py: under xdist the controller, which prints the
summary, loads only the root conftest.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

_BLOCK_ID = re.compile(r"test_block\[(?P<file>[^#\]]+)#")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Per Markdown file: how many blocks ran (passed, failed, pending) and how many were skipped."""
    outcomes: dict[str, str] = {}  # nodeid -> its one outcome (a failure in any phase wins)
    for outcome in ("passed", "skipped", "xfailed", "xpassed", "failed", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(rep, "nodeid", "")
            if _BLOCK_ID.search(nodeid):
                outcomes[nodeid] = outcome
    if not outcomes:
        return
    counts: dict[str, Counter[str]] = {}
    for nodeid, outcome in outcomes.items():
        m = _BLOCK_ID.search(nodeid)
        assert m is not None
        counts.setdefault(m.group("file"), Counter())[outcome] += 1
    terminalreporter.section("documented shell blocks")
    for file in sorted(counts):
        c = counts[file]
        ran = c["passed"] + c["failed"] + c["xfailed"] + c["xpassed"] + c["error"]
        detail = ", ".join(f"{c[k]} {label}" for k, label in (
            ("passed", "passed"), ("failed", "failed"), ("xfailed", "pending (xfail)"),
            ("xpassed", "pending but passing"), ("error", "errors")) if c[k])
        terminalreporter.write_line(f"{file}: {ran} run ({detail or 'none'}), {c['skipped']} skipped")
