"""The docs runner itself: parsing, markers, output matching, port mapping, the shell session and its servers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs import markdown
from tests.docs.markdown import Block, matches
from tests.docs.session import PORTS, Session, free_port_base, rewrite_ports

DOC = """# Title

<!-- doctest: skip reason="needs your own TIS" -->
```sh
examrig submit trt x --tis http://tis.example.org
```

## Two blocks here

```bash
echo one
```

```text
one
```

<!-- doctest: exit=3 timeout=20 -->
```shell
exit 3
```

```
examrig validate PATH...
```

<!-- doctest: skip -->
```sh
echo no reason
```

<!-- doctest: skip reason="x" -->
Prose: the marker above is attached to nothing.

```console
$ echo hi
```
"""


@pytest.fixture()
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "docs" / "example.md"
    path.parent.mkdir()
    path.write_text(DOC)
    return path


def test_blocks_ids_markers_and_output(doc: Path) -> None:
    got = markdown.blocks(doc, doc.parents[1])
    assert [b.id for b in got] == ["docs/example.md#title", "docs/example.md#two-blocks-here",
                                   "docs/example.md#two-blocks-here.2", "docs/example.md#two-blocks-here.3"]
    skipped, echo, exits, no_reason = got
    assert skipped.skip == "needs your own TIS" and not skipped.problems
    assert echo.expected == "one" and echo.skip is None and echo.exit == 0
    assert exits.exit == 3 and exits.timeout == 20.0 and exits.expected is None
    assert no_reason.problems and "a skip needs a reason" in no_reason.problems[0]


def test_inventory_checks(doc: Path) -> None:
    text = doc.read_text()
    lines = text.split("\n")
    assert [lines[n - 1] for n in markdown.untagged_commands(doc)] == ["```"]  # the examrig validate synopsis
    assert [lines[n - 1] for n in markdown.orphan_markers(text)] == ['<!-- doctest: skip reason="x" -->']
    assert markdown.consoles(doc) == [lines.index("```console") + 1]


def test_unknown_marker_keys_are_problems(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text('<!-- doctest: skp reason="typo" -->\n```sh\ntrue\n```\n')
    (block,) = markdown.blocks(path, tmp_path)
    assert any("unknown doctest marker" in p for p in block.problems)
    assert any("reason= without skip" in p for p in block.problems)


@pytest.mark.parametrize(("expected", "actual", "ok"), [
    ("a\nb", "a\nb\n", True),
    ('{"status":"ok",...}', '{"status":"ok","service":"tds"}', True),
    ("...\nlast", "first\nsecond\nlast", True),
    ("...\nlast", "last", True),
    ("first\n...\nlast", "first\nlast", True),
    ("first\n...", "first", True),
    ("...\nlast", "not last", False),
    ("exit code ...0", "exit code 10", True),
    ('{"status":"ok",...}', '{"status":"down"}', False),
    ("a\nb", "a\nc", False),
    ("whole", "whole and more", False),
])
def test_ellipsis(expected: str, actual: str, ok: bool) -> None:
    assert matches(expected, actual) is ok


def test_rewrite_ports() -> None:
    text, used = rewrite_ports("curl localhost:8604/x http://127.0.0.1:8600 localhost:8607 h:8604", 21000)
    assert text == "curl localhost:21004/x http://127.0.0.1:21000 localhost:8607 h:8604"
    assert used == {8604: 21004, 8600: 21000}


def test_free_port_base_is_below_the_ephemeral_range() -> None:
    base = free_port_base()
    assert base >= 20000 and base + len(PORTS) <= 32000


def _block(text: str, *, expected: str | None = None, exit: int = 0, timeout: float = 30.0,
           alone: bool = False) -> Block:
    return Block(file="t.md", id=f"t.md#{abs(hash(text))}", line=1, text=text, expected=expected, exit=exit,
                 timeout=timeout, alone=alone)


@pytest.fixture()
def session() -> Iterator[Session]:
    s = Session("t.md")
    yield s
    s.close()


def test_session_carries_state_and_reports_failures(session: Session) -> None:
    assert session.run(_block("cd sub 2>/dev/null || mkdir sub && cd sub\nX=42\necho made > f")).ok
    carried = session.run(_block('echo "$X $(basename "$PWD") $(cat f)"', expected="42 sub made"))
    assert carried.ok, carried.message
    failed = session.run(_block("echo before\ncurl -s localhost:8604/nothing-listens\necho after"))
    assert not failed.ok
    assert f"localhost:{session.base + 4}" in failed.message  # the text as run, ports mapped
    assert "8604->" in failed.message and "before" in failed.message and "after" not in failed.stdout
    # errexit ended that bash: the next block gets a new one, in the same directory
    assert session.run(_block("test -d sub && test \"$X\" = ''")).ok
    assert session.run(_block("false | true")).ok is False  # pipefail
    # the stated output is written with the default ports too: mapped as the block's text is
    assert session.run(_block("echo localhost:$((EXAMRIG_PORT_BASE + 4))", expected="localhost:8604")).ok
    wrong = session.run(_block("echo two", expected="one"))
    assert not wrong.ok and "output differs" in wrong.message


def test_expected_exit_codes_and_timeouts(session: Session) -> None:
    assert session.run(_block("exit 3", exit=3)).ok
    assert not session.run(_block("true", exit=3)).ok
    slow = session.run(_block("sleep 60", timeout=1.0))
    assert not slow.ok and "timed out" in slow.message
    assert session.run(_block("echo still here", expected="still here")).ok


def test_environment_is_a_users(session: Session) -> None:
    res = session.run(_block('command -v examrig >/dev/null && command -v curl >/dev/null\n'
                             'echo "$EXAMRIG_PORT_BASE"\ntest -e bench && test -e loadtests && test ! -e .git'))
    assert res.ok, res.message
    assert res.stdout.strip() == str(session.base)


# A stand-in for `examrig serve tds` and `examrig worker tis` (it replaces the session's examrig shim): the
# runner's handling of long-running lines is tested in a fraction of a second per start; README runs the real one.
FAKE_SERVE = r"""#!PYTHON
import http.server, os, signal, sys
if "nosuch" in sys.argv:
    print("examrig: error: unknown service 'nosuch'", file=sys.stderr)
    sys.exit(2)
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # a clean stop, as examrig's
if sys.argv[1] == "worker":
    print("examrig: tis worker running; Ctrl-C to stop", flush=True)
    signal.pause()
port = int(os.environ["EXAMRIG_PORT_BASE"]) + 4

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"status":"ok","service":"tds"}'
        self.send_response(200 if self.path == "/_examrig/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", port), Health)
print(f"examrig: tds listening on http://127.0.0.1:{port}", flush=True)
print("examrig: database sqlite://; Ctrl-C to stop", flush=True)
server.serve_forever()
"""


@pytest.fixture()
def fake_session() -> Iterator[Session]:
    s = Session("t.md")
    shim = s.dir / "bin" / "examrig"
    shim.write_text(FAKE_SERVE.replace("PYTHON", sys.executable))
    yield s
    s.close()


def test_servers_in_the_background_and_alone_blocks(fake_session: Session) -> None:
    session = fake_session
    # a reader's other terminal: the session starts it and keeps it for the file
    res = session.run(_block("examrig serve tds\ncurl -sf localhost:8604/_examrig/health"))
    assert res.ok, res.message
    assert '"service":"tds"' in res.stdout
    (server,) = session.servers
    assert server.urls == [f"http://127.0.0.1:{session.base + 4}"]
    first = server.proc
    # an `alone` block runs with it stopped (the port is free) and it comes back after
    alone = session.run(_block("examrig serve tds --db sqlite:// &\nSERVE=$!\n"
                               "curl -sf localhost:8604/_examrig/health >/dev/null\nkill $SERVE; wait $SERVE",
                               alone=True))
    assert alone.ok, alone.message  # waited for, its own $!, a clean stop (wait gives 0)
    assert first.poll() is not None and not session.servers
    # a run of `alone` blocks: still stopped for the second one
    assert session.run(_block("! curl -sf localhost:8604/_examrig/health", alone=True)).ok
    # the next block without the marker gets it back
    assert session.run(_block("curl -sf localhost:8604/_examrig/health >/dev/null")).ok
    (again,) = session.servers
    assert again.proc is not first and again.proc.poll() is None
    assert session.run(_block("curl -sf localhost:8604/_examrig/health >/dev/null")).ok
    session.close()
    assert again.proc.poll() is not None  # stopped by SIGTERM (or SIGKILL) at the end of the file


def test_a_backgrounded_server_that_fails_fails_its_block(fake_session: Session) -> None:
    res = fake_session.run(_block("examrig serve nosuch &\necho never"))
    assert not res.ok
    assert "exited before it was ready" in res.message and "unknown service" in res.message


def test_a_server_that_does_not_start_fails_its_block(fake_session: Session) -> None:
    res = fake_session.run(_block("examrig serve nosuch"))
    assert not res.ok
    assert "exited with 2 before it was ready" in res.message and "unknown service" in res.message



def test_a_worker_line_runs_in_the_background(fake_session: Session) -> None:
    res = fake_session.run(_block("examrig worker tis\necho after", expected="after"))
    assert res.ok, res.message
    (worker,) = fake_session.servers
    assert worker.proc.poll() is None and worker.urls == []
