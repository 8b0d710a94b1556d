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
    return f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond:06d}0Z"


def signature(secret: bytes, path: str, nonce: str, stamp: str, role: str) -> str:
    """HMAC-SHA256 (hex) over the path and the three signed parameters, in a fixed order."""
    message = f"{path}?nonce={nonce}&timestamp={stamp}&role={role}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_url(secret: bytes, base: str, path: str, nonce: str, now: datetime, role: str) -> str:
    """``base + path`` with ``nonce``, ``timestamp``, ``role`` and ``signature``."""
    stamp = timestamp(now)
    sig = signature(secret, path, nonce, stamp, role)
    return f"{base}{path}?nonce={quote(nonce)}&timestamp={stamp}&role={role}&signature={sig}"


def qmsb(secret: bytes, lobby_url: str) -> str:
    """The Secure Browser form: URL-safe base64 of the lobby URL without padding, and its own signature."""
    encoded = base64.urlsafe_b64encode(lobby_url.encode()).decode().rstrip("=")
    sig = hmac.new(secret, f"qmsb:url={encoded}".encode(), hashlib.sha256).hexdigest()
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
    expected = signature(secret, path, presented.nonce, presented.timestamp, presented.role)
    return hmac.compare_digest(expected, presented.signature.lower())
