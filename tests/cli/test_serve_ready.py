"""Issue 18: ``examrig serve --port-base 0 --ready-file F`` (every mock on a free port, F once all listen),
``--option`` errors and ``examrig --version``.

The served tests start ``examrig serve`` as a user's script does (a process of its own, waiting for the file);
everything else runs in process.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from conformance.cli import _ready_file, main
from mocks import registry
from mocks.core.server import write_ready_file

ROOT = Path(__file__).resolve().parents[2]
SEVEN = list(registry.available())


def _serve(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    env.pop("EXAMRIG_PORT_BASE", None)
    env.pop("EXAMRIG_PORT", None)
    return subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_ready(proc: subprocess.Popen[str], path: Path, timeout: float = 120) -> dict[str, Any]:
    """What a script does: poll for the file (never half written: it is renamed into place)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if data.get("pid") == proc.pid:  # not a stale file of another run
                return data
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    _out, err = proc.communicate(timeout=30)
    raise AssertionError(f"no ready file from pid {proc.pid}: {err}")


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    return out, err


def test_port_base_zero_serves_all_seven_on_free_ports_wired_to_each_other(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    ready.write_text('{"pid": 1, "services": {}}', encoding="utf-8")  # a stale file of an earlier run
    proc = _serve("--port-base", "0", "--ready-file", str(ready), "--db", "sqlite://", cwd=tmp_path)
    try:
        data = _wait_for_ready(proc, ready)
        urls = data["services"]
        assert list(urls) == SEVEN
        ports = [int(url.rsplit(":", 1)[1]) for url in urls.values()]
        assert len(set(ports)) == 7 and all(port >= 1024 for port in ports)  # never 0, 1, 2 ... 6
        for name, url in urls.items():
            health = requests.get(f"{url}/_examrig/health", timeout=30)
            assert health.status_code == 200 and health.json()["service"] == name
        # wired as co-hosted mocks always were: each peer is reached at the URL it was bound to
        for name in ("tis", "proctoru"):
            topology = requests.get(f"{urls[name]}/_examrig/config", timeout=30).json()["topology"]
            assert topology == urls
    finally:
        out, _err = _stop(proc)
    for name, url in urls.items():  # the URLs were printed too, the same ones
        assert f"examrig: {name} listening on {url}\n" in out
    assert not ready.exists()  # a stopped rig leaves no file saying it is ready


def test_processes_write_the_ready_file_once_every_child_listens(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    proc = _serve("tds", "openam", "--processes", "2", "--port-base", "0", "--ready-file", str(ready),
                  "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    try:
        data = _wait_for_ready(proc, ready)
        assert list(data["services"]) == ["tds", "openam"]
        for name, url in data["services"].items():
            assert int(url.rsplit(":", 1)[1]) >= 1024
            assert requests.get(f"{url}/_examrig/health", timeout=30).json()["service"] == name
    finally:
        _stop(proc)
    assert not ready.exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_ready_file_that_cannot_be_written_stops_everything_exit_3(tmp_path: Path, processes: str) -> None:
    # /proc/self exists as a directory, but nothing can be created in it: the write fails once the mocks listen
    port = _free_port()
    proc = _serve("tds", "--port", str(port), "--processes", processes, "--ready-file", "/proc/self/ready.json",
                  "--data-dir", str(tmp_path), cwd=tmp_path)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert re.search(r"^examrig: error: cannot write --ready-file /proc/self/ready\.json: ", err, re.M), err
    assert "Traceback" not in err
    with socket.socket() as again:  # nothing left listening: no orphaned server process holds the port
        assert again.connect_ex(("127.0.0.1", port)) != 0


def test_a_stale_ready_file_is_removed_before_anything_starts(tmp_path: Path) -> None:
    stale = tmp_path / "ready.json"
    stale.write_text("{}", encoding="utf-8")
    path, problem = _ready_file(str(stale))
    assert problem is None and path == stale and not stale.exists()


@pytest.mark.parametrize(("where", "needle"), [
    ("missing/ready.json", "no such directory"),
    (".", "is a directory"),
])
def test_an_unusable_ready_file_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   where: str, needle: str) -> None:
    target = tmp_path / where
    assert main(["serve", "tds", "--port", "0", "--db", "sqlite://", "--ready-file", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"examrig: error: --ready-file {target}: {needle}") and err.count("\n") == 1


def test_the_ready_file_is_written_whole_and_nothing_else_is_left(tmp_path: Path) -> None:
    target = tmp_path / "ready.json"
    target.write_text("old", encoding="utf-8")
    write_ready_file(target, {"tds": "http://127.0.0.1:1"}, pid=42)
    assert json.loads(target.read_text(encoding="utf-8")) == {"pid": 42, "services": {"tds": "http://127.0.0.1:1"}}
    assert [p.name for p in tmp_path.iterdir()] == ["ready.json"]


@pytest.mark.parametrize(("option", "needle"), [
    ("nosuch.port=1", "unknown service 'nosuch' in --option nosuch.port=… (services: deliveryodata,"),
    ("tds.colour=1", "--option tds.colour: not an option of tds (tds takes: "),
    ("tis.workrs=2", "--option tis.workrs: not an option of tis (did you mean 'workers'?)"),
    ("tds", "--option 'tds': expected SERVICE.NAME=VALUE"),
    ("thss.server_threads=many", "--option thss.server_threads: 'many' is not an integer"),
])
def test_option_mistakes_are_one_line_exit_2_naming_them(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch, option: str,
                                                         needle: str) -> None:
    monkeypatch.chdir(tmp_path)  # no examrig.toml of the checkout's
    assert main(["serve", "--option", option]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"examrig: error: {needle}") and err.count("\n") == 1, err


def test_version_flag_and_command_agree(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    flag = capsys.readouterr().out
    assert main(["version"]) == 0
    assert re.fullmatch(r"examrig \d+\.\d+\.\d+\n", flag) and capsys.readouterr().out == flag
