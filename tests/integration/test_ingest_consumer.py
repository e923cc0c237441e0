"""The batch consumer against the real broker: it knows when it has read every partition."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from gdx.ingest.consumer import BatchConsumer

pytestmark = pytest.mark.integration


def test_poll_batch_reports_caught_up_from_partition_ends(kafka_cluster, unique_name: str) -> None:
    # A topic no contract describes: only the super user may create, write and read it.
    admin = KafkaAdminClient(**kafka_cluster.admin.kafka_python())
    admin.create_topics([NewTopic(unique_name, num_partitions=3, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(**kafka_cluster.admin.kafka_python(), acks="all", linger_ms=20)
    for i in range(30_000):
        producer.send(unique_name, key=str(i).encode(), value=b'{"n": %d}' % i, headers=[("h", b"v")])
    producer.flush()
    producer.close()

    consumer = BatchConsumer(kafka_cluster.admin, unique_name, unique_name)
    try:
        consumer.assign({p: None for p in consumer.partitions()})
        # The idle timeout is longer than the batch's time bound: only the partitions' EOF events
        # can make the batch end as caught up (a lost EOF would end it on time, not caught up).
        batch, caught_up = consumer.poll_batch(1_000_000, 1 << 30, max_seconds=30.0, idle_timeout_s=600.0)
    finally:
        consumer.close()
    assert caught_up
    assert len(batch) == 30_000
    assert sorted(batch.ranges()) == [0, 1, 2]
    assert sorted(int(v[6:-1]) for v in batch.values) == list(range(30_000))
