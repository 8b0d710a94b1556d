"""Issue 12: each service declares the options it reads; a misspelt one is refused with the nearest known name."""

from __future__ import annotations

import pytest

from mocks import registry
from mocks.core.settings import COMMON_OPTIONS, Settings, SettingsError, check_service_options

DECLARED = {name: entry.cls.declared_options for name, entry in registry.available().items()}


@pytest.mark.parametrize("service", sorted(DECLARED))
def test_a_misspelt_option_names_itself_and_the_nearest_known_one(service: str) -> None:
    known = sorted(COMMON_OPTIONS | DECLARED[service])
    option = known[0]
    misspelt = option[:-1] + ("x" if option[-1] != "x" else "y")
    with pytest.raises(SettingsError) as caught:
        check_service_options(Settings(services={service: {misspelt: 1}}), DECLARED)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"[services.{service}].{misspelt}: not an option of {service}")
    assert f"did you mean {option!r}?" in message


def test_nothing_like_any_option_lists_what_the_service_takes() -> None:
    with pytest.raises(SettingsError, match=r"\(dw takes: .*token_cache_size"):
        check_service_options(Settings(services={"dw": {"zzzzzzzz": 1}}), DECLARED)


@pytest.mark.parametrize("service", sorted(DECLARED))
def test_every_declared_and_common_option_is_taken(service: str) -> None:
    table = {option: 1 for option in COMMON_OPTIONS | DECLARED[service]}
    check_service_options(Settings(services={service: table}), DECLARED)


def test_the_declarations_hold_what_the_services_read() -> None:
    """The options the code and docs name (docs/<service>.md, config.py, models.Options) are declared."""
    from dataclasses import fields

    from mocks.proctoru.models import Options
    from mocks.tis.config import DEFAULTS

    assert set(DEFAULTS) | {"worker", "workers", "poll_interval", "lease_seconds"} <= DECLARED["tis"]
    assert {f.name for f in fields(Options)} | {"deliveryodata_user"} <= DECLARED["proctoru"]
    assert {"customers", "public_url", "proctor_frame_ancestors", "lobby_url_ttl"} <= DECLARED["deliveryodata"]
    assert {"policies", "profile", "poll_interval", "callback_concurrency"} == DECLARED["thss"]
    assert {"token_lifetime", "realms", "clients", "users"} == DECLARED["openam"]
    assert DECLARED["tds"] == frozenset()
