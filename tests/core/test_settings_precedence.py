"""Issue 18: one precedence (file < environment < flags; at one level the per-service setting) and --option values."""

from __future__ import annotations

from pathlib import Path

import pytest

from mocks.core.settings import SettingsError, load_settings, parse_option


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "examrig.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "expected"), [
    ("deliveryodata.lobby_url_ttl=3600", ("deliveryodata", "lobby_url_ttl", 3600)),
    ("tis.worker=false", ("tis", "worker", False)),
    ("tis.poll_interval=0.5", ("tis", "poll_interval", 0.5)),
    ('deliveryodata.public_url="http://rig.example:8600"', ("deliveryodata", "public_url",
                                                            "http://rig.example:8600")),
    ("deliveryodata.public_url=http://rig.example:8600", ("deliveryodata", "public_url",
                                                          "http://rig.example:8600")),  # not TOML: the string
    ("openam.realms=['a', 'b']", ("openam", "realms", ["a", "b"])),
    ("tds.port=9100", ("tds", "port", 9100)),
    ("thss.profile=", ("thss", "profile", "")),
])
def test_option_values_are_read_as_toml(text: str, expected: tuple[str, str, object]) -> None:
    assert parse_option(text) == expected


@pytest.mark.parametrize("text", ["tds", "tds=1", "port=1", ".port=1", "tds.=1", "tds.a.b=1"])
def test_malformed_options_name_the_expected_form(text: str) -> None:
    with pytest.raises(SettingsError, match=r"expected SERVICE\.NAME=VALUE"):
        parse_option(text)


def test_each_setting_remembers_its_level(tmp_path: Path) -> None:
    cfg = _file(tmp_path, "[examrig]\nseed = 1\n[services.tds]\nport = 9100\n")
    s = load_settings(cfg, env={"EXAMRIG_PORT_BASE": "9000", "EXAMRIG_DW_PORT": "9200"},
                      overrides={"host": "127.0.0.2", "debug": None}, options={"thss": {"profile": "guide"}})
    assert s.origins == {"seed": "file", "services.tds.port": "file", "port_base": "environment",
                         "services.dw.port": "environment", "host": "flags", "services.thss.profile": "flags"}
    # the file's tds port is outranked by the environment's base; dw's own port is at the base's level
    assert "port" not in s.service("tds") and s.service("dw")["port"] == 9200
    assert (s.port_for("tds", 4), s.port_for("dw", 5)) == (9004, 9200)


@pytest.mark.parametrize(("file", "env", "options", "expected"), [
    ("[examrig]\nserver_threads = 2\n[services.thss]\nserver_threads = 8\n", {}, {}, 8),  # one level: specific
    ("[services.thss]\nserver_threads = 8\n", {"EXAMRIG_SERVER_THREADS": "2"}, {}, None),  # env outranks
    ("[services.thss]\nserver_threads = 8\n", {"EXAMRIG_SERVER_THREADS": "2"}, {"thss": {"server_threads": 5}}, 5),
    ("[examrig]\nserver_threads = 2\n", {}, {"thss": {"server_threads": 5}}, 5),
])
def test_the_same_rule_holds_for_every_option_a_mock_takes_globally_and_per_service(
        tmp_path: Path, file: str, env: dict[str, str], options: dict[str, dict[str, object]],
        expected: int | None) -> None:
    s = load_settings(_file(tmp_path, file), env=env, options=options)
    assert s.service("thss").get("server_threads") == expected
    # what the CLI and the app read: the table's value when it survived, else the global one
    assert int(s.service("thss").get("server_threads", s.server_threads)) == (expected or s.server_threads)


def test_a_global_tls_off_in_the_environment_outranks_the_file_per_service(tmp_path: Path) -> None:
    cfg = _file(tmp_path, "[services.tds]\ntls = true\n")
    assert load_settings(cfg, env={}).tls_for("tds") is True
    assert load_settings(cfg, env={"EXAMRIG_TLS": "0"}).tls_for("tds") is False


@pytest.mark.parametrize(("file", "options", "needle"), [
    ('[services.tds]\nport = "x"\n', {}, "[services.tds].port: 'x' is not an integer"),
    ("[services.tds]\nport = 9100.5\n", {}, "[services.tds].port: 9100.5 is not an integer"),
    ("[services.tds]\ntls = 1\n", {}, "[services.tds].tls: 1 is not true or false"),
    ("", {"thss": {"server_threads": "many"}}, "--option thss.server_threads: 'many' is not an integer"),
    ("", {"tds": {"body_timeout": True}}, "--option tds.body_timeout: True is not a number"),
])
def test_a_wrong_value_is_refused_even_where_a_higher_level_outranks_it(
        tmp_path: Path, file: str, options: dict[str, dict[str, object]], needle: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_file(tmp_path, file), env={}, overrides={"port_base": 0, "tls": True},
                      options=options)
    assert str(caught.value) == needle


def test_port_base_zero_is_a_free_port_for_every_service() -> None:
    s = load_settings(env={"EXAMRIG_CONFIG": "/nonexistent/examrig.toml", "EXAMRIG_PORT_BASE": "0"})
    assert [s.port_for(name, offset) for offset, name in enumerate(("a", "b", "c"))] == [0, 0, 0]
    s = load_settings(env={"EXAMRIG_CONFIG": "/nonexistent/examrig.toml"}, overrides={"port_base": 9000})
    assert [s.port_for(name, offset) for offset, name in enumerate(("a", "b", "c"))] == [9000, 9001, 9002]
