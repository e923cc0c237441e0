"""The local broker's TLS material: a private CA and a broker certificate, made on first start.

Everything lives in one git-ignored folder (`<state>/kafka/tls` for `gdx kafka up`):

    ca.pem              the CA certificate clients trust (`ssl.ca.location`, `ssl_cafile`)
    ca.key              the CA private key (0600), kept only to re-issue the broker certificate
    broker.pem/.key     the broker's certificate (SAN 127.0.0.1, localhost) and key (0600)
    broker.p12          the same key and chain as a PKCS12 keystore for the JVM (0600)
    keystore.password   the keystore's random password (0600)

The keystore is written with PBES2/AES-256 and a SHA-256 MAC, which Java 17's PKCS12 keystore
reads (`ssl.keystore.type=PKCS12`); the trust side uses `ssl.truststore.type=PEM` (KIP-651) so
there is no second store to keep in sync. Material close to expiry, or missing, is re-made:
a new CA also re-issues the broker certificate; clients pick the new `ca.pem` up on connect.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
BROKER_DAYS = 397
# Re-issue this long before expiry, so a broker started today still has a valid certificate
# for the whole time it is likely to run.
RENEW_BEFORE = dt.timedelta(days=30)
HOSTS = ("localhost",)
IPS = ("127.0.0.1",)


@dataclass(frozen=True)
class BrokerTls:
    """Paths of the broker's TLS material (see the module docstring)."""

    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def broker_cert(self) -> Path:
        return self.folder / "broker.pem"

    @property
    def broker_key(self) -> Path:
        return self.folder / "broker.key"

    @property
    def keystore(self) -> Path:
        return self.folder / "broker.p12"

    @property
    def keystore_password_file(self) -> Path:
        return self.folder / "keystore.password"

    def keystore_password(self) -> str:
        return self.keystore_password_file.read_text().strip()


def write_private(path: Path, data: bytes | str) -> None:
    """Write `data` to `path` readable by its owner only (0600), never briefly world-readable."""
    raw = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, raw)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)  # in case the file pre-existed with wider bits
    os.replace(tmp, path)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _valid_until(path: Path) -> dt.datetime | None:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None
    return cert.not_valid_after_utc


def _fresh(path: Path) -> bool:
    until = _valid_until(path)
    return until is not None and until - _now() > RENEW_BEFORE


def _new_key() -> ec.EllipticCurvePrivateKey:
    # P-256 ECDSA: supported by Java 17's default TLS stack, OpenSSL (librdkafka) and Python's ssl,
    # and much faster to generate than RSA on the first start.
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _make_ca(tls: BrokerTls) -> None:
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "GDX One Data"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "GDX One Data local CA")])  # fmt: skip
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(tls.ca_key, _pem_key(key))
    tls.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.ca_cert.chmod(0o644)  # public: every client needs it


def _names(path: Path) -> set[str]:
    """The DNS names and IP addresses a certificate is valid for (empty if unreadable)."""
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return set()
    return set(san.get_values_for_type(x509.DNSName)) | {
        str(i) for i in san.get_values_for_type(x509.IPAddress)
    }


def _make_broker_cert(tls: BrokerTls, hosts: tuple[str, ...], ips: tuple[str, ...]) -> None:
    ca_key = serialization.load_pem_private_key(tls.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(tls.ca_cert.read_bytes())
    key = _new_key()
    now = _now()
    san = [x509.DNSName(h) for h in hosts] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "GDX One Data"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "gdx-broker"),
                ]
            )
        )  # fmt: skip
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=BROKER_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # The broker is also a TLS client of itself (inter-broker listener), hence clientAuth.
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )  # fmt: skip
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )  # type: ignore[arg-type]
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    password = secrets.token_urlsafe(24)
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50_000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )
    p12 = pkcs12.serialize_key_and_certificates(b"gdx-broker", key, cert, [ca_cert], encryption)
    write_private(tls.broker_key, _pem_key(key))
    tls.broker_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + tls.ca_cert.read_bytes())
    write_private(tls.keystore_password_file, password)
    write_private(tls.keystore, p12)


def ensure_broker_tls(folder: Path, hosts: tuple[str, ...] = HOSTS, ips: tuple[str, ...] = IPS) -> BrokerTls:
    """Make (or renew) the CA and the broker's certificate (valid for `hosts` and `ips`) and
    keystore under `folder`; idempotent. A certificate missing one of the names is re-issued."""
    tls = BrokerTls(Path(folder))
    tls.folder.mkdir(parents=True, exist_ok=True)
    tls.folder.chmod(0o700)
    new_ca = not (_fresh(tls.ca_cert) and tls.ca_key.exists())
    if new_ca:
        _make_ca(tls)
    complete = all(p.exists() for p in (tls.broker_key, tls.keystore, tls.keystore_password_file))
    if (
        new_ca
        or not complete
        or not _fresh(tls.broker_cert)
        or not set(hosts) | set(ips) <= _names(tls.broker_cert)
    ):
        _make_broker_cert(tls, tuple(hosts), tuple(ips))
    return tls
