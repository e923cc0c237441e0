"""Optional `Sink` on confluent-kafka (librdkafka), for feeds where kafka-python is too slow.

kafka-python builds and CRCs record batches in pure Python (~15k records/s on this machine's
2 cores); librdkafka does that in C on its own threads, so the Python side only pays for the
edge check and the encoding. Same guarantees as `KafkaPublisher`: acks=all, idempotence, lz4,
`message.max.bytes` = our `max_request_size`, topic created with `ensure_topic` (kafka-python's
admin client, shared with ingestion), every delivery error collected from the delivery reports.
Selected with `PublishOptions(client="confluent")` / `gdx produce --client confluent`.
"""

from __future__ import annotations

import logging
from typing import Any

from gdx.contracts.model import Contract
from gdx.producer.publish import Headers, PublishOptions, _describe, _event_id
from gdx.producer.report import Failure
from gdx.producer.topics import ensure_topic
from gdx.security.kafka_conn import KafkaConnection

log = logging.getLogger(__name__)


class ConfluentPublisher:
    """A `Sink` publishing with confluent-kafka; use as a context manager or call close()."""

    def __init__(
        self, contract: Contract, connection: KafkaConnection, options: PublishOptions | None = None
    ) -> None:
        self.contract = contract
        self.topic = contract.topic
        self.connection = connection
        self.options = options or PublishOptions(client="confluent")
        self.fatal: str | None = None
        self._producer: Any = None
        self._failures: list[Failure] = []
        self._sent = 0
        self._opened = False
        self._since_poll = 0

    def open(self) -> ConfluentPublisher:
        if self._opened:
            return self
        self._opened = True
        o = self.options
        try:
            if o.create_topic:
                from kafka.admin import KafkaAdminClient

                admin = KafkaAdminClient(
                    **self.connection.kafka_python(),
                    client_id=f"{o.client_id}-admin",
                    request_timeout_ms=o.request_timeout_ms,
                    bootstrap_timeout_ms=o.bootstrap_timeout_ms,
                )
                try:
                    config = {"max.message.bytes": str(o.max_request_size + 12), **o.topic_config}
                    ensure_topic(admin, self.topic, o.partitions, config, o.replication_factor)
                finally:
                    admin.close()
            from confluent_kafka import Producer

            self._producer = Producer(
                {
                    **self.connection.librdkafka(),
                    "client.id": o.client_id,
                    "acks": "all",
                    "enable.idempotence": True,
                    "compression.type": "lz4",
                    "linger.ms": o.linger_ms,
                    "batch.size": min(o.batch_size * 4, o.max_request_size),
                    "message.max.bytes": o.max_request_size,
                    "delivery.timeout.ms": o.delivery_timeout_ms,
                    "request.timeout.ms": o.request_timeout_ms,
                    "queue.buffering.max.messages": 500_000,
                    # librdkafka's murmur2 partitioner = the Java/kafka-python default: same key, same partition
                    "partitioner": "murmur2_random",
                }
            )
        except Exception as exc:  # any client error means nothing can be delivered: report it
            self.fatal = f"cannot connect to Kafka at {self.connection.bootstrap}: {_describe(exc)}"
            log.error(self.fatal)
        return self

    def __enter__(self) -> ConfluentPublisher:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, record_no: int, key: bytes, value: bytes, headers: Headers) -> None:
        if not self._opened:
            self.open()
        if self.fatal is not None:
            self._failures.append(
                Failure(record_no, key.decode(errors="replace"), _event_id(headers), self.fatal)
            )
            return
        failures = self._failures

        def report(err: Any, _msg: Any, record_no: int = record_no) -> None:
            if err is not None:
                failures.append(
                    Failure(record_no, key.decode(errors="replace"), _event_id(headers), str(err))
                )

        producer = self._producer
        while True:
            try:
                producer.produce(self.topic, value=value, key=key, headers=headers, on_delivery=report)
                break
            except BufferError:  # local queue full: let librdkafka drain it
                producer.poll(0.05)
        self._sent += 1
        self._since_poll += 1
        if self._since_poll >= 5_000:  # serve delivery reports in bulk, not per record
            self._since_poll = 0
            producer.poll(0)

    def close(self) -> tuple[int, list[Failure]]:
        producer, self._producer = self._producer, None
        if producer is not None:
            timeout = (self.options.delivery_timeout_ms + self.options.request_timeout_ms) / 1000
            left = producer.flush(timeout)
            if left:
                log.error("%d records not acknowledged before the flush timeout", left)
                self._failures.append(Failure(0, "", "", f"{left} records not acknowledged before close"))
        acked = self._sent - sum(1 for f in self._failures if f.record)
        return max(acked, 0), self._failures
