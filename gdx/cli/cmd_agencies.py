"""`gdx agencies provision|rotate`: Kafka credentials for every agency and platform principal."""

from __future__ import annotations

import typer

from gdx.cli.errors import fail


def _broker():
    from gdx import kafka_local
    from gdx.settings import Settings

    settings = Settings.from_env()
    if settings.external_kafka:
        raise fail(
            "an existing cluster is configured (KAFKA_BOOTSTRAP_SERVERS / GDX_KAFKA_CLIENT_CONFIG / "
            "GDX_KAFKA_CLIENTS_DIR): its credentials are managed there, not by `gdx agencies provision`"
        )
    broker = kafka_local.default_broker(settings)
    if broker.running_pid() is None:
        raise fail("the local Kafka broker is not running: start it with `gdx kafka up`")
    if broker.insecure_plaintext:
        raise fail("the local broker runs with --insecure-plaintext: it has no credentials to provision")
    return broker, settings


def _audit(settings, action: str, principal: str, detail: dict) -> None:
    """Record a credential change in the audit log, once `gdx.audit` is installed."""
    import importlib.util

    if importlib.util.find_spec("gdx.audit") is None:
        return
    from gdx.audit import AuditLog

    AuditLog.from_settings(settings).append(
        principal="gdx-admin", action=action, outcome="ok", detail={"user": principal, **detail}
    )


def register(app: typer.Typer) -> None:
    agencies = typer.Typer(
        help="Identities on the exchange: agencies and platform principals.", no_args_is_help=True
    )

    @agencies.command("provision")
    def provision() -> None:
        """Create a SCRAM-SHA-512 credential and client config for every principal that lacks one (idempotent)."""
        from gdx.security.kafka_conn import KafkaConfigError

        broker, settings = _broker()
        try:
            result = broker.provision(contracts_dir=settings.contracts_dir)
        except (KafkaConfigError, RuntimeError) as exc:
            raise fail(str(exc)) from None
        for principal in result.created + result.restored:
            _audit(settings, "credential.provision", principal, {"restored": principal in result.restored})
        for label, names in (
            ("created", result.created),
            ("restored", result.restored),
            ("kept", result.kept),
        ):
            if names:
                typer.echo(f"{label}: {', '.join(names)}")
        typer.echo(f"client configs (mode 0600): {broker.clients_dir}")

    @agencies.command("rotate")
    def rotate(
        principal: str = typer.Argument(help="Agency code or platform principal, e.g. pcd or gdx-ingest."),
    ) -> None:
        """Give one principal a new password (broker and client config); no other principal is touched."""
        from gdx.security.kafka_conn import KafkaConfigError, client_file
        from gdx.security.principals import ADMIN, all_principals

        broker, settings = _broker()
        if principal not in all_principals(settings.contracts_dir):
            raise fail(
                f"unknown principal {principal!r}: not a platform principal nor in the agencies registry"
            )
        if not client_file(broker.clients_dir, principal).exists():
            raise fail(f"{principal!r} has no credential yet: run `gdx agencies provision`")
        try:
            broker.provisioner().rotate(principal)
        except (KafkaConfigError, RuntimeError) as exc:
            raise fail(str(exc)) from None
        _audit(settings, "credential.rotate", principal, {})
        typer.echo(f"rotated {principal}: {client_file(broker.clients_dir, principal)}")
        if principal == ADMIN:
            typer.echo(
                "the broker authenticates to itself as gdx-admin: restart it (`gdx kafka down && gdx kafka up`)",
                err=True,
            )

    app.add_typer(agencies, name="agencies")
