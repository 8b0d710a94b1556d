"""The documented shell blocks of README.md and docs/*.md: fenced blocks, their markers and stated output.

A fenced block whose info string is ``sh``, ``shell`` or ``bash`` is a test (docs/doctest.md). An HTML comment
``<!-- doctest: ... -->`` right before it (only blank lines between) carries its markers; a ``text`` block right
after it is the output it must print. Everything here is plain parsing: no processes, no ports.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

RUNNABLE = frozenset({"sh", "shell", "bash"})
OUTPUT = "text"
MARKER_KEYS = frozenset({"skip", "reason", "exit", "timeout", "alone"})
DEFAULT_TIMEOUT = 180.0

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\s]*)[^`]*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MARKER = re.compile(r"^\s*<!--\s*doctest:(?P<body>.*?)-->\s*$")
# untagged blocks that read like commands a user types: they must say what they are (sh, or text)
_COMMANDISH = re.compile(r"^(examrig|curl|pytest|python3?|PYTHONPATH=\S*|EXAMRIG_\w+=\S*|\$)\s")


@dataclass
class Fence:
    """One fenced block of a Markdown file, any info string."""

    info: str
    text: str
    line: int  # 1-based line of the opening fence
    end_line: int  # 1-based line of the closing fence
    heading: str
    marker: dict[str, str] | None = None
    marker_line: int | None = None
    marker_error: str | None = None


@dataclass
class Block:
    """A runnable shell block with what the runner needs to know about it."""

    file: str  # relative to the checkout, e.g. "docs/load.md"
    id: str  # "<file>#<heading slug>[.n]": stable while the text around it changes
    line: int
    text: str
    skip: str | None = None
    exit: int = 0
    timeout: float = DEFAULT_TIMEOUT
    expected: str | None = None  # the stated stdout, from a ``text`` block right after
    expected_line: int | None = None
    alone: bool = False  # run with the session's own servers stopped (started again after it)
    problems: list[str] = field(default_factory=list)  # marker errors: the block's test fails on them


def slug(heading: str) -> str:
    """GitHub's anchor of a heading, near enough to read: lower case, punctuation dropped, spaces to ``-``."""
    text = re.sub(r"[`*_\[\]()<>]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return re.sub(r"\s", "-", text.strip()) or "top"


def parse_marker(body: str) -> dict[str, str]:
    """``skip reason="needs your own TIS" timeout=30`` -> {"skip": "", "reason": "...", "timeout": "30"}."""
    out: dict[str, str] = {}
    for word in shlex.split(body):
        key, sep, value = word.partition("=")
        out[key] = value if sep else ""
    return out


def fences(text: str) -> list[Fence]:
    """Every fenced block of a Markdown text, with the heading it sits under and the marker before it."""
    lines = text.split("\n")
    found: list[Fence] = []
    heading = "top"
    pending_marker: tuple[int, str] | None = None  # (line, body) of a marker not yet attached
    i = 0
    while i < len(lines):
        line = lines[i]
        h = _HEADING.match(line)
        m = _FENCE.match(line)
        mk = _MARKER.match(line)
        if h and not line.startswith("    "):
            heading = h.group(2)
            pending_marker = None
        elif mk:
            pending_marker = (i + 1, mk.group("body"))
        elif m:
            indent, fence, info = m.group("indent"), m.group("fence"), m.group("info").lower()
            body: list[str] = []
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(fence):
                raw = lines[j]
                body.append(raw[len(indent):] if raw.startswith(indent) else raw.lstrip())
                j += 1
            f = Fence(info=info, text="\n".join(body), line=i + 1, end_line=j + 1, heading=heading)
            if pending_marker is not None:
                f.marker_line = pending_marker[0]
                try:
                    f.marker = parse_marker(pending_marker[1])
                except ValueError as exc:
                    f.marker_error = f"line {pending_marker[0]}: unreadable doctest marker ({exc})"
                pending_marker = None
            found.append(f)
            i = j + 1
            continue
        elif line.strip():
            # a marker followed by prose is attached to nothing (orphan_markers() reports it)
            pending_marker = None
        i += 1
    return found


def orphan_markers(text: str) -> list[int]:
    """Lines of doctest markers that are not followed (blank lines apart) by a fenced block."""
    lines = text.split("\n")
    orphans = []
    for i, line in enumerate(lines):
        if _MARKER.match(line):
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j >= len(lines) or not _FENCE.match(lines[j]):
                orphans.append(i + 1)
    return orphans


def _only_blank_between(lines: list[str], after: int, before: int) -> bool:
    """True when the 1-based lines strictly between ``after`` and ``before`` are blank."""
    return all(not lines[k].strip() for k in range(after, before - 1))


def blocks(path: Path, root: Path) -> list[Block]:
    """The runnable shell blocks of one Markdown file, in order, with ids, markers and stated output."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    rel = path.relative_to(root).as_posix()
    all_fences = fences(text)
    out: list[Block] = []
    per_heading: dict[str, int] = {}
    for n, f in enumerate(all_fences):
        if f.info not in RUNNABLE:
            continue
        s = slug(f.heading)
        per_heading[s] = per_heading.get(s, 0) + 1
        bid = f"{rel}#{s}" + (f".{per_heading[s]}" if per_heading[s] > 1 else "")
        b = Block(file=rel, id=bid, line=f.line, text=f.text)
        if f.marker_error:
            b.problems.append(f.marker_error)
        mk = f.marker or {}
        unknown = sorted(set(mk) - MARKER_KEYS)
        if unknown:
            b.problems.append(f"line {f.marker_line}: unknown doctest marker key(s) {unknown} "
                              f"(known: {sorted(MARKER_KEYS)})")
        if "skip" in mk:
            reason = mk.get("reason", "").strip() or mk["skip"].strip()
            if not reason:
                b.problems.append(f'line {f.marker_line}: a skip needs a reason: <!-- doctest: skip reason="..." -->')
            b.skip = reason or "(no reason given)"
        elif "reason" in mk:
            b.problems.append(f"line {f.marker_line}: reason= without skip")
        if "alone" in mk:
            b.alone = True
        if "exit" in mk:
            try:
                b.exit = int(mk["exit"])
            except ValueError:
                b.problems.append(f"line {f.marker_line}: exit={mk['exit']!r} is not an exit code")
        if "timeout" in mk:
            try:
                b.timeout = float(mk["timeout"])
            except ValueError:
                b.problems.append(f"line {f.marker_line}: timeout={mk['timeout']!r} is not a number of seconds")
        nxt = all_fences[n + 1] if n + 1 < len(all_fences) else None
        if nxt is not None and nxt.info == OUTPUT and nxt.marker is None \
                and _only_blank_between(lines, f.end_line, nxt.line):
            b.expected = nxt.text
            b.expected_line = nxt.line
        out.append(b)
    return out


def untagged_commands(path: Path) -> list[int]:
    """Lines of fenced blocks without an info string whose first line reads like a command a user types."""
    flagged = []
    for f in fences(path.read_text(encoding="utf-8")):
        first = next((ln for ln in f.text.split("\n") if ln.strip()), "")
        if not f.info and _COMMANDISH.match(first.lstrip()):
            flagged.append(f.line)
    return flagged


def consoles(path: Path) -> list[int]:
    """Lines of ``console`` blocks: not run (prompts mixed with output); written as ``sh`` + ``text`` instead."""
    return [f.line for f in fences(path.read_text(encoding="utf-8")) if f.info == "console"]


def matches(expected: str, actual: str) -> bool:
    """doctest's ELLIPSIS: ``...`` in the expected text stands for any text (none, or several lines).

    A line that is only ``...`` stands for any number of whole lines, none included. Both sides are compared
    with trailing spaces of each line and leading/trailing blank lines removed.
    """
    def norm(s: str) -> str:
        return "\n".join(ln.rstrip() for ln in s.strip("\n").split("\n")).strip("\n")

    pattern = ""
    for line in norm(expected).split("\n"):
        if line.strip() == "...":
            pattern += r"(?:.*?\n)??"
        else:
            pattern += ".*?".join(re.escape(p) for p in line.split("...")) + "\n"
    return re.fullmatch(pattern, norm(actual) + "\n", flags=re.DOTALL) is not None
