"""`gdx agencies provision|rotate`: Kafka credentials of every agency and platform principal.

Added to the `gdx agencies` group of `cmd_agencies` (API tokens of the catalog); the credentials
themselves are `gdx.security.provision`'s, on the local broker of `gdx kafka up`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gdx.cli.cmd_agencies import agencies_app
from gdx.cli.errors import fail


def _broker() -> tuple[Any, Any]:
    """The running local broker (secure) and the settings; a CLI error otherwise."""
    from gdx import kafka_cluster
    from gdx.settings import Settings

    settings = Settings.from_env()
    if settings.external_kafka:
        raise fail(
            "an existing cluster is configured (KAFKA_BOOTSTRAP_SERVERS / GDX_KAFKA_CLIENT_CONFIG / "
            "GDX_KAFKA_CLIENTS_DIR): its credentials are managed there, not by `gdx agencies provision`"
        )
    broker = kafka_cluster.local_kafka(settings)  # the single broker or the --brokers 3 cluster
    if broker.running_pid() is None:
        raise fail("the local Kafka broker is not running: start it with `gdx kafka up`")
    if broker.insecure_plaintext:
        raise fail("the local broker runs with --insecure-plaintext: it has no credentials to provision")
    return broker, settings


def audit_credentials(settings: Any, action: str, principals: list[str], **detail: Any) -> None:
    """One `credential.provision` / `credential.rotate` entry per principal (never the password)."""
    import getpass

    from gdx.audit import AuditLog

    log = AuditLog.from_settings(settings)
    for principal in principals:
        log.append(
            principal=principal,
            action=action,
            outcome="ok",
            detail={"mechanism": "SCRAM-SHA-512", "operator": getpass.getuser(), **detail},
        )


@agencies_app.command("provision")
def provision_cmd() -> None:
    """Create a SCRAM-SHA-512 credential and client config for every principal that lacks one (idempotent)."""
    from gdx.security.kafka_conn import KafkaConfigError

    broker, settings = _broker()
    try:
        result = broker.provision(contracts_dir=settings.contracts_dir)
    except (KafkaConfigError, RuntimeError) as exc:
        raise fail(str(exc)) from None
    audit_credentials(settings, "credential.provision", result.created)
    audit_credentials(settings, "credential.provision", result.restored, restored=True)
    for label, names in (("created", result.created), ("restored", result.restored), ("kept", result.kept)):
        if names:
            typer.echo(f"{label}: {', '.join(names)}")
    typer.echo(f"client configs (mode 0600): {broker.clients_dir}")


@agencies_app.command("rotate")
def rotate_cmd(
    principal: Annotated[
        str, typer.Argument(help="Agency code or platform principal, e.g. pcd or gdx-ingest.")
    ],
) -> None:
    """Give one principal a new password (broker and client config); no other principal is touched."""
    from gdx.security.kafka_conn import KafkaConfigError, client_file
    from gdx.security.principals import ADMIN, all_principals

    broker, settings = _broker()
    if principal not in all_principals(settings.contracts_dir):
        raise fail(f"unknown principal {principal!r}: not a platform principal nor in the agencies registry")
    if not client_file(broker.clients_dir, principal).exists():
        raise fail(f"{principal!r} has no credential yet: run `gdx agencies provision`")
    try:
        broker.provisioner().rotate(principal)
    except (KafkaConfigError, RuntimeError) as exc:
        raise fail(str(exc)) from None
    audit_credentials(settings, "credential.rotate", [principal])
    typer.echo(f"rotated {principal}: {client_file(broker.clients_dir, principal)}")
    if principal == ADMIN:
        typer.echo(
            "the broker logs in to itself as gdx-admin: restart it (`gdx kafka down && gdx kafka up`)",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """The commands are on `agencies_app`, which `cmd_agencies.register` adds to the CLI."""
