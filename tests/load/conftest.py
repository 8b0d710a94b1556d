"""Fixtures of the load tests: examrig's mocks served on loopback (port 0 each) and a way to run the CLI.

These tests run locust as a subprocess (pytest never imports ``loadtests/``). They need locust, which
``pip install -e .[load]`` brings; without it they fail under ``CI=true`` and skip elsewhere.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("deliveryodata", "proctoru", "tis", "thss", "tds", "dw", "openam")


def _require_locust() -> None:
    missing = [m for m in ("locust", "prometheus_client") if importlib.util.find_spec(m) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (pip install -e .[load])"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _locust_installed() -> None:
    _require_locust()


def env() -> dict[str, str]:
    """The environment of a child examrig: the checkout on the path, unbuffered output."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", ""))
                                                        if p), "PYTHONUNBUFFERED": "1"}


@dataclass
class Mocks:
    """examrig's mocks served for the module."""

    urls: dict[str, str]
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def targets(self, *services: str) -> list[str]:
        """``--target SERVICE=URL`` arguments for ``services``."""
        out: list[str] = []
        for name in services:
            out += ["--target", f"{name}={self.urls[name]}"]
        return out


@pytest.fixture(scope="module")
def mocks() -> Iterator[Mocks]:
    """Every mock served by one ``examrig serve`` (port 0 each, a fresh SQLite file, seed 7)."""
    _require_locust()
    data = Path(tempfile.mkdtemp(prefix="examrig-load-test-"))
    child_env = env()
    for name in SERVICES:
        child_env[f"EXAMRIG_{name.upper()}_PORT"] = "0"
    process = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "--data-dir", str(data),
                                "--seed", "7"], cwd=data, env=child_env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    served = Mocks({}, process)
    deadline = time.monotonic() + 180
    assert process.stdout is not None
    while time.monotonic() < deadline and len(served.urls) < len(SERVICES):
        line = process.stdout.readline()
        if not line:
            break
        served.lines.append(line)
        m = re.match(r"examrig: (\w+) listening on (\S+)", line)
        if m:
            served.urls[m.group(1)] = m.group(2)
    if len(served.urls) < len(SERVICES):
        process.kill()
        pytest.fail(f"the mocks did not start: {''.join(served.lines)[-2000:]}")
    threading.Thread(target=lambda: served.lines.extend(process.stdout or []), daemon=True).start()
    try:
        yield served
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def examrig(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``examrig ARGS`` to its end."""
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=cwd, env=env(), text=True,
                          capture_output=True, timeout=timeout, check=False)


def summary_path(output: str) -> Path:
    """The summary a run names on its last line."""
    m = re.search(r"(\S+-summary\.json)", output)
    assert m, output[-3000:]
    return Path(m.group(1))
