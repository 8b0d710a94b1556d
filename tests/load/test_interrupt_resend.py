"""A forwarded Ctrl-C that locust swallows is sent again (conformance.load._wait), and a child that ignores both is
killed: ``examrig load`` never hangs on an interrupted run."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from conformance import load

# a child that ignores the first SIGINT and exits 0 on the second (prints each, so the test sees them)
SWALLOWS_ONE = """
import signal, sys, time
seen = []
signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))  # no I/O in the handler (reentrant print)
print("ready", flush=True)
told = 0
while True:
    while told < len(seen):
        told += 1
        print("sigint", told, flush=True)
    if told >= 2:
        sys.exit(0)
    time.sleep(0.05)
"""

IGNORES_ALL = """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


def _child(code: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process


def test_a_swallowed_interrupt_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "INTERRUPT_GRACE", 0.5)
    process = _child(SWALLOWS_ONE)
    process.send_signal(load.signal.SIGINT)  # what _forward_sigint does on Ctrl-C
    flag = {"interrupted": True, "sent": True, "sent_at": time.monotonic()}
    assert load._wait(process, timeout=600, flag=flag) == 0
    assert flag.get("resent") is True
    assert process.stdout is not None and process.stdout.read().split() == [b"sigint", b"1", b"sigint", b"2"]


def test_a_child_that_ignores_every_interrupt_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "INTERRUPT_GRACE", 0.3)
    process = _child(IGNORES_ALL)
    flag = {"interrupted": True, "sent": True, "sent_at": time.monotonic()}
    assert load._wait(process, timeout=600, flag=flag) == -load.signal.SIGKILL


def test_without_an_interrupt_nothing_is_sent() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    flag: dict[str, object] = {}
    assert load._wait(process, timeout=600, flag=flag) == 0
    assert "resent" not in flag
