"""The five report writers of a conformance run; each takes a :class:`~conformance.verdicts.Run` and a directory.

They read the run only, never pytest, so a client-conformance run (journal rules) reuses them unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conformance.reports import cucumber, html_report, json_report, junit, markdown
from conformance.verdicts import Run

Writer = Callable[[Run, Path], Path]

WRITERS: dict[str, Writer] = {
    "json": json_report.write,
    "md": markdown.write,
    "html": html_report.write,
    "junit": junit.write,
    "cucumber": cucumber.write,
}

__all__ = ["WRITERS", "Writer"]
