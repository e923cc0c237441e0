"""How one principal connects to Kafka: the only place client security settings are assembled.

A `KafkaConnection` is a bootstrap address plus the security settings of one identity. Every
Kafka client in the project (producers, ingestion, DLQ, status, bench, tests) is built from one:
`KafkaProducer(**conn.kafka_python(), …)`, `Producer({**conn.librdkafka(), …})`; nobody writes
SASL/SSL settings by hand.

On disk a connection is a client-config file in librdkafka's properties form, which `kcat -F`
and confluent-kafka read as they are and from which `KafkaConnection.load` derives everything
else:

    bootstrap.servers=127.0.0.1:9092
    security.protocol=SASL_SSL
    sasl.mechanism=SCRAM-SHA-512
    sasl.username=pcd
    sasl.password=…
    ssl.ca.location=/…/.gdx/kafka/tls/ca.pem

`write_java` writes the same identity for Kafka's own Java CLI tools (`--command-config`).

`connection_for(principal)` resolves where a principal connects: an existing secured cluster
from the environment first, else the local broker's provisioned client files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gdx.settings import Settings

log = logging.getLogger(__name__)

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
# librdkafka property → KafkaConnection field; the only keys a client-config file may hold, so a
# setting we would not pass on is an error rather than silently ignored.
_FILE_KEYS = {
    "bootstrap.servers": "bootstrap",
    "security.protocol": "security_protocol",
    "sasl.mechanism": "sasl_mechanism",
    "sasl.mechanisms": "sasl_mechanism",  # librdkafka's older spelling
    "sasl.username": "username",
    "sasl.password": "password",
    "ssl.ca.location": "ca_file",
}
_JAAS_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


class KafkaConfigError(RuntimeError):
    """No usable Kafka connection is configured for a principal; the message says what to run or set."""


@dataclass(frozen=True)
class KafkaConnection:
    """Bootstrap address and security settings of one Kafka identity (the password never in repr)."""

    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    principal: str | None = None

    def __post_init__(self) -> None:
        if not self.bootstrap:
            raise KafkaConfigError("a Kafka connection needs a bootstrap address (bootstrap.servers)")
        if self.security_protocol not in PROTOCOLS:
            raise KafkaConfigError(
                f"unknown security.protocol {self.security_protocol!r}; one of {', '.join(PROTOCOLS)}"
            )
        if self.sasl:
            if self.sasl_mechanism not in MECHANISMS:
                raise KafkaConfigError(
                    f"security.protocol={self.security_protocol} needs sasl.mechanism, one of {', '.join(MECHANISMS)}"
                )
            if not self.username or not self.password:
                raise KafkaConfigError(
                    f"security.protocol={self.security_protocol} needs sasl.username and sasl.password"
                )

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def secure(self) -> bool:
        """Authenticated and encrypted (what the local broker requires by default)."""
        return self.sasl and self.tls

    @classmethod
    def plain(cls, bootstrap: str) -> KafkaConnection:
        """An unauthenticated PLAINTEXT connection (an `--insecure-plaintext` broker, or a test that must be refused)."""
        return cls(bootstrap=bootstrap)

    def with_bootstrap(self, bootstrap: str) -> KafkaConnection:
        return replace(self, bootstrap=bootstrap)

    # -- client configurations -----------------------------------------------------------------
    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaProducer / KafkaConsumer / KafkaAdminClient."""
        kw: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        if self.sasl:
            kw |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        if self.tls and self.ca_file:
            kw["ssl_cafile"] = self.ca_file
        return kw

    def librdkafka(self) -> dict[str, str]:
        """The configuration dict for confluent-kafka's Producer / Consumer / AdminClient."""
        conf = {"bootstrap.servers": self.bootstrap, "security.protocol": self.security_protocol}
        if self.sasl:
            conf |= {
                "sasl.mechanism": self.sasl_mechanism,
                "sasl.username": self.username,
                "sasl.password": self.password,
            }  # type: ignore[dict-item]
        if self.tls and self.ca_file:
            conf["ssl.ca.location"] = self.ca_file
        return conf

    def java(self) -> dict[str, str]:
        """Client properties for Kafka's Java tools (`kafka-topics --command-config …`)."""
        props = {"bootstrap.servers": self.bootstrap, "security.protocol": self.security_protocol}
        if self.sasl:
            props["sasl.mechanism"] = self.sasl_mechanism  # type: ignore[assignment]
            props["sasl.jaas.config"] = (
                f'{_JAAS_MODULES[self.sasl_mechanism]} required username="{_jaas_quote(self.username)}" '  # type: ignore[index]
                f'password="{_jaas_quote(self.password)}";'
            )
        if self.tls and self.ca_file:
            props |= {"ssl.truststore.type": "PEM", "ssl.truststore.location": self.ca_file}
        return props

    # -- files -----------------------------------------------------------------------------------
    def write(self, path: Path) -> Path:
        """Write the librdkafka-form client-config file, owner-only (0600): it holds the password."""
        from gdx.security.tls import write_private

        write_private(Path(path), _properties(self.librdkafka()))
        return Path(path)

    def write_java(self, path: Path) -> Path:
        """Write the Java-tools form (`sasl.jaas.config`, PEM truststore), owner-only (0600)."""
        from gdx.security.tls import write_private

        write_private(Path(path), _properties(self.java()))
        return Path(path)

    @classmethod
    def load(cls, path: Path, bootstrap: str | None = None, principal: str | None = None) -> KafkaConnection:
        """Read a librdkafka-form client-config file; `bootstrap` fills in a file without bootstrap.servers."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise KafkaConfigError(f"cannot read the Kafka client config {path}: {exc.strerror}") from exc
        values: dict[str, str] = {}
        unknown = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", "!")):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise KafkaConfigError(f"{path}: not a `key=value` line: {key.strip()[:40]!r}")
            key = key.strip()
            if key not in _FILE_KEYS:
                unknown.append(key)
                continue
            values[_FILE_KEYS[key]] = value.strip()
        if unknown:
            raise KafkaConfigError(
                f"{path}: unsupported client settings {', '.join(sorted(unknown))} "
                f"(supported: {', '.join(k for k in _FILE_KEYS if k != 'sasl.mechanisms')})"
            )
        values.setdefault("bootstrap", bootstrap or "")
        if "security_protocol" in values:
            values["security_protocol"] = values["security_protocol"].upper()
        conn = cls(**values)
        return replace(conn, principal=principal or conn.username)


def _jaas_quote(value: str | None) -> str:
    return (value or "").replace("\\", "\\\\").replace('"', '\\"')


def _properties(props: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in props.items())


# -- resolution ------------------------------------------------------------------------------------
def local_clients_dir(settings: Settings) -> Path:
    """Where `gdx kafka up` / `gdx agencies provision` write the local broker's client files."""
    return settings.state_dir / "kafka" / "clients"


def client_file(clients_dir: Path, principal: str) -> Path:
    return Path(clients_dir) / f"{principal}.properties"


def connection_for(principal: str, settings: Settings | None = None) -> KafkaConnection:
    """The connection `principal` uses, from (first match):

    1. `GDX_KAFKA_CLIENTS_DIR`: `<dir>/<principal>.properties`, one file per principal;
    2. `GDX_KAFKA_CLIENT_CONFIG`: one client-config file for every principal (its own identity);
    3. `KAFKA_BOOTSTRAP_SERVERS` with `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_MECHANISM`,
       `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`, `KAFKA_SSL_CA_LOCATION`;
    4. the local broker's provisioned `<state>/kafka/clients/<principal>.properties`.

    In 1 and 2, `KAFKA_BOOTSTRAP_SERVERS` fills in a file without `bootstrap.servers`.
    """
    settings = settings or Settings.from_env()
    env_bootstrap = settings.kafka_bootstrap_servers
    if settings.kafka_clients_dir is not None:
        path = client_file(settings.kafka_clients_dir, principal)
        if not path.exists():
            raise KafkaConfigError(
                f"GDX_KAFKA_CLIENTS_DIR={settings.kafka_clients_dir} has no client config for {principal!r} ({path.name})"
            )
        return KafkaConnection.load(path, bootstrap=env_bootstrap, principal=principal)
    if settings.kafka_client_config is not None:
        return KafkaConnection.load(settings.kafka_client_config, bootstrap=env_bootstrap)
    if env_bootstrap:
        return KafkaConnection(
            bootstrap=env_bootstrap,
            security_protocol=(settings.kafka_security_protocol or "PLAINTEXT").upper(),
            sasl_mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password,
            ca_file=str(settings.kafka_ssl_ca_location) if settings.kafka_ssl_ca_location else None,
            principal=settings.kafka_sasl_username or principal,
        )
    path = client_file(local_clients_dir(settings), principal)
    if path.exists():
        return KafkaConnection.load(path, principal=principal)
    from gdx.kafka_cluster import local_kafka

    if local_kafka(settings).running_pid() is None:  # the single broker or the --brokers 3 cluster
        raise KafkaConfigError(
            "no Kafka connection is configured: start the local broker with `gdx kafka up`, or point the project "
            "at an existing cluster (KAFKA_BOOTSTRAP_SERVERS + KAFKA_SECURITY_PROTOCOL/KAFKA_SASL_*, "
            "GDX_KAFKA_CLIENT_CONFIG or GDX_KAFKA_CLIENTS_DIR)"
        )
    raise KafkaConfigError(
        f"the local broker runs but has no credential for {principal!r} ({path}): run `gdx agencies provision` "
        "(a new agency in the registry needs one before it can connect)"
    )
