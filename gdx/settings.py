"""Typed settings resolved from environment variables, with repo-relative defaults.

Every path the system writes to is configurable, and every default lands inside git-ignored
folders of the checkout, so `make demo` works on a fresh clone with nothing set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; build with `Settings.from_env()`."""

    state_dir: Path = field(default_factory=lambda: REPO_ROOT / ".gdx")
    """GDX_STATE_DIR: broker data and logs, jar cache, scratch (git-ignored)."""

    contracts_dir: Path = field(default_factory=lambda: REPO_ROOT / "contracts")
    """GDX_CONTRACTS_DIR: the ODCS contracts, the single source of truth."""

    lake_root: str = field(default_factory=lambda: str(REPO_ROOT / "lake"))
    """GDX_LAKE_ROOT: local folder or s3://bucket/prefix for bronze Parquet and quarantine."""

    warehouse: Path = field(default_factory=lambda: REPO_ROOT / ".gdx" / "warehouse" / "onedata.duckdb")
    """GDX_WAREHOUSE: the DuckDB file dbt builds."""

    kafka_bootstrap_servers: str | None = None
    """KAFKA_BOOTSTRAP_SERVERS: use this cluster and start nothing; unset = the local broker."""

    kafka_security_protocol: str | None = None
    """KAFKA_SECURITY_PROTOCOL: with KAFKA_BOOTSTRAP_SERVERS, e.g. SASL_SSL; unset = PLAINTEXT."""

    kafka_sasl_mechanism: str | None = None
    """KAFKA_SASL_MECHANISM: with KAFKA_BOOTSTRAP_SERVERS, e.g. SCRAM-SHA-512."""

    kafka_sasl_username: str | None = None
    """KAFKA_SASL_USERNAME: the principal every client uses on the existing cluster."""

    kafka_sasl_password: str | None = field(default=None, repr=False)
    """KAFKA_SASL_PASSWORD: its password (never printed: excluded from repr)."""

    kafka_ssl_ca_location: Path | None = None
    """KAFKA_SSL_CA_LOCATION: PEM file of the CA that signed the cluster's certificates."""

    kafka_client_config: Path | None = None
    """GDX_KAFKA_CLIENT_CONFIG: one librdkafka-form client-config file that every client uses."""

    kafka_clients_dir: Path | None = None
    """GDX_KAFKA_CLIENTS_DIR: a folder with one `<principal>.properties` client config per principal."""

    kafka_home: Path | None = None
    """KAFKA_HOME: an unpacked Apache Kafka distribution to run instead of the Maven-built one."""

    pii_key: str | None = field(default=None, repr=False)
    """GDX_PII_KEY: HMAC key for pseudonymising personal data, as `<version>:<secret>` (a secret: not in repr)."""

    field_keys_dir: Path = field(default_factory=lambda: REPO_ROOT / ".gdx" / "keys" / "field")
    """GDX_FIELD_KEYS_DIR: folder of the field-encryption key pairs `<version>.key` (0600) and
    `<version>.pub`; default `<state>/keys/field/` (git-ignored, mode 0700). See gdx.security.field_keys."""

    field_private_keys: str | None = field(default=None, repr=False)
    """GDX_FIELD_PRIVATE_KEYS: `k1:<base64>,k2:<base64>` X25519 secret keys that landing decrypts
    personal data with (a secret: never in repr or logs); wins over the key folder per version."""

    field_public_keys: str | None = field(default=None, repr=False)
    """GDX_FIELD_PUBLIC_KEYS: `k1:<base64>,…` public keys a producer encrypts with (the newest)."""

    @property
    def external_kafka(self) -> bool:
        """True when the environment points at an existing cluster (the local broker is not used)."""
        return bool(self.kafka_bootstrap_servers or self.kafka_client_config or self.kafka_clients_dir)

    @classmethod
    def from_env(cls) -> Settings:
        state = _env_path("GDX_STATE_DIR", REPO_ROOT / ".gdx")
        kafka_home = os.environ.get("KAFKA_HOME")
        ca = os.environ.get("KAFKA_SSL_CA_LOCATION")
        client_config = os.environ.get("GDX_KAFKA_CLIENT_CONFIG")
        clients_dir = os.environ.get("GDX_KAFKA_CLIENTS_DIR")
        return cls(
            state_dir=state,
            contracts_dir=_env_path("GDX_CONTRACTS_DIR", REPO_ROOT / "contracts"),
            lake_root=os.environ.get("GDX_LAKE_ROOT") or str(REPO_ROOT / "lake"),
            warehouse=_env_path("GDX_WAREHOUSE", state / "warehouse" / "onedata.duckdb"),
            kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            kafka_security_protocol=os.environ.get("KAFKA_SECURITY_PROTOCOL") or None,
            kafka_sasl_mechanism=os.environ.get("KAFKA_SASL_MECHANISM") or None,
            kafka_sasl_username=os.environ.get("KAFKA_SASL_USERNAME") or None,
            kafka_sasl_password=os.environ.get("KAFKA_SASL_PASSWORD") or None,
            kafka_ssl_ca_location=Path(ca).expanduser() if ca else None,
            kafka_client_config=Path(client_config).expanduser() if client_config else None,
            kafka_clients_dir=Path(clients_dir).expanduser() if clients_dir else None,
            kafka_home=Path(kafka_home).expanduser() if kafka_home else None,
            pii_key=os.environ.get("GDX_PII_KEY") or None,
            field_keys_dir=_env_path("GDX_FIELD_KEYS_DIR", state / "keys" / "field"),
            field_private_keys=os.environ.get("GDX_FIELD_PRIVATE_KEYS") or None,
            field_public_keys=os.environ.get("GDX_FIELD_PUBLIC_KEYS") or None,
        )
