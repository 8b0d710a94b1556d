"""Signed lobby and proctor URLs: nonce, timestamp, role and an HMAC-SHA256 signature under a customer secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from contracts.odata.csdl import parse_datetime

PARTICIPANT = "participant"
PROCTOR = "proctor"


def timestamp(now: datetime) -> str:
    """The URL timestamp as the real links carry it: seven fractional digits and ``Z``."""
    return (f"{now.year:04d}-{now.month:02d}-{now.day:02d}T{now.hour:02d}:{now.minute:02d}:{now.second:02d}"
            f".{now.microsecond:06d}0Z")


class Signer:
    """HMAC-SHA256 under one secret, the key schedule computed once (a copy per signature)."""

    def __init__(self, secret: bytes) -> None:
        self._keyed = hmac.new(secret, digestmod=hashlib.sha256)

    def hexdigest(self, message: bytes) -> str:
        """The hex HMAC of ``message``."""
        mac = self._keyed.copy()
        mac.update(message)
        return mac.hexdigest()

    def url(self, base: str, path: str, nonce: str, stamp: str, role: str) -> str:
        """:func:`signed_url` under this signer's secret, ``stamp`` a timestamp already written (the launch read
        mints two URLs per request: one call each)."""
        query = f"nonce={nonce}&timestamp={stamp}&role={role}"
        mac = self._keyed.copy()
        mac.update(f"{path}?{query}".encode())
        # the id source's nonces (UUIDs) need no quoting; quote() is the slow path for anything else
        if not (nonce.isascii() and nonce.replace("-", "").isalnum()):
            query = f"nonce={quote(nonce)}&timestamp={stamp}&role={role}"
        return f"{base}{path}?{query}&signature={mac.hexdigest()}"


_SIGNERS: dict[bytes, Signer] = {}


def signer(secret: bytes) -> Signer:
    """The (cached) signer of ``secret``."""
    found = _SIGNERS.get(secret)
    if found is None:
        found = _SIGNERS[secret] = Signer(secret)
    return found


def signature(secret: bytes, path: str, nonce: str, stamp: str, role: str) -> str:
    """HMAC-SHA256 (hex) over the path and the three signed parameters, in a fixed order."""
    return signer(secret).hexdigest(f"{path}?nonce={nonce}&timestamp={stamp}&role={role}".encode())


def signed_url(secret: bytes, base: str, path: str, nonce: str, now: datetime | str, role: str) -> str:
    """``base + path`` with ``nonce``, ``timestamp``, ``role`` and ``signature`` (``now`` may be a timestamp)."""
    return signer(secret).url(base, path, nonce, now if isinstance(now, str) else timestamp(now), role)


def qmsb(secret: bytes, lobby_url: str) -> str:
    """The Secure Browser form: URL-safe base64 of the lobby URL without padding, and its own signature."""
    encoded = base64.urlsafe_b64encode(lobby_url.encode()).decode().rstrip("=")
    sig = signer(secret).hexdigest(f"qmsb:url={encoded}".encode())
    return f"qmsb:url={encoded}&sig={sig}"


@dataclass(frozen=True)
class Presented:
    """The signed parameters a client presented."""

    nonce: str
    timestamp: str
    role: str
    signature: str

    def issued(self) -> datetime:
        """When the link was minted (``ValueError`` when the timestamp does not parse)."""
        return parse_datetime(self.timestamp)


def valid(secret: bytes, path: str, presented: Presented) -> bool:
    """Whether the presented signature matches (constant-time)."""
    given = presented.signature.lower()
    if not given.isascii():  # compare_digest raises TypeError on non-ASCII text: such a signature is just wrong
        return False
    expected = signature(secret, path, presented.nonce, presented.timestamp, presented.role)
    return hmac.compare_digest(expected, given)
