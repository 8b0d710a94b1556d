"""A self-signed certificate and key for localhost and 127.0.0.1, made once per directory and reused."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_NAME = "examrig-localhost.crt"
KEY_NAME = "examrig-localhost.key"
VALID_DAYS = 825
RENEW_BEFORE = timedelta(days=7)


def ensure_self_signed(directory: str | Path, *, now: datetime | None = None) -> tuple[Path, Path]:
    """``(cert_path, key_path)`` in ``directory``: reused while valid for another week, else made anew.

    The certificate is its own CA (``basicConstraints CA:TRUE``) so a client can trust it
    directly (``REQUESTS_CA_BUNDLE=<cert_path>``); its subject alternative names are
    ``DNS:localhost`` and ``IP:127.0.0.1`` (and ``IP:::1``). The key is ECDSA P-256,
    written unencrypted with mode 0600. ``now`` is the wall clock unless given (a
    certificate must be valid in real time, whatever a tenant's frozen clock says).
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    instant = now or datetime.now(UTC)
    if cert_path.is_file() and key_path.is_file() and _still_valid(cert_path, instant):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "examrig")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(instant - timedelta(minutes=5))
        .not_valid_after(instant + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1")),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    key_path.touch(mode=0o600, exist_ok=True)
    key_path.chmod(0o600)
    key_path.write_bytes(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _still_valid(cert_path: Path, now: datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_before_utc <= now and now + RENEW_BEFORE < cert.not_valid_after_utc
