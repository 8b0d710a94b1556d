"""The mock over HTTPS with the generated self-signed certificate (cheroot's builtin SSL adapter)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509

from mocks.core.app import Runtime
from mocks.core.settings import Settings
from mocks.proctoru.models import DEFAULT_TOKEN
from mocks.proctoru.service import Service
from mocks.proctoru.tls import ensure_self_signed
from tests.proctoru.serving import serve_https


def test_certificate_names_localhost_and_loopback_and_is_reused(tmp_path: Path) -> None:
    cert_path, key_path = ensure_self_signed(tmp_path)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    assert key_path.stat().st_mode & 0o077 == 0
    assert ensure_self_signed(tmp_path) == (cert_path, key_path)
    assert cert_path.read_bytes() == ensure_self_signed(tmp_path)[0].read_bytes()


def test_an_expiring_certificate_is_replaced(tmp_path: Path) -> None:
    cert_path, _ = ensure_self_signed(tmp_path, now=datetime.now(UTC) - timedelta(days=820))
    old = cert_path.read_bytes()
    ensure_self_signed(tmp_path)
    assert cert_path.read_bytes() != old


@pytest.fixture
def https_url(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = ensure_self_signed(tmp_path)
    app = Service(Runtime.create(Settings(seed=1), db="sqlite://"))
    with serve_https(app, cert, key) as url:
        yield url, cert


def test_served_over_https_trusted_by_the_certificate(https_url: tuple[str, Path]) -> None:
    url, cert = https_url
    assert url.startswith("https://127.0.0.1:")
    response = requests.get(f"{url}/api/getTimeZoneList", headers={"Authorization-Token": DEFAULT_TOKEN},
                            verify=str(cert), timeout=10)
    assert response.json()["response_code"] == 1
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{url}/api/getTimeZoneList", verify=True, timeout=10)
