"""Every ``sh``/``shell``/``bash`` block of README.md and docs/*.md runs, in order per file (docs/doctest.md)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.docs import markdown
from tests.docs.conftest import close_session, session_for
from tests.docs.markdown import Block

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Blocks that fail today because of a product defect another engineer is fixing (issue 18): block id ->
# (the issue-18 item, its owner). They run as xfail(strict=True): once the fix is merged the block passes,
# the run reports XPASS as a failure, and the entry is removed here.
PENDING: dict[str, tuple[str, str]] = {
    # block id -> (issue-18 item, owner): a block that fails for a product defect being fixed elsewhere; empty now
}

BLOCKS: list[Block] = [b for f in FILES for b in markdown.blocks(f, ROOT)]
_LAST_RUNNABLE = {b.file: b.id for b in BLOCKS if b.skip is None}
_INDEX = {b.id: i for i, b in enumerate(BLOCKS)}


def _param(block: Block) -> object:
    marks = [pytest.mark.xdist_group(block.file)]  # a file's blocks share one session: one worker, in order
    if block.id in PENDING:
        item, owner = PENDING[block.id]
        marks.append(pytest.mark.xfail(strict=True, reason=f"pending: issue 18 {item} ({owner})"))
    return pytest.param(block, id=block.id, marks=marks)


@pytest.mark.parametrize("block", [_param(b) for b in BLOCKS])
def test_block(block: Block) -> None:
    if block.problems:
        pytest.fail(f"{block.id} (line {block.line}): " + "; ".join(block.problems), pytrace=False)
    if block.skip is not None:
        pytest.skip(f"{block.id}: {block.skip}")
    missing = [tool for tool in ("bash", "curl") if shutil.which(tool) is None]
    if missing:
        reason = f"the documented commands need {' and '.join(missing)} on PATH, as on a user's machine"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    session = session_for(block.file)
    # a file's earlier blocks run first even when this process did not get them (xdist without loadgroup)
    for earlier in BLOCKS[:_INDEX[block.id]]:
        if earlier.file == block.file and earlier.skip is None and not earlier.problems \
                and earlier.id not in session.results:
            session.run(earlier)
    result = session.run(block)
    if _LAST_RUNNABLE.get(block.file) == block.id:
        close_session(block.file)
    if not result.ok:
        pytest.fail(result.message, pytrace=False)


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(ROOT).as_posix() for p in FILES])
def test_markers(path: Path) -> None:
    """Markers attach to a shell block and say why; command blocks say what they are; no console blocks."""
    text = path.read_text(encoding="utf-8")
    problems = [f"line {n}: a doctest marker not followed by a fenced block" for n in markdown.orphan_markers(text)]
    problems += [f"line {f.marker_line}: a doctest marker on a '{f.info or 'untagged'}' block (markers are for "
                 f"sh/shell/bash blocks)" for f in markdown.fences(text)
                 if f.marker is not None and f.info not in markdown.RUNNABLE]
    problems += [f"line {n}: an untagged block that reads like commands: tag it sh (run, or marked skip with "
                 f"a reason) or text (a synopsis, a recorded run)" for n in markdown.untagged_commands(path)]
    problems += [f"line {n}: a console block: write the commands as sh and their output as the text block "
                 f"after it" for n in markdown.consoles(path)]
    assert not problems, "\n".join(problems)


def test_pending_entries_exist() -> None:
    """A PENDING entry names a block that exists and runs (a renamed heading would leave it behind)."""
    runnable = {b.id for b in BLOCKS if b.skip is None}
    stale = sorted(set(PENDING) - runnable)
    assert not stale, f"PENDING entries without a runnable block: {stale}"
