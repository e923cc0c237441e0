"""The embedded broker is a real Kafka: messages and headers round-trip through it (over SASL_SSL,
as the super user: these topics belong to no contract)."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

pytestmark = pytest.mark.integration


def test_produce_and_consume_round_trip(kafka_cluster, unique_name: str) -> None:
    conn = kafka_cluster.admin
    assert conn.security_protocol == "SASL_SSL" or kafka_cluster.broker is None
    admin = KafkaAdminClient(**conn.kafka_python())
    admin.create_topics([NewTopic(unique_name, num_partitions=2, replication_factor=1)])
    admin.close()
    sent = {f"key-{i}".encode(): f"value-{i}".encode() for i in range(50)}
    producer = KafkaProducer(
        **conn.kafka_python(), acks="all", enable_idempotence=True, compression_type="lz4"
    )
    for key, value in sent.items():
        producer.send(unique_name, key=key, value=value, headers=[("origin", b"smoke")])
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(
        unique_name,
        **conn.kafka_python(),
        group_id=unique_name,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    received = {}
    partitions = set()
    for message in consumer:
        received[message.key] = message.value
        partitions.add(message.partition)
        assert message.headers == [("origin", b"smoke")]
        if len(received) == len(sent):
            break
    consumer.close()
    assert received == sent
    assert partitions <= {0, 1}


def test_broker_rejects_unknown_topic_creation_by_producer(kafka_cluster, unique_name: str) -> None:
    # Auto-creation is off: a typo in a topic name must fail loudly instead of creating a topic.
    from kafka.errors import KafkaTimeoutError

    # Even the super user: auto-creation is off, not merely unauthorised.
    producer = KafkaProducer(**kafka_cluster.admin.kafka_python(), max_block_ms=2000)
    with pytest.raises(KafkaTimeoutError):
        producer.send(f"{unique_name}-missing", b"x").get(timeout=5)
    producer.close()
