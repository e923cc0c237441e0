"""Small Kafka helpers of the harness: topics, and the tuned consumer settings of the bare loops.

Consumer settings (from the clients' own documentation, not guessed):

* kafka-python `KafkaConsumer`: `max_poll_records` (default 500) bounds the records one `poll()`
  returns, so a larger value means fewer Python-level round trips; `max_partition_fetch_bytes`
  (default 1 MiB) and `fetch_max_bytes` (default 50 MiB) bound each fetch response;
  `fetch_min_bytes`/`fetch_max_wait_ms` let the broker fill a response before answering;
  `check_crcs` (default True) "adds some overhead, so it may be disabled in cases seeking
  extreme performance" — we keep it on in every loop that stands for production code.
* confluent-kafka (librdkafka): `consume(num_messages, timeout)` hands over a list of messages
  per call; prefetching is governed by `queued.min.messages` (default 100000 per partition) and
  `queued.max.messages.kbytes` (default 65536), fetch sizes by `fetch.message.max.bytes`
  (alias `max.partition.fetch.bytes`, default 1 MiB) and `fetch.max.bytes`; `check.crcs`
  defaults to false in librdkafka.
"""

from __future__ import annotations

from typing import Any

from gdx.security.kafka_conn import KafkaConnection

KAFKA_PYTHON_TUNED: dict[str, Any] = {
    "max_poll_records": 10_000,
    "max_partition_fetch_bytes": 8 * 1024 * 1024,
    "fetch_max_bytes": 64 * 1024 * 1024,
    "fetch_min_bytes": 1,
    "fetch_max_wait_ms": 100,
    "check_crcs": True,
}

CONFLUENT_TUNED: dict[str, Any] = {
    "fetch.message.max.bytes": 8 * 1024 * 1024,
    "queued.max.messages.kbytes": 262_144,
    "fetch.wait.max.ms": 100,
}

CONSUME_BATCH = 10_000


def create_topic(conn: KafkaConnection, name: str, partitions: int = 3) -> bool:
    """Create `name` (if missing) the way the publisher does: same partitions and max message size."""
    from kafka.admin import KafkaAdminClient

    from gdx.producer.publish import BROKER_MESSAGE_MAX_BYTES
    from gdx.producer.topics import ensure_topic

    admin = KafkaAdminClient(**conn.kafka_python(), client_id="gdx-bench-admin")
    try:
        return ensure_topic(
            admin, name, partitions, {"max.message.bytes": str(BROKER_MESSAGE_MAX_BYTES + 12)}
        )
    finally:
        admin.close()


def end_offsets(conn: KafkaConnection, topic: str) -> dict[int, int]:
    """{partition: end offset} of a topic."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**conn.kafka_python(), client_id="gdx-bench-offsets")
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def total_records(conn: KafkaConnection, topic: str) -> int:
    return sum(end_offsets(conn, topic).values())


def set_group_offsets(conn: KafkaConnection, topic: str, group: str, where: str) -> dict[int, int]:
    """Commit `group`'s offsets of every partition at the topic's "beginning" or "end".

    The ingestion engine's group is fixed per contract: "beginning" lets a repeat on a fresh lake
    read every record again; "end" makes a run read only what is published afterwards.
    """
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    if where not in ("beginning", "end"):
        raise ValueError(where)
    consumer = KafkaConsumer(
        **conn.kafka_python(), group_id=group, enable_auto_commit=False, client_id="gdx-bench-offsets"
    )
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        offsets = consumer.beginning_offsets(tps) if where == "beginning" else consumer.end_offsets(tps)
        consumer.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in offsets.items()})
        return {tp.partition: off for tp, off in offsets.items()}
    finally:
        consumer.close(autocommit=False)
