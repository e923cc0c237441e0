"""Deliver encoded records to a contract's topic with kafka-python, and account for every one.

Design for throughput (kafka-python is pure Python, so per-record work is what limits us):
- no per-record callbacks or flushes: futures are kept with their record number and swept in
  bulk every `sweep_every` sends and once after the final flush, which is where delivery errors
  are collected (never swallowed);
- large batches (`batch_size`) and a short `linger_ms` so each produce request carries many
  records, lz4 compression (cheap on CPU, ~4x smaller JSON on the wire);
- `acks=all` + `enable_idempotence=True`: retries after a lost acknowledgement never duplicate a
  record in the log, and per-partition order is kept;
- after a fatal error (broker unreachable, topic metadata never arrives) the remaining records
  are marked failed at once instead of each waiting `max_block_ms`.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from gdx.contracts.model import Contract
from gdx.producer.report import Failure
from gdx.producer.topics import DEFAULT_PARTITIONS, DEFAULT_REPLICATION, ensure_topic
from gdx.security.kafka_conn import KafkaConnection

log = logging.getLogger(__name__)

BROKER_MESSAGE_MAX_BYTES = 1_048_576
"""Kafka's default `message.max.bytes` (1 MiB, +12 bytes of log overhead on the broker side)."""

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class PublishOptions:
    """Producer and topic settings; the defaults suit the local broker and the local three-node cluster."""

    partitions: int = DEFAULT_PARTITIONS
    replication_factor: int | None = DEFAULT_REPLICATION
    """None: 3 replicas and min.insync.replicas=2 on a cluster of 3+ brokers, else 1 (topics.replication_for)."""
    topic_config: Mapping[str, str] = field(default_factory=dict)
    create_topic: bool = True
    max_request_size: int = BROKER_MESSAGE_MAX_BYTES
    """Must not exceed the broker's/topic's message.max.bytes; bigger records are rejected at the edge."""
    batch_size: int = 256 * 1024
    linger_ms: int = 20
    request_timeout_ms: int = 30_000
    delivery_timeout_ms: int = 120_000
    max_block_ms: int = 60_000
    bootstrap_timeout_ms: int = 30_000
    client_id: str = "gdx-producer"
    sweep_every: int = 50_000
    client: str = "kafka-python"
    """"kafka-python" (default) or "confluent" (librdkafka, several times faster; see publish_confluent)."""

    @classmethod
    def fast_fail(cls, **overrides: Any) -> PublishOptions:
        """Short timeouts (a few seconds) for tests and interactive runs against a dead address."""
        base: dict[str, Any] = dict(
            request_timeout_ms=3_000,
            delivery_timeout_ms=5_000,
            max_block_ms=3_000,
            bootstrap_timeout_ms=3_000,
        )
        base.update(overrides)
        return cls(**base)


class Sink(Protocol):
    """Where encoded records go: Kafka, or an NDJSON file in a dry run."""

    def send(self, record_no: int, key: bytes, value: bytes, headers: Headers) -> None: ...

    def close(self) -> tuple[int, list[Failure]]:
        """Finish delivery; (records acknowledged, failures)."""
        ...


def _event_id(headers: Headers) -> str:
    for name, value in headers:
        if name == "gdx.event.id":
            return value.decode()
    return ""


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip()
    if text.startswith(name):  # kafka-python errors already start with their class name
        return text
    return f"{name}: {text}" if text else name


class KafkaPublisher:
    """A `Sink` that publishes to the contract's topic; use as a context manager or call close()."""

    def __init__(
        self, contract: Contract, connection: KafkaConnection, options: PublishOptions | None = None
    ) -> None:
        self.contract = contract
        self.topic = contract.topic
        self.connection = connection
        self.options = options or PublishOptions()
        self.fatal: str | None = None
        self._producer: Any = None
        self._pending: list[tuple[int, bytes, Headers, Any]] = []
        self._failures: list[Failure] = []
        self._acked = 0
        self._opened = False

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> KafkaPublisher:
        """Connect and make sure the topic exists; a failure here is recorded, not raised."""
        if self._opened:
            return self
        self._opened = True
        from kafka import KafkaProducer
        from kafka.admin import KafkaAdminClient

        o = self.options
        common = dict(
            **self.connection.kafka_python(),
            request_timeout_ms=o.request_timeout_ms,
            bootstrap_timeout_ms=o.bootstrap_timeout_ms,
        )
        try:
            if o.create_topic:
                admin = KafkaAdminClient(client_id=f"{o.client_id}-admin", **common)
                try:
                    config = {"max.message.bytes": str(o.max_request_size + 12), **o.topic_config}
                    ensure_topic(admin, self.topic, o.partitions, config, o.replication_factor)
                finally:
                    admin.close()
            self._producer = KafkaProducer(
                client_id=o.client_id,
                acks="all",
                enable_idempotence=True,
                compression_type="lz4",
                linger_ms=o.linger_ms,
                batch_size=min(o.batch_size, o.max_request_size),
                max_request_size=o.max_request_size,
                delivery_timeout_ms=o.delivery_timeout_ms,
                max_block_ms=o.max_block_ms,
                **common,
            )
        except Exception as exc:  # any client error means nothing can be delivered: report it
            self.fatal = f"cannot connect to Kafka at {self.connection.bootstrap}: {_describe(exc)}"
            log.error(self.fatal)
        return self

    def __enter__(self) -> KafkaPublisher:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ---------------------------------------------------------------------------
    def send(self, record_no: int, key: bytes, value: bytes, headers: Headers) -> None:
        if not self._opened:
            self.open()
        if self.fatal is not None:
            self._failures.append(
                Failure(record_no, key.decode(errors="replace"), _event_id(headers), self.fatal)
            )
            return
        try:
            future = self._producer.send(self.topic, value=value, key=key, headers=headers)
        except Exception as exc:  # e.g. KafkaTimeoutError waiting for metadata: fatal for the run
            self.fatal = f"send failed: {_describe(exc)}"
            self._failures.append(
                Failure(record_no, key.decode(errors="replace"), _event_id(headers), self.fatal)
            )
            return
        pending = self._pending
        pending.append((record_no, key, headers, future))
        if len(pending) >= self.options.sweep_every:
            self._sweep(final=False)

    def _sweep(self, final: bool) -> None:
        """Drop acknowledged futures, collect failed ones; keep the rest for later."""
        still: list[tuple[int, bytes, Headers, Any]] = []
        for item in self._pending:
            future = item[3]
            if future.is_done:
                if future.succeeded():
                    self._acked += 1
                else:
                    self._fail(item, _describe(future.exception))
            elif final:
                self._fail(item, "not acknowledged before close (delivery timeout)")
            else:
                still.append(item)
        self._pending = still

    def _fail(self, item: tuple[int, bytes, Headers, Any], error: str) -> None:
        record_no, key, headers, _ = item
        self._failures.append(Failure(record_no, key.decode(errors="replace"), _event_id(headers), error))

    def close(self) -> tuple[int, list[Failure]]:
        """Flush, wait for every acknowledgement, and return (acknowledged, failures)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            timeout = (self.options.delivery_timeout_ms + self.options.request_timeout_ms) / 1000
            try:
                producer.flush(timeout=timeout)
            except Exception as exc:  # a flush timeout leaves futures pending: they become failures
                log.error("flush failed: %s", _describe(exc))
            self._sweep(final=True)
            try:
                producer.close(timeout=5)
            except Exception as exc:  # closing errors do not change what was acknowledged
                log.warning("producer close: %s", _describe(exc))
        elif self._pending:
            self._sweep(final=True)
        return self._acked, self._failures


def make_publisher(
    contract: Contract, connection: KafkaConnection, options: PublishOptions | None = None
) -> Sink:
    """The `Sink` for `options.client` publishing as `connection`'s principal, opened
    (connection and authorisation errors are recorded as failures)."""
    options = options or PublishOptions()
    if options.client == "confluent":
        from gdx.producer.publish_confluent import ConfluentPublisher

        return ConfluentPublisher(contract, connection, options).open()
    if options.client != "kafka-python":
        raise ValueError(f"unknown Kafka client {options.client!r}; use 'kafka-python' or 'confluent'")
    return KafkaPublisher(contract, connection, options).open()


@contextmanager
def fewer_gc_pauses() -> Iterator[None]:
    """Keep the cyclic GC from rescanning big, long-lived source data on every few sends.

    A producer run allocates a handful of objects per record (futures, tuples); with the default
    thresholds the collector then walks every parsed source record again and again (~25 % of
    the run time measured on 200k records). Freezing what exists and collecting less often
    removes that without disabling collection.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], 50_000), threshold[1], threshold[2])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def oversize_reason(key: bytes, value: bytes, headers: Headers, max_request_size: int) -> str | None:
    """Why a record cannot be produced with this `max_request_size`, or None if it fits.

    The cheap length sum is exact enough far from the limit; near it we ask kafka-python's own
    estimator, the same number the producer would reject the record with.
    """
    rough = len(key) + len(value) + sum(len(k) + len(v) for k, v in headers)
    if rough + 256 < max_request_size:
        return None
    from kafka.record.default_records import DefaultRecordBatchBuilder

    size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    if size <= max_request_size:
        return None
    return (
        f"record is {size} bytes on the wire, over the {max_request_size}-byte limit "
        "(producer max_request_size = broker message.max.bytes)"
    )
