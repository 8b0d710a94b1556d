"""deliveryodata options (``[services.deliveryodata]`` in examrig.toml) with their documented defaults."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from mocks.core.settings import SettingsError

DEFAULT_CUSTOMER = "400449"
READ_ONLY_MODES = ("ignore", "reject")
ORDERBY_MODES = ("reject", "ignore")


class ConfigError(SettingsError):
    """An option that cannot be used; the message names it (a settings error: ``examrig serve`` exits 2)."""


@dataclass(frozen=True)
class Customer:
    """One customer area: its id, Basic credentials and the secret that signs its URLs."""

    id: str
    user: str
    password: str
    secret: bytes


@dataclass(frozen=True)
class Config:
    """Everything the model and views take from the options (see docs/deliveryodata.md)."""

    customers: dict[str, Customer]
    default_customer: str = DEFAULT_CUSTOMER
    lobby_ttl: float = 60.0
    proctor_ttl: float = 4 * 3600.0
    unlock_code_ttl: float = 15 * 60.0
    duplicate_status: int = 409
    read_only: str = "ignore"
    int32_as_string: bool = True
    int64_as_number: bool = False
    orderby: str = "reject"
    page_size: int = 100
    expand_limit: int = 100
    public_url: str | None = None
    special_fields: dict[str, str] = field(default_factory=dict)


#: Longest lobby URL lifetime accepted (seconds): a day, room for a person copying the URL by hand or a slow
#: manual test, still short-lived as the real URL is meant to be.
LOBBY_TTL_MAX = 86400


def _shown(value: Any) -> str:
    """A setting's value as TOML has it (``true``, ``"abc"``), not as Python prints it."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _number(options: dict[str, Any], name: str, default: float, most: float | None = None) -> float:
    value = options.get(name, default)
    if isinstance(value, str):  # `examrig serve --option deliveryodata.lobby_url_ttl=600` may hand over text
        with contextlib.suppress(ValueError):  # not a number: refused below, naming the option
            value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise ConfigError(f"deliveryodata option {name!r} must be a positive number, got {_shown(value)}")
    if most is not None and value > most:
        raise ConfigError(f"deliveryodata option {name!r} must be at most {most:g}, got {_shown(value)}")
    return float(value)


def _flag(options: dict[str, Any], name: str, default: bool) -> bool:
    value = options.get(name, default)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise ConfigError(f"deliveryodata option {name!r} must be true or false, got {_shown(value)}")
    return value


def load_config(options: dict[str, Any], fallback_secret: str) -> Config:
    """Build the config from the service's option table; ``fallback_secret`` signs where none is given."""
    raw = options.get("customers") or {DEFAULT_CUSTOMER: {}}
    if not isinstance(raw, dict):
        raise ConfigError("deliveryodata option 'customers' must be a table of customer ids")
    customers: dict[str, Customer] = {}
    for cid, spec in raw.items():
        cid = str(cid)
        if not cid or len(cid) > 32 or not cid.isascii() or not cid.isalnum():
            raise ConfigError(f"deliveryodata customer id {cid!r} must be 1-32 ASCII letters or digits")
        spec = spec or {}
        secret = str(spec.get("secret") or f"{fallback_secret}:{cid}")
        customers[cid] = Customer(cid, str(spec.get("user", "examrig")), str(spec.get("password", "examrig")),
                                  secret.encode("utf-8"))
    default = str(options.get("default_customer", next(iter(customers))))
    if default not in customers:
        raise ConfigError(f"deliveryodata option 'default_customer' {default!r} is not among the customers")
    duplicate = options.get("duplicate_external_id_status", 409)
    if duplicate not in (400, 409):
        raise ConfigError("deliveryodata option 'duplicate_external_id_status' must be 400 or 409")
    read_only = str(options.get("read_only_properties", "ignore"))
    if read_only not in READ_ONLY_MODES:
        raise ConfigError(f"deliveryodata option 'read_only_properties' must be one of {READ_ONLY_MODES}")
    orderby = str(options.get("orderby_on_attempts", "reject"))
    if orderby not in ORDERBY_MODES:
        raise ConfigError(f"deliveryodata option 'orderby_on_attempts' must be one of {ORDERBY_MODES}")
    specials = options.get("special_field_mapping",
                           {f"Special{i}": f"Details{i}" for i in range(1, 11)})
    if not isinstance(specials, dict):
        raise ConfigError("deliveryodata option 'special_field_mapping' must be a table")
    return Config(
        customers=customers, default_customer=default,
        lobby_ttl=_number(options, "lobby_url_ttl", 60, LOBBY_TTL_MAX),
        proctor_ttl=_number(options, "proctor_url_ttl", 4 * 3600),
        unlock_code_ttl=_number(options, "unlock_code_ttl", 15 * 60), duplicate_status=int(duplicate),
        read_only=read_only, int32_as_string=_flag(options, "int32_as_string", True),
        int64_as_number=_flag(options, "int64_as_number", False), orderby=orderby,
        page_size=int(_number(options, "page_size", 100)), expand_limit=int(_number(options, "expand_limit", 100)),
        public_url=str(options["public_url"]).rstrip("/") if options.get("public_url") else None,
        special_fields={str(k): str(v) for k, v in specials.items()},
    )
