"""Steps about OpenAM clients, users and tokens (the openam mock)."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from pytest_bdd import given, parsers, then, when

from conformance.targets import Rig

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@given(parsers.parse('an openam client "{client_id}" with secret "{secret}" allowed "{grants}"'))
def openam_client(rig: Rig, tenant: str, client_id: str, secret: str, grants: str) -> None:
    """Seed one OAuth2 client."""
    body = {"clients": [{"client_id": client_id, "client_secret": secret, "grants": grants.split(",")}]}
    response = rig.admin("openam", "POST", "seed", tenant=tenant, json=body)
    assert response.status_code == 201, response.text


@given(parsers.parse('an openam user "{username}" with password "{password}" and roles "{roles}"'))
def openam_user(rig: Rig, tenant: str, username: str, password: str, roles: str) -> None:
    """Seed one user whose tenancy chain holds ``roles``."""
    body = {"users": [{"username": username, "password": password, "mail": username,
                       "roles": [r for r in roles.split(",") if r]}]}
    response = rig.admin("openam", "POST", "seed", tenant=tenant, json=body)
    assert response.status_code == 201, response.text


def password_token(rig: Rig, tenant: str, username: str, password: str, client_id: str, secret: str) -> Any:
    """Ask openam for a password-grant token, the way TIS does (leading '&')."""
    form = "&" + urlencode({"grant_type": "password", "username": username, "password": password,
                            "client_id": client_id, "client_secret": secret})
    return rig.request("openam", "POST", "/auth/oauth2/access_token?realm=/sbac", tenant=tenant,
                       data=form.encode(), headers={**FORM, "Accept": "application/json"})


@when(parsers.parse('I request an openam password token for "{username}" with password "{password}" '
                    'as client "{client_id}" with secret "{secret}"'))
def request_password_token(rig: Rig, tenant: str, context: dict[str, Any], username: str, password: str,
                           client_id: str, secret: str) -> None:
    """A password grant whose answer is checked by later steps."""
    context["response"] = password_token(rig, tenant, username, password, client_id, secret)


@given(parsers.parse('an openam token for "{username}" with password "{password}" as client "{client_id}" '
                     'with secret "{secret}"'))
def openam_token(rig: Rig, tenant: str, context: dict[str, Any], username: str, password: str, client_id: str,
                 secret: str) -> None:
    """A token issued now, kept for the scenario."""
    response = password_token(rig, tenant, username, password, client_id, secret)
    assert response.status_code == 200, response.text
    context["openam_token"] = response.json()["access_token"]


@when(parsers.parse('I request an openam client_credentials token as "{client_id}" with secret "{secret}" '
                    'over HTTP Basic'))
def request_client_token(rig: Rig, tenant: str, context: dict[str, Any], client_id: str, secret: str) -> None:
    """A client_credentials grant authenticated with HTTP Basic."""
    context["response"] = rig.request("openam", "POST", "/auth/oauth2/access_token?realm=/sbac", tenant=tenant,
                                      data=b"grant_type=client_credentials", headers=FORM,
                                      auth=(client_id, secret))


@then(parsers.parse('the openam response carries a GUID "{name}"'))
def response_guid(context: dict[str, Any], name: str) -> None:
    """A field of the token response parses as a GUID (TIS requires it)."""
    value = context["response"].json()[name]
    assert str(uuid.UUID(value)) == value.lower(), value


@then(parsers.parse('the openam response has no "{name}"'))
def response_lacks(context: dict[str, Any], name: str) -> None:
    """A field is absent from the JSON body."""
    body = context["response"].json()
    assert name not in body, json.dumps(body)


@when("I ask openam for the token's info")
def ask_info(rig: Rig, tenant: str, context: dict[str, Any]) -> None:
    """tokeninfo for the scenario's token."""
    context["response"] = rig.request("openam", "GET", "/auth/oauth2/tokeninfo", tenant=tenant,
                                      params={"access_token": context["openam_token"]})
    context.setdefault("infos", []).append(context["response"])


@then(parsers.parse("the openam token's expires_in fell by {seconds:d} seconds between the two asks"))
def expires_in_fell(context: dict[str, Any], seconds: int) -> None:
    """The remaining lifetime tokeninfo reports (OAM-INFO-001), whatever the lifetime a deployment configures."""
    first, second = context["infos"][-2], context["infos"][-1]
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json()["expires_in"] - second.json()["expires_in"] == seconds, (first.text, second.text)


@when(parsers.parse('I GET openam tokeninfo for "{token}"'))
def ask_info_for(rig: Rig, tenant: str, context: dict[str, Any], token: str) -> None:
    """tokeninfo for a given token."""
    context["response"] = rig.request("openam", "GET", "/auth/oauth2/tokeninfo", tenant=tenant,
                                      params={"access_token": token})


@then(parsers.parse('the openam tenancy chain names the roles "{roles}"'))
def chain_roles(context: dict[str, Any], roles: str) -> None:
    """Field 2 of each sbacTenancyChain entry, in order."""
    chain = context["response"].json()["sbacTenancyChain"]
    names = [entry.split("|")[2] for entry in chain.split(",")]
    assert names == roles.split(","), chain


@given(parsers.parse('the openam clock is frozen at "{instant}"'))
def freeze(rig: Rig, tenant: str, instant: str) -> None:
    """Freeze the tenant's clock."""
    response = rig.admin("openam", "POST", "clock", tenant=tenant, json={"set": instant})
    assert response.status_code == 200, response.text


@when(parsers.parse("the openam clock advances {seconds:d} seconds"))
def advance(rig: Rig, tenant: str, seconds: int) -> None:
    """Move the tenant's clock on."""
    response = rig.admin("openam", "POST", "clock", tenant=tenant, json={"advance": seconds})
    assert response.status_code == 200, response.text


@when(parsers.parse('the openam token is revoked by client "{client_id}" with secret "{secret}"'))
def revoke(rig: Rig, tenant: str, context: dict[str, Any], client_id: str, secret: str) -> None:
    """Revoke the scenario's token."""
    response = rig.request("openam", "POST", "/auth/oauth2/token/revoke", tenant=tenant, headers=FORM,
                           data=urlencode({"token": context["openam_token"], "client_id": client_id,
                                           "client_secret": secret}).encode())
    assert response.status_code == 200, response.text


@when("I seed openam users with JSON:")
def seed_json(rig: Rig, tenant: str, context: dict[str, Any], docstring: str) -> None:
    """Send seed data as given."""
    context["response"] = rig.admin("openam", "POST", "seed", tenant=tenant, json=json.loads(docstring))
