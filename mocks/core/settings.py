"""Settings: ``examrig.toml``, then ``EXAMRIG_*`` environment variables, then CLI flags (README, Settings)."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_MAX_BODY = 10 * 1024 * 1024
SECRET_WORDS = ("secret", "password", "token", "credential", "key")
DEFAULT_PORT_BASE = 8600

#: where a setting can come from, lowest first: a setting from a later level beats one from an earlier level,
#: whatever their scope (README, Settings). "default" is what nobody set.
LEVELS: tuple[str, ...] = ("default", "file", "environment", "flags")

#: the per-service options that a global setting also decides, and the global settings that decide them.
#: At one level the per-service value wins (it is the more specific); a global set at a higher level wins
#: over it (the environment or a flag changes a run without editing the file: ``--port-base 19700`` moves
#: every mock, the file's ``[services.tds] port`` too, so a second rig never lands on the first one's port)
SCOPED: dict[str, tuple[str, ...]] = {
    "port": ("port", "port_base"), "server_threads": ("server_threads",), "journal_capacity": ("journal_capacity",),
    "max_body": ("max_body",), "outbound_timeout": ("outbound_timeout",), "body_timeout": ("body_timeout",),
    "tls": ("tls",),
}


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


@dataclass
class Settings:
    """Everything a process of mocks needs to start.

    ``services`` holds per-service tables (``[services.tds]`` in the file: ``port``
    and service-specific options). ``topology`` maps a service name to the base URL
    where it is reached; a service served in the same process is filled in with its
    bound URL unless the topology names an external system for it.
    """

    host: str = "127.0.0.1"
    port: int | None = None
    port_base: int | None = None
    db: str | None = None
    data_dir: str = ".examrig"
    debug: bool = False
    seed: int | None = None
    max_body: int = DEFAULT_MAX_BODY
    journal_capacity: int = 10_000
    outbound_timeout: float = 10.0
    body_timeout: float = 30.0  # whole-body deadline per request (docs/servers.md: slow clients)
    server_threads: int = 3  # the base pool per mock (mocks.core.server.DEFAULT_THREADS, docs/servers.md)
    sqlite_synchronous: str = "NORMAL"
    # server processes per mock (mocks/core/prefork.py); control state goes to the database past one
    processes: int = 1
    shared_control: bool | None = None  # None: shared when processes > 1 (docs/scale-out.md: set it on every host)
    control_poll_ms: int = 100  # across hosts: how often a process looks for a control change (staleness)
    tls: bool = False
    console: bool = True  # the rig console at /_examrig/ui (mocks/core/console/); off with console = false
    tls_cert: str | None = None
    tls_key: str | None = None
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    topology: dict[str, str] = field(default_factory=dict)
    source: list[str] = field(default_factory=list)
    #: the level (:data:`LEVELS`) each setting came from: ``"port_base"``, ``"services.tds.port"``; a value
    #: set without load_settings (tests build Settings directly) counts as the file's
    origins: dict[str, str] = field(default_factory=dict)

    def service(self, name: str) -> dict[str, Any]:
        """The option table of service ``name`` (empty when none)."""
        table: dict[str, Any] = self.services.setdefault(name, {})
        return table

    def level(self, key: str) -> int:
        """The rank in :data:`LEVELS` of the level setting ``key`` came from (1, the file's, when unrecorded)."""
        return LEVELS.index(self.origins.get(key, "file"))

    def port_for(self, name: str, offset: int, *, alone: bool = False) -> int:
        """The port service ``name`` (``offset`` in the fixed service order) is served on; 0 is a free port.

        The candidates are the service's own ``port``, the global ``port`` (only when ``alone``: the
        service is the one served), the ``port_base`` plus ``offset`` (a base of 0 gives every service a
        free port of its own, not 0, 1, 2 …) and the default base. The one from the highest level wins;
        at one level a port beats a base.
        """
        candidates: list[tuple[int, int, int]] = [(0, 0, DEFAULT_PORT_BASE + offset)]
        if self.port_base is not None:
            candidates.append((self.level("port_base"), 1, self.port_base + offset if self.port_base else 0))
        own = self.services.get(name, {}).get("port")
        if own is not None:
            candidates.append((self.level(f"services.{name}.port"), 2, int(own)))
        if alone and self.port is not None:
            candidates.append((self.level("port"), 2, self.port))
        # max keeps the first of equal keys: the global --port before the table's port at one level
        return max(candidates, key=lambda c: (c[0], c[1]))[2]

    def tls_for(self, name: str) -> bool:
        """Whether service ``name`` is served over HTTPS (globally, or ``[services.<name>] tls``)."""
        # a certificate and key given (--tls-cert/--tls-key) mean HTTPS, as the README says, even without --tls
        return bool(self.tls or self.tls_cert or self.service(name).get("tls", False))

    def public(self) -> dict[str, Any]:
        """The settings as plain data with every secret-looking value hidden."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        public: dict[str, Any] = redact(data)
        return public


_SCALARS: dict[str, type] = {
    "host": str, "port": int, "port_base": int, "db": str, "data_dir": str, "debug": bool,
    "seed": int, "max_body": int, "journal_capacity": int, "outbound_timeout": float, "body_timeout": float,
    "server_threads": int, "sqlite_synchronous": str, "processes": int, "shared_control": bool,
    "control_poll_ms": int, "tls": bool, "tls_cert": str, "tls_key": str, "console": bool,
}


#: the ``[services.<name>]`` options every service takes: read by the core (mocks/core/app.py, settings, the CLI)
COMMON_OPTIONS: frozenset[str] = frozenset({
    "port", "tls", "server_threads", "journal_capacity", "max_body", "outbound_timeout", "body_timeout"})


def check_service_options(settings: Settings, declared: Mapping[str, frozenset[str]]) -> None:
    """Refuse an option a service does not read (a misspelling was taken silently and did nothing).

    ``declared`` maps each service to the options it reads beyond :data:`COMMON_OPTIONS`
    (``ServiceApp.declared_options``); tables of services not in it are left to the caller.

    Raises:
        SettingsError: the first unknown option, named with the nearest known one (difflib).
    """
    for name, table in settings.services.items():
        own = declared.get(name)
        if own is None:
            continue
        known = COMMON_OPTIONS | own
        for option in table:
            if option in known:
                continue
            nearest = difflib.get_close_matches(str(option), sorted(known), n=1)
            hint = f" (did you mean {nearest[0]!r}?)" if nearest else f" ({name} takes: {', '.join(sorted(known))})"
            where = (f"--option {name}.{option}" if settings.origins.get(f"services.{name}.{option}") == "flags"
                     else f"[services.{name}].{option}")
            raise SettingsError(f"{where}: not an option of {name}{hint}")


def redact(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with secrets (by key name, or a password in a URL) hidden."""
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str) and key and any(w in key.lower() for w in SECRET_WORDS):
        return "<redacted>"
    if isinstance(value, str) and "://" in value and "@" in value.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = value.split("://", 1)
        creds, host = rest.split("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:<redacted>@{host}"
    return value


def _coerce(name: str, value: Any, kind: type) -> Any:
    if value is None:
        return None
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if kind in (int, float) and isinstance(value, bool):
            raise ValueError(value)
        if kind is int and isinstance(value, float):
            raise ValueError(value)  # int(9100.5) would take 9100 silently
        return kind(value)
    except (TypeError, ValueError):
        raise SettingsError(f"setting {name!r}: {value!r} is not a valid {kind.__name__}") from None


def parse_option(text: str) -> tuple[str, str, Any]:
    """``SERVICE.NAME=VALUE`` (``examrig serve --option``) as (service, name, value).

    The value is read as a TOML value (``3600``, ``true``, ``1.5``, ``"text"``, ``[1, 2]``), as it
    would be written in ``[services.SERVICE]``; one that is not TOML is taken as the plain string
    (``public_url=http://host:1`` needs no quotes).

    Raises:
        SettingsError: not of the form ``SERVICE.NAME=VALUE``.
    """
    key, sep, raw = text.partition("=")
    service, dot, name = key.strip().partition(".")
    if not sep or not dot or not service or not name or "." in name:
        raise SettingsError(f"--option {text!r}: expected SERVICE.NAME=VALUE (e.g. tds.port=9100)")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return service, name.strip(), value


def load_settings(config: str | Path | None = None, env: Mapping[str, str] | None = None,
                  overrides: Mapping[str, Any] | None = None,
                  options: Mapping[str, Mapping[str, Any]] | None = None) -> Settings:
    """Build settings from the file, the environment and the flags, in that order.

    Without ``config``, ``./examrig.toml`` is read when it exists (or the file
    named by ``EXAMRIG_CONFIG``). ``overrides`` are the flags' global settings (None:
    not given), ``options`` their per-service ones (``--option tds.port=9100`` as
    ``{"tds": {"port": 9100}}``). Each setting's level is kept in ``origins``; a
    per-service option that a global setting of a higher level also decides
    (:data:`SCOPED`) is dropped, so every reader of ``[services.X]`` sees the winner.
    """
    env = os.environ if env is None else env
    settings = Settings()
    path = Path(config) if config else Path(env.get("EXAMRIG_CONFIG", "examrig.toml"))
    if config and not path.is_file():
        raise SettingsError(f"config file {str(path)!r} not found")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"config file {str(path)!r}: {exc}") from None
        _apply_file(settings, data, str(path))
        settings.source.append(str(path))
    _apply_env(settings, env)
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        if name not in _SCALARS:
            raise SettingsError(f"unknown setting {name!r}")
        setattr(settings, name, _coerce(name, value, _SCALARS[name]))
        settings.origins[name] = "flags"
    for service, table in (options or {}).items():
        settings.service(service).update(table)
        settings.origins.update({f"services.{service}.{option}": "flags" for option in table})
    _drop_outranked(settings)
    if settings.port is not None and not 0 <= settings.port <= 65535:
        raise SettingsError(f"setting 'port': {settings.port} is not a port number")
    if settings.port_base is not None and not 0 <= settings.port_base <= 65535:
        raise SettingsError(f"setting 'port_base': {settings.port_base} is not a port number")
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise SettingsError("settings 'tls_cert' and 'tls_key' go together")
    if settings.max_body < 1:
        raise SettingsError("setting 'max_body' must be positive")
    if not settings.body_timeout > 0 or settings.body_timeout != settings.body_timeout:
        raise SettingsError("setting 'body_timeout' must be a positive number of seconds")
    if not 1 <= settings.processes <= 64:
        raise SettingsError("setting 'processes' must be from 1 to 64")
    if settings.control_poll_ms < 1:
        raise SettingsError("setting 'control_poll_ms' must be positive")
    if settings.journal_capacity < 1:
        raise SettingsError("setting 'journal_capacity' must be positive")
    return settings


_KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false"}


def _drop_outranked(settings: Settings) -> None:
    for service, table in settings.services.items():
        for option in [option for option in table if option in SCOPED]:
            # checked before it may be dropped: a wrong value is a mistake even where a flag outranks it
            value, kind = table[option], _SCALARS[option]
            wrong = (isinstance(value, bool) != (kind is bool)
                     or not isinstance(value, (int, float) if kind is float else kind))
            if wrong:
                where = (f"--option {service}.{option}"
                         if settings.origins.get(f"services.{service}.{option}") == "flags"
                         else f"[services.{service}].{option}")
                raise SettingsError(f"{where}: {value!r} is not {_KIND_NAMES[kind]}")
            mine = settings.level(f"services.{service}.{option}")
            if any(glob in settings.origins and settings.level(glob) > mine for glob in SCOPED[option]):
                del table[option]


def _apply_file(settings: Settings, data: Mapping[str, Any], where: str) -> None:
    for key, value in data.get("examrig", {}).items():
        if key not in _SCALARS:
            raise SettingsError(f"{where}: unknown setting [examrig].{key}")
        setattr(settings, key, _coerce(key, value, _SCALARS[key]))
        settings.origins[key] = "file"
    for name, url in data.get("topology", {}).items():
        if not isinstance(url, str):
            raise SettingsError(f"{where}: [topology].{name} must be a URL string")
        settings.topology[name] = url.rstrip("/")
    for name, table in data.get("services", {}).items():
        if not isinstance(table, Mapping):
            raise SettingsError(f"{where}: [services.{name}] must be a table")
        settings.service(name).update(table)
        settings.origins.update({f"services.{name}.{option}": "file" for option in table})
    unknown = set(data) - {"examrig", "topology", "services"}
    if unknown:
        raise SettingsError(f"{where}: unknown section [{sorted(unknown)[0]}]")


def _apply_env(settings: Settings, env: Mapping[str, str]) -> None:
    for key, value in env.items():
        if not key.startswith("EXAMRIG_"):
            continue
        name = key[len("EXAMRIG_"):].lower()
        if name in _SCALARS:
            setattr(settings, name, _coerce(key, value, _SCALARS[name]))
            settings.origins[name] = "environment"
        elif name.startswith("topology_"):
            settings.topology[name[len("topology_"):]] = value.rstrip("/")
        elif name.endswith("_port") and name[:-5]:
            settings.service(name[:-5])["port"] = _coerce(key, value, int)
            settings.origins[f"services.{name[:-5]}.port"] = "environment"
