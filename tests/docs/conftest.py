"""Sessions of the docs tests (one per Markdown file and pytest process) and the per-file counts at the end."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.docs.session import Session

_SESSIONS: dict[str, Session] = {}


def session_for(file: str) -> Session:
    """The running session of ``file`` in this process, started on first use."""
    if file not in _SESSIONS:
        _SESSIONS[file] = Session(file)
    return _SESSIONS[file]


def close_session(file: str) -> None:
    """Stop ``file``'s servers and remove its directory (after its last runnable block)."""
    session = _SESSIONS.pop(file, None)
    if session is not None:
        session.close()


@pytest.fixture(scope="session", autouse=True)
def _close_doc_sessions() -> Iterator[None]:
    # a run cut short (-x, a selection by -k) still stops every server it started
    yield
    for file in list(_SESSIONS):
        close_session(file)


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
