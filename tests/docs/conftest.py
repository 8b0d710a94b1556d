"""Sessions of the docs tests: one per Markdown file and pytest process, stopped after the file's last block."""

from __future__ import annotations

import atexit
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


def _close_all() -> None:
    for file in list(_SESSIONS):
        close_session(file)


# a run cut short (-x, a selection by -k, an interrupted process) still stops every server it started
atexit.register(_close_all)


@pytest.fixture(scope="session", autouse=True)
def _close_doc_sessions() -> Iterator[None]:
    yield
    _close_all()
