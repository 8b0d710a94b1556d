"""Helpers of the ``examrig check`` tests: run the command, serve a mock or a misbehaving target on port 0."""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.subpytest import pytest_env

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "contracts" / "schemas" / "conformance-report.schema.json"


@dataclass
class CheckResult:
    """What one ``examrig check`` subprocess did."""

    code: int
    stdout: str
    stderr: str
    run_dir: Path | None

    @property
    def report(self) -> dict[str, Any]:
        assert self.run_dir is not None, self.stdout + self.stderr
        data: dict[str, Any] = json.loads((self.run_dir / "report.json").read_text(encoding="utf-8"))
        return data

    def verdicts(self) -> dict[str, str]:
        """Requirement ID -> verdict of the selected requirements."""
        return {r["id"]: r["verdict"] for r in self.report["requirements"] if r["selected"]}

    def scenario_verdicts(self) -> dict[str, str]:
        """Scenario name -> verdict."""
        return {s["name"]: s["verdict"] for s in self.report["scenarios"]}


def env() -> dict[str, str]:
    """The environment of a check subprocess: examrig importable from the checkout (tests/subpytest.py)."""
    return pytest_env(PYTHONDONTWRITEBYTECODE="1")


def check_command(*args: str, report_dir: Path) -> list[str]:
    return [sys.executable, "-m", "conformance.cli", "check", *args, "--report-dir", str(report_dir)]


def run_dir_in(report_dir: Path) -> Path | None:
    dirs = sorted(p for p in report_dir.iterdir() if p.is_dir()) if report_dir.is_dir() else []
    return dirs[-1] if dirs else None


def run_check(*args: str, report_dir: Path, timeout: float = 600) -> CheckResult:
    """Run ``examrig check ARGS --report-dir REPORT_DIR`` and collect what it did."""
    done = subprocess.run(check_command(*args, report_dir=report_dir), cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return CheckResult(done.returncode, done.stdout, done.stderr, run_dir_in(report_dir))


@contextmanager
def served_mock(service: str, faults: list[dict[str, Any]] | None = None) -> Iterator[str]:
    """Serve one of examrig's mocks on a loopback port 0 (a stand-in for an integrator's system)."""
    from mocks import registry
    from mocks.core.app import Runtime
    from mocks.core.server import bind, start, stop
    from mocks.core.settings import Settings

    runtime = Runtime.create(Settings(seed=7), db="sqlite://")
    app = registry.available()[service].cls(runtime)
    for rule in faults or []:
        app.faults.add(rule)
    served = bind(service, app, "127.0.0.1", 0)
    start(served)
    try:
        yield served.url
    finally:
        stop(served)
        runtime.store.dispose()


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]


@contextmanager
def served_wsgi(app: WSGIApp) -> Iterator[str]:
    """A tiny WSGI app on loopback port 0 in a thread (werkzeug's threaded server)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def html_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Answers a login page to everything, as a misconfigured proxy would."""
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<!doctype html><html><body><h1>Please log in</h1></body></html>"]


def not_found_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """404 for every path."""
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such page"]


def hanging_app(release: threading.Event) -> WSGIApp:
    """Accepts every request and answers nothing until ``release`` is set (or 120 s pass)."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        release.wait(120)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"late"]
    return app


class _ResetHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(65536)
        # linger 0: close() sends RST, so the client sees "connection reset by peer"
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()


@contextmanager
def resetting_server() -> Iterator[str]:
    """Accepts TCP connections, reads the request and resets the connection."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _ResetHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()
