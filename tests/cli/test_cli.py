"""The examrig command: serve, version and their one-line errors, as a user runs them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from conformance.cli import main

OPP = "aa19a641-c782-4426-8586-e7d77edf2d02"


def _examrig(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "conformance.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_url(proc: subprocess.Popen[str], service: str) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.match(rf"examrig: {service} listening on (https?://\S+)", line)
        if match:
            return match.group(1)
    proc.kill()
    raise AssertionError(f"{service} did not start: {proc.stderr.read() if proc.stderr else ''}")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    yield tmp_path


def test_serve_tds_flow_and_ctrl_c_exits_zero_keeping_acknowledged_writes(workdir: Path) -> None:
    proc = _examrig("serve", "tds", "--port", "0", cwd=workdir)
    try:
        url = _wait_for_url(proc, "tds")
        assert requests.get(url + "/_examrig/health", timeout=10).json()["status"] == "ok"
        seeded = requests.post(url + "/_examrig/seed", json={"opportunities": [{"oppKey": OPP, "status": "submitted"}]},
                               timeout=10)
        assert seeded.status_code == 201
        reply = requests.post(url + "/student/TIS/API/tisReply", json={"oppKey": OPP, "success": True}, timeout=10)
        assert reply.status_code == 200
        state = requests.get(f"{url}/_examrig/state/opportunities/{OPP}", timeout=10).json()
        assert state["status"] == "reported" and state["audit"][0]["accessType"] == "reported"
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "shutting down" in err
    engine = create_engine(f"sqlite:///{workdir / '.examrig' / 'examrig.db'}")
    with engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM testopportunity WHERE oppkey = :k"), {"k": OPP}).scalar()
    engine.dispose()
    assert status == "reported"


def test_sigterm_also_exits_zero(workdir: Path) -> None:
    proc = _examrig("serve", "tds", "--port", "0", "--db", "sqlite://", cwd=workdir)
    _wait_for_url(proc, "tds")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


@pytest.mark.parametrize("command", [["serve", "tds", "--port", "0"], ["worker", "tis"]])
def test_a_burst_of_signals_still_stops_cleanly(workdir: Path, command: list[str]) -> None:
    # a handler that set a threading.Event could deadlock when a signal landed while the main thread held
    # the event's lock (seen with SIGINT then SIGTERM); the handlers now only wake a pipe
    proc = _examrig(*command, "--db", f"sqlite:///{workdir}/burst.db", cwd=workdir)
    if command[0] == "serve":
        _wait_for_url(proc, "tds")
    else:
        assert proc.stdout is not None and "worker running" in proc.stdout.readline()
    for i in range(200):
        proc.send_signal(signal.SIGINT if i % 2 else signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_port_in_use_is_one_line_exit_3(workdir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "conformance.cli", "serve", "tds", "--port", str(port),
                                 "--db", "sqlite://"], cwd=workdir, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert result.stderr.strip() == f"examrig: error: cannot serve tds: port {port} on 127.0.0.1 is already in use"


def test_unreachable_database_is_one_line_exit_3(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "tds", "--db", f"sqlite:///{workdir}/no/such/dir/x.db"])
    err = capsys.readouterr().err.strip()
    assert code == 3 and err.startswith("examrig: error: cannot open database") and "\n" not in err


@pytest.mark.parametrize("args,message", [
    (["serve", "--port", "eighty"], "'eighty' is not a port number"),
    (["serve", "--port", "1", "--port-base", "2"], "not allowed with argument"),
    (["serve", "--colour"], "unrecognized arguments: --colour"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_flags_are_one_line_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2
    assert message in err and "\n" not in err and err.startswith("examrig: error:")


def test_unknown_service(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "nosuch"]) == 2
    assert "unknown service 'nosuch'" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert re.fullmatch(r"examrig \d+\.\d+\.\d+\n", capsys.readouterr().out)


def test_tis_worker_runs_in_its_own_process_and_stops_cleanly(workdir: Path) -> None:
    proc = _examrig("worker", "tis", "--db", f"sqlite:///{workdir / 'w.db'}", cwd=workdir)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "tis worker running" in line, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_serve_over_https_with_a_generated_certificate(workdir: Path) -> None:
    proc = _examrig("serve", "tds", "--port", "0", "--db", "sqlite://", "--tls", "--data-dir", str(workdir),
                    cwd=workdir)
    try:
        url = _wait_for_url(proc, "tds")
        assert url.startswith("https://")
        cert = workdir / "tls" / "examrig-selfsigned.crt"
        assert requests.get(url + "/_examrig/health", verify=str(cert), timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
