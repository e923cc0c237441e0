"""`gdx kafka up|status|down`: the embedded local broker."""

from __future__ import annotations

import typer

from gdx.cli.errors import fail


def register(app: typer.Typer) -> None:
    kafka = typer.Typer(help="Run the embedded local Kafka broker (KRaft, single node, loopback).", no_args_is_help=True)

    @kafka.command("up")
    def up(port: int = typer.Option(None, help="Broker port (default 9092, or the port it already runs on).")) -> None:
        """Start the local broker if needed, wait until it answers, print its bootstrap address."""
        from gdx import kafka_local
        from gdx.settings import Settings

        settings = Settings.from_env()
        if settings.kafka_bootstrap_servers:
            typer.echo(f"KAFKA_BOOTSTRAP_SERVERS is set: using {settings.kafka_bootstrap_servers}, starting nothing")
            if not kafka_local.answers(settings.kafka_bootstrap_servers):
                raise fail(f"no Kafka broker answers at {settings.kafka_bootstrap_servers}")
            return
        broker = kafka_local.default_broker(settings, port)
        already = broker.is_up()
        try:
            bootstrap = broker.start(settings)
        except kafka_local.BrokerError as exc:
            raise fail(str(exc)) from None
        typer.echo(bootstrap)
        typer.echo("already running" if already else f"started (logs: {broker.log_file})", err=True)

    @kafka.command("status")
    def status() -> None:
        """Say whether the broker runs and answers; exit 1 if it does not."""
        from gdx import kafka_local
        from gdx.settings import Settings

        settings = Settings.from_env()
        if settings.kafka_bootstrap_servers:
            ok = kafka_local.answers(settings.kafka_bootstrap_servers)
            typer.echo(f"external {settings.kafka_bootstrap_servers}: {'up' if ok else 'not answering'}")
            raise typer.Exit(0 if ok else 1)
        broker = kafka_local.default_broker(settings)
        pid = broker.running_pid()
        if pid is None:
            typer.echo("down")
            raise typer.Exit(1)
        ok = kafka_local.answers(broker.bootstrap)
        typer.echo(f"{'up' if ok else 'starting or unhealthy'} pid={pid} bootstrap={broker.bootstrap} logs={broker.log_file}")
        raise typer.Exit(0 if ok else 1)

    @kafka.command("down")
    def down() -> None:
        """Stop the local broker; leaves no Java process behind."""
        from gdx import kafka_local

        broker = kafka_local.default_broker()
        typer.echo("stopped" if broker.stop() else "not running")

    app.add_typer(kafka, name="kafka")
