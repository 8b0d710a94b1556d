"""One Markdown file's shell session: a temporary directory, free ports, one bash, the servers its blocks start.

The documented commands use the default ports 8600-8606. A session takes a free range of seven ports (base B),
exports ``EXAMRIG_PORT_BASE=B`` and rewrites ``localhost:86NN`` / ``127.0.0.1:86NN`` in a block's text to
``B+NN``: that rewrite is the only change made to what the docs say, and a failure shows the text as run.
A line ``examrig serve ...`` without ``&`` (a reader's other terminal) is started by the session in the
background; one with ``&`` is run by the block's bash as written (its ``$!``, ``kill``, ``wait`` work). Either
way the session waits until the server's printed URLs answer ``/_examrig/health``, and stops what is still
running at the end of the file (SIGTERM, then SIGKILL). docs/doctest.md has the whole contract.
"""

from __future__ import annotations

import os
import queue
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from tests.docs.markdown import Block, matches

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(8600, 8607)  # the documented defaults, in the order of README's table
READY_TIMEOUT = 90.0  # a loaded 2-core machine starts seven mocks in a few seconds; this is the bound, not a wait
STOP_TIMEOUT = 20.0
# a long-running line: optional VAR=value prefixes, `examrig serve ...` or `examrig worker ...`, optional `&`
_SERVE = re.compile(r"^\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*examrig\s+(?P<what>serve|worker)\b.*?(?P<bg>&)?\s*$")
_WORKER = re.compile(r"\bexamrig\s+worker\b")  # a worker serves no URL: ready once it says so
_PORT = re.compile(r"\b(?P<host>localhost|127\.0\.0\.1):(?P<port>86\d\d)\b")
_LISTENING = re.compile(r"listening on (?P<url>https?://\S+)")
_READY_LINE = "Ctrl-C to stop"
_DONE = "__examrig_doc_block_done__"
# the checkout's entries that a session directory must not share (state a command writes, caches)
_PRIVATE = {".git", ".examrig", "reports", ".tox", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}


def free_port_base(count: int = len(PORTS)) -> int:
    """A base B such that B..B+count-1 are free on loopback now, below the ephemeral range (port-0 binds).

    The other tests bind port 0 and get ports from the kernel's ephemeral range (32768 and up here), so a
    range under it meets them only by a port someone fixed; the random start keeps xdist workers apart.
    """
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rng.randrange(20000, 32000 - count, count + 3)
        socks: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free range of ports found under 32000")


def rewrite_ports(text: str, base: int) -> tuple[str, dict[int, int]]:
    """Map ``localhost:86NN`` and ``127.0.0.1:86NN`` (8600-8606) onto base+NN; returns the text and the map."""
    used: dict[int, int] = {}

    def sub(m: re.Match[str]) -> str:
        port = int(m.group("port"))
        if port not in PORTS:
            return m.group(0)
        used[port] = base + port - PORTS[0]
        return f"{m.group('host')}:{used[port]}"

    return _PORT.sub(sub, text), used


@dataclass
class Server:
    """A long-running ``examrig serve`` a block started, with the tail of what it printed."""

    command: str
    proc: subprocess.Popen[str]
    urls: list[str] = field(default_factory=list)
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    stdout: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def tail(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Result:
    """What one block did."""

    ok: bool
    message: str
    stdout: str = ""
    elapsed: float = 0.0


@dataclass
class Shelled:
    """One piece of a block run by the session's bash: its exit code, output files, last background pid."""

    code: int
    out: Path
    err: Path
    bg_pid: int | None = None
    extra: list[str] = field(default_factory=list)  # what bash itself printed (its own errors)

    def stdout(self) -> str:
        return _read(self.out)

    def stderr(self) -> str:
        return _read(self.err) + "".join(self.extra)


class Session:
    """The terminal a reader of one Markdown file would have: run its blocks in order, then close()."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.base = free_port_base()
        self.dir = Path(tempfile.mkdtemp(prefix="examrig-doc-"))
        self.work = self.dir / "work"
        self.work.mkdir()
        # the checkout's files, read-only by convention (bench/, loadtests/, examples/ resolve as in a checkout);
        # what a command writes (.examrig/, reports/, generated files) stays in the session directory
        for entry in sorted(ROOT.iterdir()):
            if entry.name not in _PRIVATE:
                (self.work / entry.name).symlink_to(entry)
        bindir = self.dir / "bin"
        bindir.mkdir()
        shim = bindir / "examrig"
        # examrig is not installed here: the shim runs this checkout's CLI, as `pip install -e .` would
        shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}${{PYTHONPATH:+:$PYTHONPATH}}" '
                        f'exec "{sys.executable}" -m conformance.cli "$@"\n')
        shim.chmod(0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EXAMRIG_", "PYTEST_", "PYTHON"))}
        env.update({
            "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            # an editable install makes examrig's packages importable from python3: the same here
            "PYTHONPATH": str(ROOT),
            "PYTHONDONTWRITEBYTECODE": "1",
            "EXAMRIG_PORT_BASE": str(self.base),
            "HOME": os.environ.get("HOME", str(self.dir)),
        })
        self.env = env
        self.servers: list[Server] = []
        self.shell: subprocess.Popen[str] | None = None
        self.shells: list[subprocess.Popen[str]] = []  # every bash so far: a dead one's background jobs live on
        self.results: dict[str, Result] = {}
        self.stopped: list[str] = []  # commands of servers stopped for `alone` blocks, started again after them
        self.counter = 0

    # -- the shell ---------------------------------------------------------------------------------------------

    def _shell(self) -> subprocess.Popen[str]:
        if self.shell is None or self.shell.poll() is not None:
            # its own process group: whatever a block leaves running in the background is stopped with it
            self.shell = subprocess.Popen(
                ["bash", "--noprofile", "--norc"], cwd=self.work, env=self.env, text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            self.shells.append(self.shell)
        return self.shell

    def _run_shell(self, script: str, timeout: float) -> Shelled:
        """Run ``script`` in the session's bash with errexit and pipefail.

        The script is sourced by the long-lived bash, so ``cd``, variables, exports and background jobs (``$!``,
        ``kill %1``, ``wait``) carry over to the next block as in a reader's terminal; a failing command ends
        that bash (errexit) and the next block gets a new one.
        """
        self.counter += 1
        n = self.counter
        path, out, err = (self.dir / f"block{n}.{ext}" for ext in ("sh", "out", "err"))
        path.write_text(script + "\n")
        shell = self._shell()
        assert shell.stdin is not None and shell.stdout is not None
        shell.stdin.write(f"set -e -o pipefail; . '{path}' </dev/null >'{out}' 2>'{err}'; "
                          f"set +e; echo {_DONE} $? ${{!:-none}}\n")
        shell.stdin.flush()
        lines: queue.Queue[str | None] = queue.Queue()
        stdout = shell.stdout

        def read() -> None:
            for line in stdout:
                lines.put(line)
                if line.startswith(_DONE):
                    return
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        result = Shelled(code=-1, out=out, err=err)
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self._kill_shell()
                result.extra.append(f"\n[doctest: timed out after {timeout:.0f} s]")
                return result
            if line is None:
                result.code = shell.wait()
                self.shell = None
                return result
            if line.startswith(_DONE):
                _, code, pid = line.split()
                result.code = int(code)
                result.bg_pid = None if pid == "none" else int(pid)
                return result
            result.extra.append(line)

    def _kill_shell(self) -> None:
        if self.shell is not None and self.shell.poll() is None:
            _stop_group(self.shell, 5.0)
        self.shell = None

    # -- servers -----------------------------------------------------------------------------------------------

    def _start_server(self, command: str) -> str | None:
        """Start ``examrig serve ...`` in the background and wait until each URL it prints is healthy.

        Returns None when ready, else why not (it exited, or did not get ready in time) with what it printed.
        """
        command = re.sub(r"&\s*$", "", command.strip())
        proc = subprocess.Popen(["bash", "-c", command], cwd=self.work, env=self.env, text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        server = Server(command=command, proc=proc)
        self.servers.append(server)
        out = proc.stdout
        assert out is not None

        def pump() -> None:
            for line in out:
                server.lines.append(line.rstrip("\n"))
                server.stdout.put(line)
            server.stdout.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + READY_TIMEOUT
        announced = False
        while not announced:
            try:
                line = server.stdout.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                return f"`{command}` printed no '{_READY_LINE}' within {READY_TIMEOUT:.0f} s:\n{server.tail()}"
            if line is None:
                return f"`{command}` exited with {proc.wait()} before it was ready:\n{server.tail()}"
            m = _LISTENING.search(line)
            if m:
                server.urls.append(m.group("url"))
            announced = _READY_LINE in line
        if not server.urls and not _WORKER.search(command):
            return f"`{command}` printed no 'listening on URL' line:\n{server.tail()}"
        for url in server.urls:
            problem = _wait_healthy(url, deadline, proc)
            if problem:
                return f"`{command}`: {problem}\n{server.tail()}"
        return None

    # -- blocks ------------------------------------------------------------------------------------------------

    def run(self, block: Block) -> Result:
        """Run one block: its shell text in order, its server lines in the background; check exit and output."""
        started = time.monotonic()
        text, mapped = rewrite_ports(block.text, self.base)
        pieces: list[Shelled] = []

        def outputs() -> tuple[str, str]:
            return "".join(p.stdout() for p in pieces), "".join(p.stderr() for p in pieces)

        def fail(why: str, code: int | None) -> Result:
            out, err = outputs()
            return self._result(block, text, mapped, False, why, out, err, code, started)

        if block.alone:
            self._stop_servers()
        elif self.stopped:
            # the first block after a run of `alone` ones: the reader starts the other terminal's server again
            problem = self._restart_servers()
            if problem:
                return fail(f"the servers stopped for the `alone` blocks before did not start again: {problem}",
                            None)
        code = 0
        for kind, seg in _segments(text):
            if kind == "serve":
                problem = self._start_server(seg)
                if problem:
                    return fail(f"server did not start: {problem}", None)
                continue
            piece = self._run_shell(seg, block.timeout)
            pieces.append(piece)
            code = piece.code
            if code != 0:
                break
            if kind == "serve&":
                # the block's own background job (its `$!`, `kill`, `wait` work): wait until it is ready
                problem = _wait_printed_ready(piece, time.monotonic() + READY_TIMEOUT)
                if problem:
                    return fail(f"`{seg.strip()}` did not get ready: {problem}", None)
        out_text, err_text = outputs()
        if code != block.exit:
            why = (f"exit {code}, expected {block.exit}" if code >= 0 else "timed out")
            return self._result(block, text, mapped, False, why, out_text, err_text, code, started)
        # the stated output names the default ports too: the same mapping applies to it
        expected = None if block.expected is None else rewrite_ports(block.expected, self.base)[0]
        if expected is not None and not matches(expected, out_text):
            return self._result(block, text, mapped, False,
                                f"output differs from the text block at line {block.expected_line}",
                                out_text, err_text, code, started)
        return self._result(block, text, mapped, True, "ok", out_text, err_text, code, started)

    def _stop_servers(self) -> None:
        """Stop the servers the session started (a reader's other terminals), to start them again later."""
        for s in self.servers:
            _stop_group(s.proc, STOP_TIMEOUT)
        self.stopped += [s.command for s in self.servers]
        self.servers = []

    def _restart_servers(self) -> str | None:
        commands, self.stopped = self.stopped, []
        for command in commands:
            problem = self._start_server(command)
            if problem:
                return problem
        return None

    def _result(self, block: Block, text: str, mapped: dict[int, int], ok: bool, why: str, out: str, err: str,
                code: int | None, started: float) -> Result:
        elapsed = time.monotonic() - started
        if ok:
            res = Result(True, why, out, elapsed)
        else:
            ports = ", ".join(f"{a}->{b}" for a, b in sorted(mapped.items())) or "none in the text"
            parts = [f"{block.id} (line {block.line}): {why} after {elapsed:.1f} s",
                     f"ports mapped (EXAMRIG_PORT_BASE={self.base}): {ports}",
                     f"directory: {self.work}",
                     "--- block as run ---", text]
            if block.expected is not None:
                parts += ["--- expected stdout ('...' matches anything; ports mapped as in the block) ---",
                          rewrite_ports(block.expected, self.base)[0]]
            parts += ["--- stdout ---", _tail(out), "--- stderr ---", _tail(err)]
            for s in self.servers:
                parts += [f"--- server `{s.command}` (running: {s.proc.poll() is None}) ---", s.tail()]
            res = Result(False, "\n".join(parts), out, elapsed)
        self.results[block.id] = res
        return res

    def close(self) -> None:
        """Stop the servers (SIGTERM, then SIGKILL) and the shell; remove the directory."""
        for s in reversed(self.servers):
            _stop_group(s.proc, STOP_TIMEOUT)
        self.servers.clear()
        for shell in self.shells:
            _stop_group(shell, STOP_TIMEOUT)
        self.shell = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _segments(text: str) -> list[tuple[str, str]]:
    """Split a block into shell text and ``examrig serve`` lines, in order (a continued line stays shell).

    ``serve``: a server line without ``&`` (a reader runs it in a terminal of its own): the session starts it.
    ``serve&``: a server line with ``&``: the block's bash runs it as written, the session waits for it.
    """
    segs: list[tuple[str, str]] = []
    buf: list[str] = []
    continued = False
    for line in text.split("\n"):
        m = None if continued else _SERVE.match(line)
        if m:
            if any(b.strip() for b in buf):
                segs.append(("shell", "\n".join(buf)))
            buf = []
            segs.append(("serve&" if m.group("bg") else "serve", line))
        else:
            buf.append(line)
        continued = line.rstrip().endswith("\\")
    if any(b.strip() and not b.strip().startswith("#") for b in buf):
        segs.append(("shell", "\n".join(buf)))
    return segs


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not yet reaped by its bash, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _wait_printed_ready(piece: Shelled, deadline: float) -> str | None:
    """Wait until a backgrounded ``examrig serve`` printed its URLs and ready line and each URL is healthy."""
    if piece.bg_pid is None:
        return "no background job was started"
    printed = ""
    while time.monotonic() < deadline:
        printed = piece.stdout()
        if _READY_LINE in printed:
            break
        if not _alive(piece.bg_pid):
            return f"it exited before it was ready:\n{printed}{piece.stderr()}"
        time.sleep(0.1)  # polling what it printed (a condition), not a fixed wait
    else:
        return f"no '{_READY_LINE}' within {READY_TIMEOUT:.0f} s:\n{printed}{piece.stderr()}"
    urls = _LISTENING.findall(printed)
    if not urls and "worker running" not in printed:
        return f"it printed no 'listening on URL' line:\n{printed}"
    for url in urls:
        if not _alive(piece.bg_pid):
            return f"it exited before {url} was healthy:\n{printed}{piece.stderr()}"
        problem = _wait_healthy(url, deadline, None)
        if problem:
            return problem
    return None


def _wait_healthy(url: str, deadline: float, proc: subprocess.Popen[str] | None) -> str | None:
    """Poll ``url/_examrig/health`` until it answers 200 (the condition, not a fixed sleep), or say why not."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # --tls serves a self-signed certificate; readiness is all that is asked
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return f"exited with {proc.returncode} while {url} was not healthy ({last})"
        try:
            with urllib.request.urlopen(f"{url.rstrip('/')}/_examrig/health", timeout=5, context=ctx) as r:
                if r.status == 200:
                    return None
                last = f"status {r.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.1)
    return f"{url}/_examrig/health did not answer 200 within {READY_TIMEOUT:.0f} s ({last})"


def _stop_group(proc: subprocess.Popen[str], timeout: float) -> None:
    """SIGTERM the process group (a clean stop), then SIGKILL what is left after ``timeout`` seconds."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _tail(text: str, limit: int = 6000) -> str:
    return text if len(text) <= limit else f"[... {len(text) - limit} characters before ...]\n{text[-limit:]}"
