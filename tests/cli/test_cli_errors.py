"""Issue 12: every CLI and settings error is one line with the documented exit code, and nothing is left running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def examrig(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout, check=False)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(("toml", "needle"), [
    ('[examrig]\nport = "abc"\n', "'port'"),
    ("[services.nosuch]\nport = 1\n", "[services.nosuch]"),
    ('[services.tds]\nport = "x"\n', "[services.tds].port"),
    ('[topology]\ntis = "not a url"\n', "[topology].tis"),
    ('[topology]\ntis = "http://h:notaport"\n', "[topology].tis"),
    ('[topology]\nnosuch = "http://h:1"\n', "[topology].nosuch"),
    ("[services.tis]\nworkrs = 2\n", "[services.tis].workrs: not an option of tis (did you mean 'workers'?)"),
])
def test_bad_settings_files_are_one_line_exit_2(tmp_path: Path, toml: str, needle: str) -> None:
    (tmp_path / "examrig.toml").write_text(toml)
    result = examrig("serve", "tds", "--port", "0", cwd=tmp_path)
    assert result.returncode == 2 and needle in one_line(result)


def test_port_base_past_65535_binds_nothing_and_exits_2(tmp_path: Path) -> None:
    result = examrig("serve", "--port-base", "65534", cwd=tmp_path)
    assert result.returncode == 2 and "65535" in one_line(result)


def test_a_port_in_use_releases_the_ports_already_bound(tmp_path: Path) -> None:
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        base = taken.getsockname()[1] - 2  # the third service (tis) collides; the first two were bound
        if base < 1024:
            pytest.skip("the free port the kernel gave is too low to place a base under it")
        result = examrig("serve", "--port-base", str(base), cwd=tmp_path)
    assert result.returncode == 3 and "already in use" in one_line(result)
    for port in (base, base + 1):  # released: they can be bound again at once
        with socket.socket() as again:
            again.bind(("127.0.0.1", port))


def test_bad_database_urls(tmp_path: Path) -> None:
    result = examrig("serve", "tds", "--port", "0", "--db", "notaurl", cwd=tmp_path)
    assert result.returncode == 3 and "notaurl" in one_line(result)


def test_postgresql_without_a_driver(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None\n"
            "from conformance.cli import main\n"
            "sys.exit(main(['serve', 'tds', '--port', '0', '--db', 'postgresql://u@127.0.0.1:1/x']))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, text=True, capture_output=True,
                            timeout=120, check=False)
    assert result.returncode == 3 and "psycopg" in one_line(result)


@pytest.mark.parametrize(("args", "needle"), [
    (["/nonexistent/trt.xml"], "/nonexistent/trt.xml"),
    (["generated:abc"], "generated:abc"),
    (["generated:1:nosuchkind"], "kind"),
    (["generated:1", "--package", "/nonexistent/package.xml"], "--package"),
])
def test_submit_refuses_unusable_inputs_before_sending(tmp_path: Path, args: list[str], needle: str) -> None:
    result = examrig("submit", "trt", *args, "--tis", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2 and needle in one_line(result)


def test_generate_bounds_items(tmp_path: Path) -> None:
    result = examrig("generate", "trt", "--items", "100000", cwd=tmp_path)
    assert result.returncode == 2 and "1000" in one_line(result)


def test_generate_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "generate", "trt", "--items", "600"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.read(100)
    proc.stdout.close()  # what `| head -c 100` does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in err and b"BrokenPipe" not in err


def test_missing_tls_files_are_one_line_exit_2(tmp_path: Path) -> None:
    result = examrig("serve", "tds", "--port", "0", "--tls-cert", "/nope.pem", "--tls-key", "/nope.key", cwd=tmp_path)
    assert result.returncode == 2 and "/nope.pem" in one_line(result)


def test_tls_cert_and_key_without_tls_serve_https(tmp_path: Path) -> None:
    from mocks.core.tls import self_signed
    cert, key = self_signed(tmp_path / "tls")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "tds", "--port", "0",
                             "--db", "sqlite://", "--tls-cert", str(cert), "--tls-key", str(key)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on https://" in line, line + (proc.stderr.read() if proc.poll() is not None else "")
        url = line.split("listening on ", 1)[1].split()[0]
        # the self-signed certificate names localhost, the URL 127.0.0.1: the TLS handshake itself is the proof
        with pytest.warns(Warning):
            assert requests.get(url + "/_examrig/health", verify=False, timeout=30).ok
        with pytest.raises(requests.ConnectionError):
            requests.get(url.replace("https://", "http://") + "/_examrig/health", timeout=30)
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    assert proc.returncode == 0
