"""Dead-letter topic `gdx.dlq.<agency>.<dataset>`: every quarantined record, with its context.

Like Kafka Connect's `errors.deadletterqueue.context.headers.enable` (`__connect.errors.*`), each
dead letter carries where it came from and why it failed:

    gdx.errors.topic / .partition / .offset / .timestamp   source coordinates (the dedup key)
    gdx.errors.stage      decode | gate
    gdx.errors.rule       rule id (as in the quarantine), gdx.errors.column, gdx.errors.reason
    gdx.errors.contract.id / .contract.version / gdx.errors.batch.id
    gdx.errors.value.masked   "true" when the value is the masked text (see below)

plus the record's own `gdx.*` headers that were valid. The value is the original bytes for
contracts without personal data; for contracts that declare personal data it is the masked text
the quarantine holds (citizen ids as tokens), so clear ids never leave the source topic. Values
that would not fit the topic's `max.message.bytes` are cut to 64 KiB (`gdx.errors.value.truncated`).

Delivery is at-least-once (idempotent producer, flushed before the batch's ledger entry is
written): a crash between the flush and the ledger republishes the batch's dead letters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from gdx.contracts.model import Contract
from gdx.security.kafka_conn import KafkaConnection

log = logging.getLogger(__name__)

MAX_DLQ_VALUE = 900_000
TRUNCATED_VALUE = 64 * 1024


class DeadLetterError(RuntimeError):
    """Dead letters could not be delivered: the batch is not committed and will be retried."""


@dataclass(frozen=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def error_headers(
    *,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int,
    stage: str,
    rule: str,
    column: str | None,
    reason: str,
    contract: Contract,
    batch_id: str,
    masked: bool,
) -> list[tuple[str, bytes]]:
    pairs = [
        ("gdx.errors.topic", topic),
        ("gdx.errors.partition", str(partition)),
        ("gdx.errors.offset", str(offset)),
        ("gdx.errors.timestamp", str(timestamp_ms)),
        ("gdx.errors.stage", stage),
        ("gdx.errors.rule", rule),
        ("gdx.errors.column", column or ""),
        ("gdx.errors.reason", reason),
        ("gdx.errors.contract.id", contract.id),
        ("gdx.errors.contract.version", contract.version),
        ("gdx.errors.batch.id", batch_id),
        ("gdx.errors.value.masked", "true" if masked else "false"),
    ]
    return [(k, v.encode()) for k, v in pairs]


def ensure_dlq_topic(connection: KafkaConnection, contract: Contract) -> None:
    """Create the dead-letter topic (3 partitions, 1 MiB records) unless it exists."""
    from kafka.admin import KafkaAdminClient

    from gdx.producer.topics import DEFAULT_PARTITIONS, ensure_topic

    admin = KafkaAdminClient(**connection.kafka_python(), client_id="gdx-ingest-dlq-admin")
    try:
        ensure_topic(admin, contract.dlq_topic, DEFAULT_PARTITIONS, {"max.message.bytes": "1048588"})
    finally:
        admin.close()


class DeadLetterPublisher:
    """Idempotent producer to one contract's dead-letter topic."""

    def __init__(self, connection: KafkaConnection, contract: Contract) -> None:
        from confluent_kafka import Producer

        self.contract = contract
        self.topic = contract.dlq_topic
        ensure_dlq_topic(connection, contract)
        self._producer = Producer(
            {
                **connection.librdkafka(),
                "client.id": f"gdx.ingest.{contract.id}.dlq",
                "enable.idempotence": True,
                "acks": "all",
                "compression.type": "lz4",
                "linger.ms": 20,
                "message.max.bytes": 1_000_000,
                "logger": logging.getLogger("gdx.ingest.librdkafka"),
            }
        )
        self._errors: list[str] = []

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            self._errors.append(str(err))

    def publish(self, letters: list[DeadLetter], timeout_s: float = 60.0) -> int:
        """Send and flush; raises DeadLetterError unless every letter is acknowledged."""
        if not letters:
            return 0
        produce, poll = self._producer.produce, self._producer.poll
        for letter in letters:
            value, headers = letter.value, letter.headers
            if value is not None and len(value) > MAX_DLQ_VALUE:
                value = value[:TRUNCATED_VALUE]
                headers = [*headers, ("gdx.errors.value.truncated", b"true")]
            while True:
                try:
                    produce(self.topic, value=value, key=letter.key, headers=headers, on_delivery=self._on_delivery)
                    break
                except BufferError:
                    poll(0.1)
        remaining = self._producer.flush(timeout_s)
        if remaining or self._errors:
            errors, self._errors = self._errors[:3], []
            raise DeadLetterError(
                f"{len(letters)} dead letters to {self.topic}: {remaining} undelivered, errors: {errors}"
            )
        return len(letters)

    def close(self) -> None:
        self._producer.flush(10)


class LazyDeadLetterPublisher:
    """Connects (and creates the topic) on the first dead letter: most batches of a clean feed
    have none, and the admin round trips cost about a second per run."""

    def __init__(self, connection: KafkaConnection, contract: Contract) -> None:
        self.connection, self.contract = connection, contract
        self._publisher: DeadLetterPublisher | None = None

    def publish(self, letters: list[DeadLetter], timeout_s: float = 60.0) -> int:
        if not letters:
            return 0
        if self._publisher is None:
            self._publisher = DeadLetterPublisher(self.connection, self.contract)
        return self._publisher.publish(letters, timeout_s)

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
