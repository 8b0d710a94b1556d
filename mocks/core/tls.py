"""HTTPS for mocks: a self-signed certificate for loopback, made once and reused."""

from __future__ import annotations

import datetime as _dt
import ipaddress
from pathlib import Path

CERT_NAME = "examrig-selfsigned.crt"
KEY_NAME = "examrig-selfsigned.key"


class TlsError(RuntimeError):
    """A certificate that cannot be made or read; the message is one line."""


def self_signed(directory: str | Path, *, days: int = 365) -> tuple[Path, Path]:
    """The paths of a certificate and key for ``localhost``/``127.0.0.1``/``::1`` in ``directory``.

    They are generated on first use (RSA 2048, SHA-256, valid for ``days``) and reused while
    they are still valid for another day, so clients can pin or trust the file once.
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
    except ImportError as exc:  # pragma: no cover - cryptography is a declared dependency
        raise TlsError("HTTPS needs the 'cryptography' package") from exc
    folder = Path(directory)
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    now = _dt.datetime.now(_dt.UTC)  # certificate validity is about real time, not a mock's clock
    if cert_path.is_file() and key_path.is_file():
        try:
            existing = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if existing.not_valid_after_utc > now + _dt.timedelta(days=1):
                return cert_path, key_path
        except ValueError:
            pass
    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "examrig")])
    alt = x509.SubjectAlternativeName([
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5)).not_valid_after(now + _dt.timedelta(days=days))
            .add_extension(alt, critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
