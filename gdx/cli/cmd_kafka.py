"""`gdx kafka up|status|down`: the embedded local broker, or a local three-broker cluster (secure by default)."""

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


def _choose(settings, port: int | None, brokers: int, insecure_plaintext: bool):
    """The single broker or the cluster `up` starts; refuses to start one while the other runs
    (both would claim the same client files)."""
    from gdx import kafka_cluster, kafka_local

    if brokers not in (1, 3):
        raise fail("--brokers must be 1 or 3 (two voters cannot lose one, three can)")
    running = kafka_cluster.local_kafka(settings)
    if brokers == 1:
        if isinstance(running, kafka_cluster.LocalCluster):
            raise fail("the local three-broker cluster runs: stop it with `gdx kafka down` first")
        return kafka_local.default_broker(settings, port, insecure_plaintext=insecure_plaintext)
    if insecure_plaintext:
        raise fail(
            "the three-broker cluster runs secured only (SASL_SSL + SCRAM, ACLs): drop --insecure-plaintext"
        )
    if not isinstance(running, kafka_cluster.LocalCluster) and running.running_pid() is not None:
        raise fail("the single local broker runs: stop it with `gdx kafka down` first")
    cluster = kafka_cluster.default_cluster(settings, base_port=port, size=brokers)
    if port is not None and cluster.nodes[0].port != port:
        raise fail(
            f"the local cluster was set up on ports {cluster.bootstrap}; drop --port, or run `gdx kafka down` "
            f"and delete {cluster.home} (its topics are lost) to choose other ports"
        )
    return cluster


def _cluster_status(cluster) -> int:
    """One line per node; 0 when every node runs and answers."""
    from gdx import kafka_local

    healthy = 0
    for node in cluster.nodes:
        pid = node.running_pid()
        ok = pid is not None and kafka_local.answers(node.connection().with_bootstrap(node.bootstrap))
        healthy += ok
        state = "up" if ok else ("starting or unhealthy" if pid else "down")
        typer.echo(
            f"node {node.node_id}: {state} pid={pid or '-'} bootstrap={node.bootstrap} logs={node.log_file}"
        )
    typer.echo(
        f"cluster: {healthy}/{len(cluster.nodes)} brokers up (SASL_SSL/SCRAM-SHA-512) bootstrap={cluster.bootstrap}"
    )
    return 0 if healthy == len(cluster.nodes) else 1


def register(app: typer.Typer) -> None:
    kafka = typer.Typer(
        help="Run the embedded local Kafka broker (KRaft on loopback: one node, or --brokers 3).",
        no_args_is_help=True,
    )

    @kafka.command("up")
    def up(
        port: int = typer.Option(
            None,
            help="Broker port (default 9092, or the port it already runs on); with --brokers 3 the first "
            "node's, the others on the next ports.",
        ),
        brokers: int = typer.Option(
            1,
            "--brokers",
            help="1 (one node) or 3: three KRaft nodes (broker + controller each, one quorum) where dataset "
            "topics get 3 replicas and min.insync.replicas=2, so any one broker may die.",
        ),
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
        broker = _choose(settings, port, brokers, insecure_plaintext)
        if insecure_plaintext:
            typer.secho(f"WARNING: {INSECURE_HELP}", fg=typer.colors.RED, err=True)
        already = broker.is_up()
        try:
            bootstrap = broker.start(settings)
            result = broker.provision(contracts_dir=settings.contracts_dir)
        except (kafka_local.BrokerError, KafkaConfigError, RuntimeError) as exc:
            raise fail(str(exc)) from None
        typer.echo(bootstrap)
        if brokers > 1:
            typer.echo(
                f"{brokers} brokers (KRaft nodes {', '.join(str(n.node_id) for n in broker.nodes)})", err=True
            )
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
        from gdx.kafka_cluster import LocalCluster, local_kafka

        broker = local_kafka(settings)
        if isinstance(broker, LocalCluster):
            raise typer.Exit(_cluster_status(broker))
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
        """Stop the local broker (or every node of the local cluster); leaves no Java process behind."""
        from gdx import kafka_cluster, kafka_local
        from gdx.settings import Settings

        settings = Settings.from_env()
        stopped = kafka_local.default_broker(settings).stop()
        if kafka_cluster.cluster_exists(settings):
            stopped = kafka_cluster.default_cluster(settings).stop() or stopped
        typer.echo("stopped" if stopped else "not running")

    app.add_typer(kafka, name="kafka")
