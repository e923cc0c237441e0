"""`gdx kafka up --brokers 3` / `status` as an operator runs them (the session's three-broker
cluster is started by that command, tests/integration/cluster_cli.py, and stopped by `gdx kafka
down`, which must leave no node running): three secured nodes with one cluster id, every
principal provisioned with a client file that reaches all three, plaintext refused."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient

from gdx.kafka_local import answers
from gdx.security.kafka_conn import KafkaConnection

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_up_started_three_secured_brokers_and_status_says_so(kafka_cluster3) -> None:
    cli, cluster = kafka_cluster3.cli, kafka_cluster3.broker
    bootstrap = ",".join(n.bootstrap for n in cluster.nodes)
    assert cli.up.stdout.strip() == bootstrap
    ports = [n.port for n in cluster.nodes]
    assert ports == [ports[0], ports[0] + 1, ports[0] + 2]  # --port is the first node's
    assert "3 brokers" in cli.up.stderr and "principals:" in cli.up.stderr, cli.up.stderr[-2000:]
    status = cli.gdx("kafka", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "cluster: 3/3 brokers up" in status.stdout
    assert all(f"node {i}: up" in status.stdout for i in (1, 2, 3))

    ids = set()
    for n in cluster.nodes:
        meta = (n.home / "data" / "meta.properties").read_text()
        ids.add(next(line.split("=", 1)[1] for line in meta.splitlines() if line.startswith("cluster.id=")))
    assert len(ids) == 1  # one cluster, each node formatted with the same id

    # an agency's own client file reaches all three brokers, over SASL_SSL
    pcd = KafkaConnection.load(cluster.clients_dir / "pcd.properties", principal="pcd")
    assert pcd.bootstrap == bootstrap and pcd.security_protocol == "SASL_SSL"
    admin = AdminClient(pcd.librdkafka())
    assert sorted(admin.list_topics(timeout=10).brokers) == [1, 2, 3]
    # unauthenticated plaintext is refused on every node
    assert not any(answers(KafkaConnection.plain(n.bootstrap), 3.0) for n in cluster.nodes)


def test_up_again_is_a_no_op_and_one_broker_is_refused_while_the_cluster_runs(kafka_cluster3) -> None:
    cli = kafka_cluster3.cli
    pids = kafka_cluster3.broker.running()
    again = cli.gdx("kafka", "up", "--brokers", "3")
    assert again.returncode == 0 and "already running" in again.stderr, again.stderr[-2000:]
    single = cli.gdx("kafka", "up")
    assert single.returncode != 0 and "three-broker cluster runs" in single.stderr + single.stdout
    insecure = cli.gdx("kafka", "up", "--brokers", "3", "--insecure-plaintext")
    assert insecure.returncode != 0 and "secured only" in insecure.stderr + insecure.stdout
    assert kafka_cluster3.broker.running() == pids  # nothing restarted
