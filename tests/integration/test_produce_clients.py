"""Both Kafka clients publish the same bytes to the same partitions, and report failures."""

from __future__ import annotations

import socket

import pytest

from gdx.producer.pipeline import publish_records
from gdx.producer.publish import PublishOptions
from gdx.sample import valid_records
from gdx.security.kafka_conn import KafkaConnection
from tests.integration.test_produce_helpers import as_dry_run_lines, contract_on, read_topic

pytestmark = pytest.mark.integration


def test_kafka_python_and_confluent_agree(kafka_cluster, unique_name):
    records = list(valid_records("pcd.air_quality_hourly", 300, seed=4))
    placed = {}
    for client in ("kafka-python", "confluent"):
        topic = f"{unique_name}-{client}"
        contract = contract_on("pcd.air_quality_hourly", topic)
        kafka_cluster.grant(contract)
        result = publish_records(contract, records, kafka_cluster.owner(contract), PublishOptions(client=client))
        assert result.ok and result.published == 300, result.failures[:3]
        messages = read_topic(kafka_cluster.admin, topic, expected=300)
        assert len(messages) == 300
        placed[client] = {m.key: m.partition for m in messages}
        lines = sorted(as_dry_run_lines(messages), key=lambda line: line["key"])
        placed[client + "/lines"] = lines
    # the same key lands on the same partition whichever client sent it (murmur2 on both)
    assert placed["kafka-python"] == placed["confluent"]
    assert placed["kafka-python/lines"] == placed["confluent/lines"]


def test_confluent_unreachable_broker_fails_loudly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    records = list(valid_records("pcd.air_quality_hourly", 20, seed=1))
    result = publish_records(
        contract_on("pcd.air_quality_hourly", "t-dead"),
        records,
        KafkaConnection.plain(dead),
        PublishOptions.fast_fail(client="confluent"),
    )
    assert result.published == 0 and result.failed == 20 and not result.ok
