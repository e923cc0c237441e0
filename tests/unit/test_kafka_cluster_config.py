"""The three-node cluster's configuration and the replication chosen for new topics."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdx.kafka_cluster import LocalCluster
from gdx.kafka_local import broker_base_props
from gdx.producer.topics import ensure_topic, replication_for


@pytest.mark.parametrize(("brokers", "expected"), [(1, (1, 1)), (2, (2, 1)), (3, (3, 2)), (5, (3, 2))])
def test_replication_by_cluster_size(brokers: int, expected: tuple[int, int]) -> None:
    assert replication_for(brokers) == expected


class _Admin:
    """A stand-in for KafkaAdminClient that records the create request."""

    def __init__(self, brokers: int) -> None:
        self.brokers = brokers
        self.created: dict = {}

    def list_topics(self) -> list[str]:
        return []

    def describe_cluster(self) -> dict:
        return {"brokers": [{"node_id": i} for i in range(self.brokers)]}

    def create_topics(self, specs: dict, **_: object) -> None:
        self.created.update(specs)


def test_new_topic_on_three_brokers_gets_three_replicas_two_in_sync() -> None:
    admin = _Admin(3)
    assert ensure_topic(admin, "t", 3, {"max.message.bytes": "1048588"})
    spec = admin.created["t"]
    assert spec["replication_factor"] == 3
    assert spec["configs"] == {"max.message.bytes": "1048588", "min.insync.replicas": "2"}


def test_explicit_replication_and_single_broker_are_kept() -> None:
    one = _Admin(1)
    ensure_topic(one, "t")
    assert one.created["t"]["replication_factor"] == 1
    assert one.created["t"]["configs"] == {"min.insync.replicas": "1"}
    explicit = _Admin(3)
    ensure_topic(explicit, "t", replication_factor=1)
    assert explicit.created["t"]["replication_factor"] == 1 and explicit.created["t"]["configs"] == {}


def test_cluster_nodes_share_one_quorum_and_internal_topics_are_replicated(tmp_path: Path) -> None:
    cluster = LocalCluster(home=tmp_path, size=3)
    voters = {n.voters for n in cluster.nodes}
    assert len(voters) == 1
    (quorum,) = voters
    assert [v.split("@")[0] for v in quorum.split(",")] == ["1", "2", "3"]
    assert {n.cluster_bootstrap for n in cluster.nodes} == {cluster.bootstrap}
    assert len({n.port for n in cluster.nodes}) == 3 and len({n.home for n in cluster.nodes}) == 3
    props = broker_base_props(quorum, tmp_path / "data", node_id=2, replicas=3)
    assert props["node.id"] == "2" and props["process.roles"] == "broker,controller"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["min.insync.replicas"] == "2" and props["default.replication.factor"] == "3"


def test_single_node_config_is_unchanged_in_substance(tmp_path: Path) -> None:
    props = broker_base_props("1@127.0.0.1:9093", tmp_path)
    assert props["offsets.topic.replication.factor"] == "1" and props["min.insync.replicas"] == "1"
    assert "broker.session.timeout.ms" not in props
