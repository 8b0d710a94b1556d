"""Issue 18: which port each mock is served on, row by row of the README's precedence table, in process."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from conformance.cli import _settings_problem, build_parser, serve_settings
from mocks import registry

README = Path(__file__).resolve().parents[2] / "README.md"
KNOWN = registry.available()


def _settings_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Settings\n")
    return text[start:text.index("\n## ", start + 1)]


def _precedence_rows() -> list[tuple[str, str, str, str, str]]:
    """The rows of the table headed ``| `examrig.toml` | environment | command | tds | dw |``."""
    lines = _settings_section().splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("| `examrig.toml` | environment |"))
    rows = []
    for line in lines[head + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 5, line
        rows.append((cells[0], cells[1], cells[2], cells[3], cells[4]))
    return rows


ROWS = _precedence_rows()


def _code(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _toml(cell: str) -> str:
    """``port_base = 9000``, ``[services.tds] port = 9100`` as a TOML document."""
    glob: list[str] = []
    tables: dict[str, list[str]] = {}
    for fragment in _code(cell):
        match = re.fullmatch(r"\[services\.(\w+)\] (.+)", fragment)
        if match:
            tables.setdefault(match.group(1), []).append(match.group(2))
        else:
            glob.append(fragment)
    text = "[examrig]\n" + "".join(f"{line}\n" for line in glob)
    for name, lines in tables.items():
        text += f"[services.{name}]\n" + "".join(f"{line}\n" for line in lines)
    return text


def _expected(cell: str) -> int | None:
    if cell == "a free port":
        return 0
    if cell == "not served":
        return None
    return int(cell)


def _ports_for(tmp_path: Path, file_cell: str, env_cell: str, command: str) -> dict[str, int]:
    config = tmp_path / "examrig.toml"
    config.write_text(_toml(file_cell), encoding="utf-8")
    (line,) = _code(command)
    words = shlex.split(line)
    assert words[:2] == ["examrig", "serve"], command
    args = build_parser().parse_args([*words[1:], "--config", str(config)])
    env = dict(pair.split("=", 1) for pair in _code(env_cell))
    settings = serve_settings(args, env=env)
    names = list(dict.fromkeys(args.services)) or list(KNOWN)
    assert _settings_problem(settings, names, KNOWN) is None
    return registry.ports(settings, names)


def test_the_table_is_there_and_covers_every_level() -> None:
    assert len(ROWS) >= 12
    assert any("EXAMRIG_PORT_BASE" in env and "EXAMRIG_TDS_PORT" in env for _, env, _, _, _ in ROWS)
    assert any("[services.tds] port" in file and "--port-base" in cmd for file, _, cmd, _, _ in ROWS)
    assert any("--port-base 0" in cmd for _, _, cmd, _, _ in ROWS)


@pytest.mark.parametrize(("file_cell", "env_cell", "command", "tds", "dw"), ROWS,
                         ids=[f"row{i + 1}" for i in range(len(ROWS))])
def test_every_row_of_the_precedence_table(tmp_path: Path, file_cell: str, env_cell: str, command: str,
                                           tds: str, dw: str) -> None:
    ports = _ports_for(tmp_path, file_cell, env_cell, command)
    assert ports.get("tds") == _expected(tds)
    assert ports.get("dw") == _expected(dw)
    if "--port-base 0" in command:  # every other mock gets a free port of its own, not 0, 1, 2 ...
        assert {name: port for name, port in ports.items() if name != "tds" or tds == "a free port"} == \
            {name: 0 for name in ports if name != "tds" or tds == "a free port"}


def test_the_readme_sample_config_serves_tds_on_9100_and_the_rest_from_8600(tmp_path: Path) -> None:
    sample = re.search(r"```toml\n(.*?)```", _settings_section(), re.S)
    assert sample is not None
    config = tmp_path / "examrig.toml"
    config.write_text(sample.group(1), encoding="utf-8")
    args = build_parser().parse_args(["serve", "--config", str(config)])
    settings = serve_settings(args, env={})
    assert _settings_problem(settings, list(KNOWN), KNOWN) is None
    ports = registry.ports(settings, list(KNOWN))
    assert ports == {name: 9100 if name == "tds" else 8600 + info.offset for name, info in KNOWN.items()}
    assert settings.service("thss")["server_threads"] == 8 and settings.seed == 42


def test_the_one_run_spelling_of_the_sample_config(tmp_path: Path) -> None:
    command = "examrig serve --seed 42 --option tds.port=9100 --option thss.server_threads=8"
    assert command in " ".join(_settings_section().split())  # the README's sentence, wrapped over two lines
    args = build_parser().parse_args(shlex.split(command)[1:])
    settings = serve_settings(args, env={"EXAMRIG_CONFIG": str(tmp_path / "absent.toml")})
    assert registry.ports(settings, ["tds", "dw"]) == {"tds": 9100, "dw": 8605}
    assert settings.service("thss")["server_threads"] == 8 and settings.seed == 42


@pytest.mark.parametrize(("env", "command", "problem"), [
    ({}, "examrig serve --port 0", "--port serves one service"),
    ({"EXAMRIG_PORT": "0"}, "examrig serve tds dw", "EXAMRIG_PORT serves one service"),
    ({}, "examrig serve --option tds.port=70000", "tds would be served on port 70000, past 65535"),
    ({"EXAMRIG_PORT_BASE": "65530"}, "examrig serve", "would be served on port 65536"),
])
def test_ports_that_cannot_work_are_refused_before_anything_binds(tmp_path: Path, env: dict[str, str],
                                                                  command: str, problem: str) -> None:
    args = build_parser().parse_args(shlex.split(command)[1:])
    settings = serve_settings(args, env={"EXAMRIG_CONFIG": str(tmp_path / "absent.toml"), **env})
    names = list(dict.fromkeys(args.services)) or list(KNOWN)
    found = _settings_problem(settings, names, KNOWN)
    assert found is not None and problem in found and "\n" not in found
