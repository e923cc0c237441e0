"""The broker's CA and certificate: made once, private, valid for loopback, renewed near expiry."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from gdx.security import tls


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_material_is_made_once_and_private(tmp_path: Path) -> None:
    t = tls.ensure_broker_tls(tmp_path / "tls")
    assert _mode(t.folder) == 0o700
    for secret in (t.ca_key, t.broker_key, t.keystore, t.keystore_password_file):
        assert _mode(secret) == 0o600, secret
    before = {p: p.read_bytes() for p in (t.ca_cert, t.broker_cert, t.keystore)}
    tls.ensure_broker_tls(t.folder)
    assert {p: p.read_bytes() for p in before} == before  # idempotent: nothing re-made


def test_broker_certificate_is_for_loopback_and_signed_by_the_ca(tmp_path: Path) -> None:
    t = tls.ensure_broker_tls(tmp_path)
    ca = x509.load_pem_x509_certificate(t.ca_cert.read_bytes())
    cert = x509.load_pem_x509_certificate(t.broker_cert.read_bytes())  # first PEM: the leaf
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > tls.RENEW_BEFORE


def test_keystore_opens_with_its_password_and_holds_key_and_chain(tmp_path: Path) -> None:
    t = tls.ensure_broker_tls(tmp_path)
    key, cert, chain = pkcs12.load_key_and_certificates(
        t.keystore.read_bytes(), t.keystore_password().encode()
    )
    assert key is not None and cert is not None
    assert cert.subject == x509.load_pem_x509_certificate(t.broker_cert.read_bytes()).subject
    assert [c.subject for c in chain] == [x509.load_pem_x509_certificate(t.ca_cert.read_bytes()).subject]
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(t.keystore.read_bytes(), b"wrong")


def test_near_expiry_or_missing_material_is_renewed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = tls.ensure_broker_tls(tmp_path)
    ca_before, cert_before = t.ca_cert.read_bytes(), t.broker_cert.read_bytes()
    # A renewal window longer than the broker certificate's life: it counts as about to expire.
    monkeypatch.setattr(tls, "RENEW_BEFORE", dt.timedelta(days=tls.BROKER_DAYS + 1))
    tls.ensure_broker_tls(tmp_path)
    assert t.ca_cert.read_bytes() == ca_before  # the CA still has years
    assert t.broker_cert.read_bytes() != cert_before
    monkeypatch.undo()
    t.keystore.unlink()
    tls.ensure_broker_tls(tmp_path)
    assert t.keystore.exists()
    t.ca_key.unlink()  # without its key the CA cannot issue: a new CA, and a new broker cert
    tls.ensure_broker_tls(tmp_path)
    assert t.ca_cert.read_bytes() != ca_before
    ca = x509.load_pem_x509_certificate(t.ca_cert.read_bytes())
    x509.load_pem_x509_certificate(t.broker_cert.read_bytes()).verify_directly_issued_by(ca)


def test_write_private_narrows_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("old")
    path.chmod(0o644)
    tls.write_private(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o600
