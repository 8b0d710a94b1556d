"""Unit tests of the OpenAM model (no server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from mocks.core.clock import Clock
from mocks.core.ids import IdSource
from mocks.core.store import Store
from mocks.openam.models import OAuthError, OpenAm, SeedError, chain_entry, role_names
from tests.dbs import store_url

T = "t1"
FORM = {"realm": "/sbac", "grant_type": "password", "username": "tis-admin@example.org", "password": "password",
        "client_id": "examrig", "client_secret": "examrig-secret"}


@pytest.fixture
def clock() -> Clock:
    c = Clock()
    c.freeze(T, datetime(2024, 1, 1, tzinfo=UTC))
    return c


@pytest.fixture
def model(clock: Clock) -> OpenAm:
    store = Store(store_url())
    m = OpenAm(store, clock, IdSource(7), {"token_lifetime": 60})
    store.create_all()
    return m


def test_defaults_issue_guid_tokens_and_info_has_tis_admin(model: OpenAm) -> None:
    body = model.issue(T, dict(FORM), None)
    assert uuid.UUID(body["access_token"]) and uuid.UUID(body["refresh_token"])
    assert body["expires_in"] == 60
    info = model.info(T, body["access_token"])
    assert role_names(info["sbacTenancyChain"]) == ["TIS Admin"]
    assert info["mail"] == "tis-admin@example.org"


def test_ids_are_reproducible_from_the_seed(clock: Clock) -> None:
    tokens = []
    for _ in range(2):
        store = Store(store_url())
        m = OpenAm(store, clock, IdSource(7), {})
        store.create_all()
        tokens.append(m.issue(T, dict(FORM), None)["access_token"])
    assert tokens[0] == tokens[1]


def test_expiry_follows_the_tenant_clock(model: OpenAm, clock: Clock) -> None:
    token = model.issue(T, dict(FORM), None)["access_token"]
    clock.advance(T, 59)
    assert model.info(T, token)["expires_in"] == 1
    clock.advance(T, 1)
    with pytest.raises(OAuthError) as exc:
        model.info(T, token)
    assert exc.value.params["reason"] == "expired"


def test_tokens_are_tenant_scoped(model: OpenAm) -> None:
    token = model.issue(T, dict(FORM), None)["access_token"]
    with pytest.raises(OAuthError) as exc:
        model.info("other", token)
    assert exc.value.params["reason"] == "unknown"


@pytest.mark.parametrize(("change", "kind", "field"), [
    ({"client_secret": "x"}, "InvalidClient", "client_secret"),
    ({"client_id": "who"}, "InvalidClient", "client_id"),
    ({"password": "x"}, "InvalidGrant", "password"),
    ({"username": "who"}, "InvalidGrant", "username"),
    ({"realm": "/elsewhere"}, "InvalidRequest", "realm"),
    ({"realm": "/"}, "InvalidGrant", "username"),
    ({"grant_type": "authorization_code"}, "UnsupportedGrantType", "grant_type"),
])
def test_refusals(model: OpenAm, change: dict[str, str], kind: str, field: str) -> None:
    with pytest.raises(OAuthError) as exc:
        model.issue(T, {**FORM, **change}, None)
    assert (exc.value.kind, exc.value.params["field"]) == (kind, field)


def test_revocation_only_by_the_issuing_client(model: OpenAm) -> None:
    model.seed(T, [{"client_id": "other", "client_secret": "o"}], [])
    token = model.issue(T, dict(FORM), None)["access_token"]
    assert model.revoke(T, token, "other", "o") is False
    assert model.info(T, token)["access_token"] == token
    assert model.revoke(T, token, "examrig", "examrig-secret") is True
    with pytest.raises(OAuthError):
        model.info(T, token)


def test_client_credentials_has_no_user_and_no_refresh(model: OpenAm) -> None:
    body = model.issue(T, {"realm": "/sbac", "grant_type": "client_credentials"}, ("examrig", "examrig-secret"))
    assert "refresh_token" not in body
    info = model.info(T, body["access_token"])
    assert "sbacTenancyChain" not in info and info["grant_type"] == "client_credentials"


def test_client_without_the_grant_is_unauthorized(model: OpenAm) -> None:
    model.seed(T, [{"client_id": "pw-only", "client_secret": "s", "grants": ["password"]}], [])
    with pytest.raises(OAuthError) as exc:
        model.issue(T, {"realm": "/sbac", "grant_type": "client_credentials", "client_id": "pw-only",
                        "client_secret": "s"}, None)
    assert exc.value.kind == "UnauthorizedClient"


def test_chain_entry_layout() -> None:
    entry = chain_entry({"role": "ASMTDATALOAD", "state": "CA", "stateId": "CA"}, "r")
    parts = entry.split("|")
    assert len(parts) == 19 and parts[2] == "ASMTDATALOAD" and parts[3] == "CLIENT" and parts[9] == "CA"
    assert role_names(entry + "," + chain_entry("TIS Admin", "r")) == ["ASMTDATALOAD", "TIS Admin"]


@pytest.mark.parametrize(("opts", "field"), [
    ({"token_lifetime": 0}, "token_lifetime"),
    ({"users": [{"username": "u"}]}, "users[0].password"),
    ({"clients": [{"client_id": "c", "client_secret": "s", "grants": ["implicit"]}]}, "clients[0].grants"),
    ({"realms": ["sbac"]}, "realms"),
])
def test_bad_configuration_names_the_field(opts: dict[str, object], field: str) -> None:
    with pytest.raises(SeedError) as exc:
        OpenAm(Store(store_url()), Clock(), IdSource(1), opts)
    assert exc.value.field == field
