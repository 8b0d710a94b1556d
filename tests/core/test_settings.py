"""Settings: file, then environment, then flags; secrets redacted."""

from __future__ import annotations

from pathlib import Path

import pytest

from mocks.core.settings import SettingsError, load_settings, redact

TOML = """
[examrig]
host = "0.0.0.0"
seed = 7
port_base = 9000

[topology]
tis = "http://tis.example:8080/"

[services.tds]
port = 9100
client_secret = "s3cret"
"""


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "examrig.toml"
    cfg.write_text(TOML)
    s = load_settings(cfg, env={})
    assert (s.host, s.seed, s.port_base) == ("0.0.0.0", 7, 9000)
    assert s.topology == {"tis": "http://tis.example:8080"}
    assert s.service("tds")["port"] == 9100
    s = load_settings(cfg, env={"EXAMRIG_SEED": "8", "EXAMRIG_TOPOLOGY_THSS": "http://thss:1/",
                                "EXAMRIG_TDS_PORT": "9200", "EXAMRIG_DEBUG": "yes"})
    assert s.seed == 8 and s.topology["thss"] == "http://thss:1" and s.service("tds")["port"] == 9200
    assert s.debug is True
    s = load_settings(cfg, env={"EXAMRIG_SEED": "8"}, overrides={"seed": 9, "host": None})
    assert s.seed == 9 and s.host == "0.0.0.0"


def test_default_file_is_read_from_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examrig.toml").write_text("[examrig]\nseed = 3\n")
    assert load_settings(env={}).seed == 3


@pytest.mark.parametrize("content,message", [
    ("[examrig]\nport = 'x'\n", "not a valid int"),
    ("[examrig]\ncolour = 1\n", "unknown setting [examrig].colour"),
    ("[nonsense]\n", "unknown section [nonsense]"),
    ("[examrig\n", "examrig.toml"),
    ("[examrig]\nport = 70000\n", "not a port number"),
    ("[topology]\ntis = 3\n", "must be a URL string"),
])
def test_bad_files_give_one_clear_message(tmp_path: Path, content: str, message: str) -> None:
    cfg = tmp_path / "examrig.toml"
    cfg.write_text(content)
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(cfg, env={})


def test_missing_named_file_and_bad_env() -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings("/nonexistent/examrig.toml", env={})
    with pytest.raises(SettingsError, match="EXAMRIG_PORT"):
        load_settings(env={"EXAMRIG_PORT": "eighty"})


def test_public_settings_hide_secrets(tmp_path: Path) -> None:
    cfg = tmp_path / "examrig.toml"
    cfg.write_text(TOML + '\n[services.dw]\nurl = "postgresql://u:pw@db/x"\n')
    public = load_settings(cfg, env={}).public()
    assert public["services"]["tds"]["client_secret"] == "<redacted>"
    assert public["services"]["dw"]["url"] == "postgresql://u:<redacted>@db/x"
    assert redact({"password": "x", "n": 1}) == {"password": "<redacted>", "n": 1}
