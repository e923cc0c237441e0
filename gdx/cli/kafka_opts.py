"""The Kafka connection options every client command shares (`--as`, `--client-config`,
`--bootstrap-servers`), resolved through `gdx.security.kafka_conn.connection_for`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gdx.cli.errors import fail

if TYPE_CHECKING:
    from gdx.security.kafka_conn import KafkaConnection
    from gdx.settings import Settings

BOOTSTRAP_HELP = (
    "Kafka address, as KAFKA_BOOTSTRAP_SERVERS for this command (security from KAFKA_SECURITY_PROTOCOL/"
    "KAFKA_SASL_*); default: the environment, else the local broker of `gdx kafka up`."
)
CLIENT_CONFIG_HELP = (
    "Client-config file (librdkafka properties: bootstrap.servers, security.protocol, sasl.*, "
    "ssl.ca.location) to connect with, as GDX_KAFKA_CLIENT_CONFIG for this command."
)


def resolve_connection(
    principal: str,
    bootstrap_servers: str | None = None,
    client_config: Path | None = None,
    settings: Settings | None = None,
) -> KafkaConnection:
    """`principal`'s connection with the command's overrides; a clear CLI error when none is configured."""
    from gdx.security.kafka_conn import KafkaConfigError, connection_for
    from gdx.settings import Settings

    settings = settings or Settings.from_env()
    if client_config is not None:
        settings = replace(settings, kafka_client_config=client_config, kafka_clients_dir=None)
    if bootstrap_servers:
        settings = replace(settings, kafka_bootstrap_servers=bootstrap_servers)
        if client_config is None:
            settings = replace(settings, kafka_client_config=None, kafka_clients_dir=None)
    try:
        return connection_for(principal, settings)
    except KafkaConfigError as exc:
        raise fail(str(exc)) from None
