"""`gdx kafka up|status|down`: the embedded local broker (secure by default)."""

from __future__ import annotations

import typer

from gdx.cli.errors import fail

INSECURE_HELP = (
    "INSECURE: one unauthenticated PLAINTEXT listener and no authorizer, so any local client may read and "
    "write every topic (personal data included). Local experiments only."
)


def apply_acls(settings) -> str | None:
    """Apply the ACLs the contracts imply, if the ACL module is installed; a one-line summary."""
    import importlib.util

    if importlib.util.find_spec("gdx.security.acls") is None:
        return None
    from gdx.security import acls

    return acls.apply_from_settings(settings)


def register(app: typer.Typer) -> None:
    kafka = typer.Typer(
        help="Run the embedded local Kafka broker (KRaft, single node, loopback).", no_args_is_help=True
    )

    @kafka.command("up")
    def up(
        port: int = typer.Option(None, help="Broker port (default 9092, or the port it already runs on)."),
        insecure_plaintext: bool = typer.Option(False, "--insecure-plaintext", help=INSECURE_HELP),
    ) -> None:
        """Start the local broker (SASL_SSL + SCRAM, ACLs) if needed, provision every principal, apply the ACLs.

        Prints the bootstrap address; each principal's client config is in <state>/kafka/clients/.
        """
        from gdx import kafka_local
        from gdx.security.kafka_conn import KafkaConfigError, connection_for
        from gdx.security.principals import ADMIN
        from gdx.settings import Settings

        settings = Settings.from_env()
        if settings.external_kafka:
            try:
                conn = connection_for(ADMIN, settings)
            except KafkaConfigError as exc:
                raise fail(str(exc)) from None
            typer.echo(f"an existing cluster is configured: using {conn.bootstrap}, starting nothing")
            if not kafka_local.answers(conn):
                raise fail(f"no Kafka broker answers at {conn.bootstrap} ({conn.security_protocol})")
            return
        broker = kafka_local.default_broker(settings, port, insecure_plaintext=insecure_plaintext)
        if insecure_plaintext:
            typer.secho(f"WARNING: {INSECURE_HELP}", fg=typer.colors.RED, err=True)
        already = broker.is_up()
        try:
            bootstrap = broker.start(settings)
            result = broker.provision(contracts_dir=settings.contracts_dir)
        except (kafka_local.BrokerError, KafkaConfigError, RuntimeError) as exc:
            raise fail(str(exc)) from None
        typer.echo(bootstrap)
        typer.echo("already running" if already else f"started (logs: {broker.log_file})", err=True)
        if not insecure_plaintext:
            from gdx.cli.cmd_credentials import audit_credentials

            audit_credentials(settings, "credential.provision", result.created)
            audit_credentials(settings, "credential.provision", result.restored, restored=True)
            typer.echo(
                f"principals: {len(result.created)} new, {len(result.kept) + len(result.restored)} kept; "
                f"client configs in {broker.clients_dir}",
                err=True,
            )
            summary = apply_acls(settings)
            if summary:
                typer.echo(summary, err=True)

    @kafka.command("status")
    def status() -> None:
        """Say whether the broker runs and answers an authenticated request; exit 1 if it does not."""
        from gdx import kafka_local
        from gdx.security.kafka_conn import KafkaConfigError, connection_for
        from gdx.security.principals import ADMIN
        from gdx.settings import Settings

        settings = Settings.from_env()
        if settings.external_kafka:
            try:
                conn = connection_for(ADMIN, settings)
            except KafkaConfigError as exc:
                raise fail(str(exc)) from None
            ok = kafka_local.answers(conn)
            typer.echo(
                f"external {conn.bootstrap} ({conn.security_protocol}): {'up' if ok else 'not answering'}"
            )
            raise typer.Exit(0 if ok else 1)
        broker = kafka_local.default_broker(settings)
        pid = broker.running_pid()
        if pid is None:
            typer.echo("down")
            raise typer.Exit(1)
        try:
            ok = kafka_local.answers(broker.connection())
        except KafkaConfigError:
            ok = False
        mode = "INSECURE plaintext" if broker.insecure_plaintext else "SASL_SSL/SCRAM-SHA-512"
        typer.echo(
            f"{'up' if ok else 'starting or unhealthy'} pid={pid} bootstrap={broker.bootstrap} ({mode}) "
            f"logs={broker.log_file}"
        )
        raise typer.Exit(0 if ok else 1)

    @kafka.command("down")
    def down() -> None:
        """Stop the local broker; leaves no Java process behind."""
        from gdx import kafka_local

        broker = kafka_local.default_broker()
        typer.echo("stopped" if broker.stop() else "not running")

    app.add_typer(kafka, name="kafka")
