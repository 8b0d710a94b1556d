"""OpenAM's OAuth2 state: clients, users with their SBAC tenancy chain, and issued tokens (no HTTP here)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, String, Table, Text, select, update

from mocks.core import sabotage
from mocks.core.clock import Clock, iso
from mocks.core.errors import InputError
from mocks.core.ids import IdSource
from mocks.core.store import IntegrityError, Store

GRANTS = ("password", "client_credentials")
DEFAULT_LIFETIME = 3600
DEFAULT_REALMS = ("/", "/sbac")
# Field order of one sbacTenancyChain entry (pipe-delimited, leading and trailing pipe).
CHAIN_FIELDS = ("roleId", "role", "level", "clientId", "client", "groupOfStatesId", "groupOfStates", "stateId",
                "state", "groupOfDistrictsId", "groupOfDistricts", "districtId", "district",
                "groupOfInstitutionsId", "groupOfInstitutions", "institutionId", "institution")
# Used when examrig.toml configures no clients or users, so that TIS and the DW work out of the box.
DEFAULT_CLIENTS: list[dict[str, Any]] = [
    {"client_id": "examrig", "client_secret": "examrig-secret", "grants": list(GRANTS)},
]
DEFAULT_USERS: list[dict[str, Any]] = [
    {"username": "tis-admin@example.org", "password": "password", "mail": "tis-admin@example.org",
     "roles": ["TIS Admin"]},
    {"username": "dw-loader@example.org", "password": "password", "mail": "dw-loader@example.org",
     "roles": ["ASMTDATALOAD"]},
]


class SeedError(InputError):
    """Seed data or configuration that cannot be loaded; ``field`` names the offending property."""


class OAuthError(Exception):
    """A refusal in OAuth2 terms: ``kind`` is the error class name the view maps to a ServiceError."""

    def __init__(self, kind: str, **params: Any) -> None:
        super().__init__(kind)
        self.kind = kind
        self.params = params


@dataclass(frozen=True)
class Client:
    """An OAuth2 client (agent) of a realm."""

    client_id: str
    secret: str
    grants: tuple[str, ...] = GRANTS
    scope: str = "cn mail sn givenname sbacUUID sbacTenancyChain"


@dataclass(frozen=True)
class User:
    """A resource owner: credentials, profile attributes and the tenancy chain (roles)."""

    username: str
    password: str
    realm: str = "/sbac"
    attributes: dict[str, str] = field(default_factory=dict)
    chain: tuple[str, ...] = ()

    @property
    def roles(self) -> list[str]:
        """Role names of the chain (field 2 of each entry split on ``|``)."""
        return role_names(",".join(self.chain))


def chain_entry(role: Any, where: str) -> str:
    """One ``|RoleID|Role|Level|ClientID|Client|…|Institution|`` entry from a role name or a mapping."""
    if isinstance(role, str):
        if role.startswith("|"):
            return role
        role = {"role": role}
    if not isinstance(role, dict):
        raise SeedError(where, "must be a role name, a chain entry or an object")
    unknown = set(role) - set(CHAIN_FIELDS)
    if unknown:
        raise SeedError(f"{where}.{sorted(unknown)[0]}", "unknown property")
    name = role.get("role")
    if (not isinstance(name, str) or not name or "|" in name or "," in name) and not sabotage.on("openam.bad-role-taken"):  # noqa: E501
        raise SeedError(f"{where}.role", "required role name without '|' or ','")
    values = {"roleId": name, "level": "CLIENT", "clientId": "98765", "client": "SBAC", **role}
    parts = [str(values.get(k, "")) for k in CHAIN_FIELDS]
    if any("|" in p or "," in p for p in parts) and not sabotage.on("openam.bad-role-taken"):
        raise SeedError(where, "chain fields may not contain '|' or ','")
    return "|" + "|".join(parts) + "|"


def role_names(chain: str) -> list[str]:
    """The role names in an ``sbacTenancyChain`` value (as TIS and RDW read it)."""
    names = []
    for entry in chain.split(","):
        parts = entry.split("|")
        if len(parts) > 2 and parts[2]:
            names.append(parts[2])
    return names


def parse_client(item: Any, where: str) -> Client:
    """A client from configuration or seed data."""
    if not isinstance(item, dict):
        raise SeedError(where, "must be an object")
    unknown = set(item) - {"client_id", "client_secret", "grants", "scope"}
    if unknown:
        raise SeedError(f"{where}.{sorted(unknown)[0]}", "unknown property")
    cid, secret = item.get("client_id"), item.get("client_secret")
    if not isinstance(cid, str) or not cid:
        raise SeedError(f"{where}.client_id", "required string")
    if not isinstance(secret, str):
        raise SeedError(f"{where}.client_secret", "required string")
    grants = item.get("grants", list(GRANTS))
    if not isinstance(grants, list) or any(g not in GRANTS for g in grants):
        raise SeedError(f"{where}.grants", f"must be a list of {', '.join(GRANTS)}")
    scope = item.get("scope", Client.scope)
    if not isinstance(scope, str):
        raise SeedError(f"{where}.scope", "must be a string")
    return Client(cid, secret, tuple(grants), scope)


def parse_user(item: Any, where: str) -> User:
    """A user from configuration or seed data."""
    if not isinstance(item, dict):
        raise SeedError(where, "must be an object")
    known = {"username", "password", "realm", "roles", "mail", "cn", "givenName", "sn", "sbacUUID"}
    unknown = set(item) - known
    if unknown:
        raise SeedError(f"{where}.{sorted(unknown)[0]}", "unknown property")
    name, password = item.get("username"), item.get("password")
    if not isinstance(name, str) or not name:
        raise SeedError(f"{where}.username", "required string")
    if not isinstance(password, str):
        raise SeedError(f"{where}.password", "required string")
    realm = item.get("realm", "/sbac")
    if not isinstance(realm, str) or not realm.startswith("/"):
        raise SeedError(f"{where}.realm", "must be a realm path such as '/sbac'")
    roles = item.get("roles", [])
    if not isinstance(roles, list):
        raise SeedError(f"{where}.roles", "must be a list")
    chain = tuple(chain_entry(r, f"{where}.roles[{i}]") for i, r in enumerate(roles))
    attrs: dict[str, str] = {}
    for key in ("mail", "cn", "givenName", "sn", "sbacUUID"):
        value = item.get(key)
        if value is not None and not isinstance(value, str):
            raise SeedError(f"{where}.{key}", "must be a string")
        if value is not None:
            attrs[key] = value
    attrs.setdefault("cn", name)
    return User(name, password, realm, attrs, chain)


@dataclass(frozen=True)
class Token:
    """An issued access token and what it was issued for."""

    access_token: str
    refresh_token: str | None
    grant_type: str
    client_id: str
    username: str | None
    realm: str
    scope: str
    issued: datetime
    expires: datetime
    revoked: bool


class OpenAm:
    """Token issue and introspection with OpenAM 11/12's observable rules.

    Clients and users come from ``examrig.toml`` (``[services.openam]`` ``clients``,
    ``users``; built-in defaults when neither is set) and from seed data per tenant,
    seed data winning on the same name. Tokens are GUIDs (TIS requires that) drawn
    from the injected id source; expiry uses the tenant's clock.
    """

    def __init__(self, store: Store, clock: Clock, ids: IdSource, options: dict[str, Any]) -> None:
        self.store = store
        self.clock = clock
        self.ids = ids
        self.lifetime = int(options.get("token_lifetime", DEFAULT_LIFETIME))
        if self.lifetime <= 0:
            raise SeedError("token_lifetime", "must be a positive number of seconds")
        realms = options.get("realms", list(DEFAULT_REALMS))
        if not isinstance(realms, list) or not all(isinstance(r, str) and r.startswith("/") for r in realms):
            raise SeedError("realms", "must be a list of realm paths such as '/sbac'")
        self.realms = tuple(realms)
        raw_clients = options.get("clients", DEFAULT_CLIENTS)
        raw_users = options.get("users", DEFAULT_USERS)
        if not isinstance(raw_clients, list):
            raise SeedError("clients", "must be a list")
        if not isinstance(raw_users, list):
            raise SeedError("users", "must be a list")
        self.config_clients = {c.client_id: c for c in
                               (parse_client(x, f"clients[{i}]") for i, x in enumerate(raw_clients))}
        self.config_users = {u.username: u for u in
                             (parse_user(x, f"users[{i}]") for i, x in enumerate(raw_users))}
        self.clients: Table = store.table(
            "openam_client",
            Column("client_id", String(200), primary_key=True),
            Column("data", Text, nullable=False),
        )
        self.users: Table = store.table(
            "openam_user",
            Column("username", String(200), primary_key=True),
            Column("data", Text, nullable=False),
        )
        self.tokens: Table = store.table(
            "openam_token",
            Column("access_token", String(36), primary_key=True),
            Column("refresh_token", String(36)),
            Column("grant_type", String(40), nullable=False),
            Column("client_id", String(200), nullable=False),
            Column("username", String(200)),
            Column("realm", String(200), nullable=False),
            Column("scope", Text, nullable=False),
            Column("issued", DateTime(timezone=True), nullable=False),
            Column("expires", DateTime(timezone=True), nullable=False),
            Column("revoked", Boolean, nullable=False, default=False),
        )

    @property
    def tables(self) -> list[Table]:
        """Every table of the service."""
        return [self.clients, self.users, self.tokens]

    # -- directory -----------------------------------------------------------------------

    def seed(self, tenant: str, clients: list[Any], users: list[Any]) -> dict[str, int]:
        """Insert or replace clients and users of ``tenant``; all or nothing."""
        parsed_clients = [parse_client(x, f"clients[{i}]") for i, x in enumerate(clients)]
        parsed_users = [parse_user(x, f"users[{i}]") for i, x in enumerate(users)]
        with self.store.begin() as conn:
            # atomic upserts: two seeds of one client at once never collide on its key
            for c in parsed_clients:
                self.store.upsert(conn, self.clients, {"tenant": tenant, "client_id": c.client_id, "data": json.dumps(
                    {"secret": c.secret, "grants": list(c.grants), "scope": c.scope})}, ("tenant", "client_id"))
            for u in parsed_users:
                self.store.upsert(conn, self.users, {"tenant": tenant, "username": u.username, "data": json.dumps(
                    {"password": u.password, "realm": u.realm, "attributes": u.attributes,
                     "chain": list(u.chain)})}, ("tenant", "username"))
        return {"clients": len(parsed_clients), "users": len(parsed_users)}

    def client(self, tenant: str, client_id: str) -> Client | None:
        """A client of ``tenant`` (seeded first, then configured)."""
        with self.store.read() as conn:
            row = conn.execute(select(self.clients.c.data).where(
                self.clients.c.tenant == tenant, self.clients.c.client_id == client_id)).first()
        if row is None:
            return self.config_clients.get(client_id)
        data = json.loads(row[0])
        return Client(client_id, data["secret"], tuple(data["grants"]), data["scope"])

    def user(self, tenant: str, username: str) -> User | None:
        """A user of ``tenant`` (seeded first, then configured)."""
        with self.store.read() as conn:
            row = conn.execute(select(self.users.c.data).where(
                self.users.c.tenant == tenant, self.users.c.username == username)).first()
        if row is None:
            return self.config_users.get(username)
        data = json.loads(row[0])
        return User(username, data["password"], data["realm"], dict(data["attributes"]), tuple(data["chain"]))

    # -- tokens --------------------------------------------------------------------------

    def issue(self, tenant: str, params: dict[str, str], basic: tuple[str, str] | None) -> dict[str, Any]:
        """``/access_token``: authenticate the client (body or Basic), then the grant; a new token."""
        realm = params.get("realm") or "/"
        if realm not in self.realms:
            raise OAuthError("InvalidRequest", message=f"Invalid realm, {realm}", field="realm")
        grant = params.get("grant_type")
        if not grant:
            raise OAuthError("InvalidRequest", field="grant_type")
        client_id, secret = basic if basic is not None else (params.get("client_id"), params.get("client_secret"))
        if not client_id:
            raise OAuthError("InvalidClient", field="client_id")
        client = self.client(tenant, client_id)
        if client is None or (secret != client.secret and not sabotage.on("openam.wrong-secret-taken")):
            raise OAuthError("InvalidClient", field="client_secret" if client else "client_id",
                             basic=basic is not None)
        if grant not in GRANTS:
            raise OAuthError("UnsupportedGrantType", field="grant_type", grant=grant)
        if grant not in client.grants:
            raise OAuthError("UnauthorizedClient", field="grant_type", grant=grant)
        username: str | None = None
        if grant == "password":
            for name in ("username", "password"):
                if not params.get(name) and not sabotage.on("openam.missing-parameter-taken"):
                    raise OAuthError("InvalidRequest", field=name)
            user = self.user(tenant, params.get("username", ""))
            if user is None or (user.password != params.get("password") and not sabotage.on(
                    "openam.wrong-password-taken")) or user.realm != realm:
                field_ = "username" if user is None or user.realm != realm else "password"
                raise OAuthError("InvalidGrant", field=field_)
            username = user.username
        scope = params.get("scope") or client.scope
        now = self.clock.now(tenant)
        for attempt in range(5):
            token = Token(self.ids.uuid(), self.ids.uuid() if grant == "password" or sabotage.on("openam.client-credentials-refreshable") else None, grant, client.client_id,  # noqa: E501
                          username, realm, scope, now, now + timedelta(seconds=self.lifetime), False)
            try:
                with self.store.begin() as conn:
                    conn.execute(self.tokens.insert().values(
                        tenant=tenant, access_token=token.access_token, refresh_token=token.refresh_token,
                        grant_type=grant, client_id=token.client_id, username=username, realm=realm, scope=scope,
                        issued=now, expires=token.expires, revoked=False))
                break
            except IntegrityError:
                # the token's primary key is what makes an issued token one holder's: a value another process
                # issued first (two processes drawing one seeded stream) is drawn again, never shared
                if attempt == 4:
                    raise
        body: dict[str, Any] = {"scope": scope, "expires_in": self.lifetime + 60 * sabotage.on("openam.expires-in-off"),
                                "token_type": "Bearer",
                                "access_token": token.access_token}
        if token.refresh_token is not None and not sabotage.on("openam.refresh-token-dropped"):
            body["refresh_token"] = token.refresh_token
        return body

    def token(self, tenant: str, access_token: str) -> Token | None:
        """A token row as issued (whatever its state), or ``None``."""
        key = _guid(access_token)
        if key is None:
            return None
        t = self.tokens
        with self.store.read() as conn:
            row = conn.execute(select(t).where(t.c.tenant == tenant, t.c.access_token == key)).mappings().first()
        if row is None:
            return None
        return Token(row["access_token"], row["refresh_token"], row["grant_type"], row["client_id"],
                     row["username"], row["realm"], row["scope"], _aware(row["issued"]), _aware(row["expires"]),
                     bool(row["revoked"]))

    def info(self, tenant: str, access_token: str) -> dict[str, Any]:
        """``/tokeninfo``: the token's grant, realm, remaining lifetime, and the user's attributes and chain."""
        token = self.token(tenant, access_token)
        now = self.clock.now(tenant)
        if token is None:
            raise OAuthError("InvalidToken", field="access_token", reason="unknown")
        if token.revoked and not sabotage.on("openam.revoked-token-valid"):
            raise OAuthError("InvalidToken", field="access_token", reason="revoked")
        if now >= token.expires:
            raise OAuthError("InvalidToken", field="access_token", reason="expired")
        scopes = token.scope.split()
        body: dict[str, Any] = {"scope": scopes, "grant_type": token.grant_type, "realm": token.realm,
                                "token_type": "Bearer", "client_id": token.client_id,
                                "expires_in": int((token.expires - now).total_seconds()),
                                "access_token": token.access_token}
        if token.username is not None:
            user = self.user(tenant, token.username)
            if user is not None:
                body["uid"] = user.username
                for key, value in user.attributes.items():
                    body[key] = value
                body["sbacTenancyChain"] = "" if sabotage.on("openam.chain-dropped") else ",".join(user.chain)
        return body

    def revoke(self, tenant: str, access_token: str, client_id: str | None, secret: str | None) -> bool:
        """``/token/revoke``: revoke a token issued to the authenticated client; unknown tokens are ignored."""
        if not client_id:
            raise OAuthError("InvalidClient", field="client_id")
        client = self.client(tenant, client_id)
        if client is None or client.secret != secret:
            raise OAuthError("InvalidClient", field="client_secret" if client else "client_id")
        token = self.token(tenant, access_token)
        if token is None or token.client_id != client_id:
            return False
        t = self.tokens
        with self.store.begin() as conn:
            conn.execute(update(t).where(t.c.tenant == tenant, t.c.access_token == token.access_token)
                         .values(revoked=True))
        return True

    def describe_token(self, tenant: str, access_token: str) -> dict[str, Any] | None:
        """A token as plain data for the admin API."""
        token = self.token(tenant, access_token)
        if token is None:
            return None
        return {"accessToken": token.access_token, "grantType": token.grant_type, "clientId": token.client_id,
                "username": token.username, "realm": token.realm, "scope": token.scope,
                "issued": iso(token.issued), "expires": iso(token.expires), "revoked": token.revoked}


def _guid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


__all__ = ["CHAIN_FIELDS", "Client", "OAuthError", "OpenAm", "SeedError", "Token", "User", "chain_entry",
           "role_names"]
