"""``examrig serve --processes N``: N server processes per mock on one port, behaving as one mock.

Python runs one core per process; past the GIL the only way is more processes. The parent:

1. builds the runtime and the apps once, so every table exists before any child starts (two processes
   creating tables together race), then releases the database;
2. makes the :class:`~mocks.core.control.HostSignal` the children will share (the control version and the
   journal barrier epoch, see ``mocks.core.control``);
3. reserves each mock's port with a bound, not listening, ``SO_REUSEPORT`` socket (port 0 is resolved
   here, once, so the printed URL is the port every child listens on, and a restarted child gets it
   back);
4. forks N children; each builds its own runtime (its own connections, a process id from the database)
   and listens on the port with ``SO_REUSEPORT``: the kernel spreads new connections over the listening
   children;
5. prints the URLs once every child is listening, restarts a child that crashed (a non-zero exit or a
   signal other than a stop), and on SIGINT or SIGTERM stops them all (SIGTERM, then SIGKILL after a
   grace period) and returns.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mocks.core import control as control_module
from mocks.core.server import Served, ServeError, _bind_message, bind, run_until_signal, stop_on_signals

STOP_GRACE = 30.0  # seconds children get to finish requests in flight before SIGKILL
READY_TIMEOUT = 120.0  # seconds a child gets to build its apps and listen (a loaded 2-core machine)
CRASH_WINDOW = 5.0  # a child that dies this soon after its start ...
CRASH_LIMIT = 5  # ... this many times in a row makes the parent give up (exit 3)


@dataclass
class Plan:
    """What to serve: each mock's name, host and port, and how a child builds and binds its apps."""

    names: list[str]
    host: str
    ports: dict[str, int]
    processes: int
    # (ports) -> the child's served mocks, bound with reuse_port; runs in the child after the fork
    build: Callable[[dict[str, int]], list[Served]]
    on_stop: Callable[[], None] = field(default=lambda: None)


@dataclass
class _Child:
    slot: int
    pid: int
    started: float
    quick_deaths: int = 0


def reserve(host: str, port: int, name: str) -> socket.socket:
    """A bound, not listening, SO_REUSEPORT socket holding ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(_bind_message(name, host, port, exc)) from None
    return sock


def serve(plan: Plan, announce: Callable[[dict[str, int]], None]) -> int:
    """Run ``plan.processes`` children serving ``plan.names`` until SIGINT or SIGTERM; the exit status."""
    control_module.HOST = control_module.HostSignal()
    held = {name: reserve(plan.host, plan.ports[name], name) for name in plan.names}
    ports = {name: int(sock.getsockname()[1]) for name, sock in held.items()}
    ready_r, ready_w = os.pipe()
    children: dict[int, _Child] = {}
    # the handlers first: a SIGTERM during start-up still stops the children (they reset theirs after the fork)
    done, restore = stop_on_signals()
    try:
        for slot in range(plan.processes):
            child = _spawn(plan, slot, ports, ready_w)
            children[child.pid] = child
        if not _wait_ready(ready_r, plan.processes, children, done):
            if not done.is_set():
                print("examrig: error: a server process did not start (see above)", file=sys.stderr, flush=True)
            _stop_all(children)
            return 0 if done.is_set() else 3
        try:
            announce(ports)
        except BaseException:
            _stop_all(children)  # announcing failed (the ready file could not be written): no orphans
            raise
        code = _supervise(plan, ports, children, ready_r, ready_w, done)
        print("examrig: shutting down", file=sys.stderr, flush=True)
        _stop_all(children)
        return code
    finally:
        restore()
        for sock in held.values():
            sock.close()
        os.close(ready_r)
        os.close(ready_w)
        plan.on_stop()


def _spawn(plan: Plan, slot: int, ports: dict[str, int], ready_w: int) -> _Child:
    pid = os.fork()
    if pid:
        return _Child(slot, pid, time.monotonic())
    code = 1
    try:  # the child: never returns into the parent's code
        os.environ["EXAMRIG_PROCESS_SLOT"] = str(slot)
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        servers = plan.build(ports)

        def ready() -> None:
            os.write(ready_w, b"r")

        code = run_until_signal(servers, on_ready=ready, on_stop=plan.on_stop)
    except ServeError as exc:
        print(f"examrig: error: {exc}", file=sys.stderr, flush=True)
        code = 3
    except BaseException as exc:
        print(f"examrig: error: server process {slot} failed: {type(exc).__name__}: {exc}", file=sys.stderr,
              flush=True)
        code = 3
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _wait_ready(ready_r: int, count: int, children: dict[int, _Child], done: Any) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    seen = 0
    while seen < count and time.monotonic() < deadline and not done.is_set():
        readable, _, _ = select.select([ready_r], [], [], 0.2)
        if readable:
            seen += len(os.read(ready_r, count - seen))
            continue
        for pid in list(children):
            ended, _status = os.waitpid(pid, os.WNOHANG)
            if ended:
                children.pop(pid)
                return False
    return seen >= count


def _supervise(plan: Plan, ports: dict[str, int], children: dict[int, _Child], ready_r: int, ready_w: int,
               done: Any) -> int:
    while not done.wait(0.2):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if not pid:
                break
            child = children.pop(pid, None)
            if child is None or done.is_set():
                continue
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                continue  # stopped on request (a signal sent to it alone): not a crash
            how = (f"exit status {os.WEXITSTATUS(status)}" if os.WIFEXITED(status)
                   else f"signal {os.WTERMSIG(status)}")
            quick = child.quick_deaths + 1 if time.monotonic() - child.started < CRASH_WINDOW else 0
            if quick >= CRASH_LIMIT:
                print(f"examrig: error: server process {child.slot} keeps failing ({how}); stopping",
                      file=sys.stderr, flush=True)
                return 3
            print(f"examrig: server process {child.slot} (pid {pid}) ended with {how}; restarting it",
                  file=sys.stderr, flush=True)
            fresh = _spawn(plan, child.slot, ports, ready_w)
            fresh.quick_deaths = quick
            children[fresh.pid] = fresh
        # drain readiness bytes of restarted children
        while select.select([ready_r], [], [], 0)[0]:
            os.read(ready_r, 64)
    return 0


def _stop_all(children: dict[int, _Child]) -> None:
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while children and time.monotonic() < deadline:
        for pid in list(children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                children.pop(pid)
        if children:
            time.sleep(0.05)
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        children.pop(pid)


def bind_child(name: str, app: Any, host: str, port: int, **kwargs: Any) -> Served:
    """Bind one mock of a child on the shared port (SO_REUSEPORT)."""
    return bind(name, app, host, port, reuse_port=True, **kwargs)
