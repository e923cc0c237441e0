"""Bounded, manually committed batches from a contract's topic (confluent-kafka / librdkafka).

Consumer group `gdx.ingest.<contract id>`, `enable.auto.commit=false` (offsets are committed by
the runner only after the lake is durable), `isolation.level=read_committed` (records of aborted
producer transactions never land). Partitions are assigned explicitly (`assign`, not `subscribe`):
the runner already holds the dataset lock, so there is nothing to balance, no rebalance can move a
partition mid-batch, and the start offset of every partition is the one `gdx.ingest.offsets`
checked. `auto.offset.reset=error`: a start offset the broker no longer has (retention, a
recreated topic) stops the run (`OffsetOutOfRange`) instead of silently jumping to either end.

Broker calls outside the fetch loop (`partitions`, `committed`, `watermarks`, `topic_id`, `commit`)
are retried on retriable Kafka errors (`NOT_COORDINATOR` while `__consumer_offsets` is created on a
fresh broker, `COORDINATOR_LOAD_IN_PROGRESS`, timeouts…) with a bounded backoff (`retrying`); any
other error raises at once.

Why confluent-kafka rather than kafka-python: ~4x the records/s at a quarter of the CPU (the
fetch and LZ4 decompression run in librdkafka's C threads, on the second core).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from gdx.ingest.model import RawBatch
from gdx.security.kafka_conn import KafkaConnection

KAFKA_CLIENT = "confluent-kafka"
"""The client library behind `BatchConsumer` (reported by `make bench`)."""


log = logging.getLogger(__name__)
T = TypeVar("T")


class TopicMissing(RuntimeError):
    """The contract's topic does not exist on the cluster (nothing was ever published)."""


# Codes librdkafka does not always flag `retriable()` on the errors of committed()/commit().
_RETRIABLE_CODES = frozenset(
    {
        "NOT_COORDINATOR", "COORDINATOR_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE", "_TIMED_OUT",
        "REQUEST_TIMED_OUT", "_TRANSPORT", "LEADER_NOT_AVAILABLE", "NOT_LEADER_FOR_PARTITION",
        "_WAIT_COORD", "NETWORK_EXCEPTION", "_ALL_BROKERS_DOWN", "REBALANCE_IN_PROGRESS",
    }
)  # fmt: skip


def is_retriable(exc: BaseException) -> bool:
    """A KafkaException whose error is worth another try."""
    from confluent_kafka import KafkaError, KafkaException

    if not isinstance(exc, KafkaException) or not exc.args or not isinstance(exc.args[0], KafkaError):
        return False
    err: KafkaError = exc.args[0]
    if err.fatal():
        return False
    return bool(err.retriable()) or err.name() in _RETRIABLE_CODES


def retrying(
    call: Callable[[], T], what: str, *, attempts: int = 8, base_s: float = 0.25, max_s: float = 4.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:  # fmt: skip
    """`call()`, again after a retriable Kafka error (backoff `base_s` doubling up to `max_s`,
    `attempts` tries in all: ~20 s at most); a non-retriable error, or the last one, raises."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:
            if attempt == attempts or not is_retriable(exc):
                raise
            delay = min(max_s, base_s * 2 ** (attempt - 1))
            log.warning("%s: %s (retriable), retry %d/%d in %.2f s", what, exc, attempt, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")


def _raise_partition_errors(tps: list[Any]) -> None:
    from confluent_kafka import KafkaException

    for tp in tps:
        if tp.error is not None:
            raise KafkaException(tp.error)


def group_id(contract_id: str) -> str:
    return f"gdx.ingest.{contract_id}"


def consumer_config(connection: KafkaConnection, group: str) -> dict[str, Any]:
    return {
        **connection.librdkafka(),
        "group.id": group,
        "client.id": f"{group}.consumer",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "error",
        "enable.partition.eof": True,
        # Large fetches: a batch is hundreds of thousands of ~250 B records. A single record is
        # bounded by the broker's message.max.bytes (1 MiB locally), far below these.
        "fetch.max.bytes": 64 * 1024 * 1024,
        "max.partition.fetch.bytes": 16 * 1024 * 1024,
        "queued.max.messages.kbytes": 256 * 1024,
        "fetch.wait.max.ms": 100,
        "socket.keepalive.enable": True,
        "logger": _quiet_logger(),
    }


def _quiet_logger() -> Any:
    import logging

    return logging.getLogger("gdx.ingest.librdkafka")


def update_at_end(at_end: set[int], parts: list[int], eofs: list[tuple[int, int]]) -> None:
    """Fold one `consume()` call into the set of partitions known to be at their end.

    `parts` are the partitions of the call's records in order; `eofs` are its end-of-partition
    events as (number of records before the event, partition). A partition is at its end when its
    last event in the call is an EOF, or when it was at its end before and got no record now. Order
    matters: an EOF usually arrives in the same call right after that partition's last records,
    and must not be undone by them (which cost every run a full idle timeout).
    """
    at_end.difference_update(parts)
    for position, partition in eofs:
        if partition not in parts[position:]:
            at_end.add(partition)


class BatchConsumer:
    """One contract's topic, all partitions, read in bounded batches."""

    def __init__(
        self, connection: KafkaConnection, topic: str, group: str, generation: int = 0, topic_id: str | None = None
    ) -> None:
        from confluent_kafka import Consumer

        self.topic = topic
        self.group = group
        self.generation = generation
        self.topic_id = topic_id
        """Stamped on every batch (its file names and ledger entries)."""
        self._connection = connection
        self._consumer = Consumer(consumer_config(connection, group))
        self._assigned: list[int] = []
        self._at_end: set[int] = set()

    def partitions(self, timeout_s: float = 15.0) -> list[int]:
        from confluent_kafka import KafkaException

        def ask() -> list[int]:
            meta = self._consumer.list_topics(self.topic, timeout=timeout_s)
            info = meta.topics.get(self.topic)
            if info is not None and info.error is not None and info.error.retriable():
                raise KafkaException(info.error)  # e.g. LEADER_NOT_AVAILABLE right after creation
            if info is None or info.error is not None or not info.partitions:
                raise TopicMissing(f"topic {self.topic} does not exist (has anything been published under this contract?)")
            return sorted(info.partitions)

        return retrying(ask, f"{self.topic}: metadata")

    def committed(self, partitions: list[int], timeout_s: float = 15.0) -> dict[int, int | None]:
        """The group's committed offset (next offset to read) per partition; None if none."""
        from confluent_kafka import TopicPartition

        def ask() -> dict[int, int | None]:
            tps = self._consumer.committed([TopicPartition(self.topic, p) for p in partitions], timeout=timeout_s)
            _raise_partition_errors(tps)
            return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in tps}

        return retrying(ask, f"{self.group}: committed offsets")

    def watermarks(self, partition: int, timeout_s: float = 10.0) -> tuple[int, int]:
        """(log start, log end) of the partition as the broker has it now."""
        from confluent_kafka import TopicPartition

        tp = TopicPartition(self.topic, partition)
        return retrying(
            lambda: self._consumer.get_watermark_offsets(tp, timeout=timeout_s, cached=False),
            f"{self.topic}[{partition}]: watermarks",
        )

    def current_topic_id(self, timeout_s: float = 15.0) -> str | None:
        """Kafka's id of the topic now (base64 UUID); None if the broker does not report one."""
        from confluent_kafka import TopicCollection
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({**self._connection.librdkafka(), "logger": _quiet_logger()})

        def ask() -> str | None:
            future = admin.describe_topics(TopicCollection([self.topic]), request_timeout=timeout_s)[self.topic]
            topic_id = future.result(timeout_s + 5).topic_id
            return None if topic_id is None else str(topic_id)

        return retrying(ask, f"{self.topic}: topic id")

    def assign(self, starts: dict[int, int | None]) -> None:
        from confluent_kafka import OFFSET_BEGINNING, TopicPartition

        self._assigned = sorted(starts)
        self._at_end = set()
        self._consumer.assign(
            [TopicPartition(self.topic, p, OFFSET_BEGINNING if o is None else o) for p, o in sorted(starts.items())]
        )

    def commit(self, next_offsets: dict[int, int]) -> None:
        """Synchronously commit `next offset to read` per partition."""
        from confluent_kafka import TopicPartition

        if not next_offsets:
            return
        offsets = [TopicPartition(self.topic, p, o) for p, o in sorted(next_offsets.items())]

        def send() -> None:
            result = self._consumer.commit(offsets=offsets, asynchronous=False)
            _raise_partition_errors(result or [])

        retrying(send, f"{self.group}: commit")

    def poll_batch(
        self, max_records: int, max_bytes: int, max_seconds: float, idle_timeout_s: float
    ) -> tuple[RawBatch, bool]:
        """Up to `max_records` / `max_bytes` / `max_seconds` of records; (batch, caught_up).

        `caught_up` is True when every assigned partition reported its end (or nothing arrived
        for `idle_timeout_s`): the run can stop after this batch. What is known to be at its end
        carries over from the previous call (an EOF is not repeated until new records arrive).
        """
        from confluent_kafka import KafkaError, KafkaException

        batch = RawBatch(self.topic, generation=self.generation, topic_id=self.topic_id)
        at_end = self._at_end
        started = time.monotonic()
        last_data = started
        consume = self._consumer.consume
        while len(batch) < max_records and batch.nbytes < max_bytes:
            elapsed = time.monotonic() - started
            if elapsed >= max_seconds:
                return batch, False
            want = min(50_000, max_records - len(batch))
            msgs = consume(num_messages=want, timeout=min(0.5, max(0.05, max_seconds - elapsed)))
            if not msgs:
                if time.monotonic() - last_data >= idle_timeout_s:
                    return batch, True
                continue
            good = []
            eofs: list[tuple[int, int]] = []
            for m in msgs:
                err = m.error()
                if err is None:
                    good.append(m)
                elif err.code() == KafkaError._PARTITION_EOF:
                    eofs.append((len(good), m.partition()))
                elif err.code() in (KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET):
                    from gdx.ingest.runner import OffsetOutOfRange

                    raise OffsetOutOfRange(
                        f"{self.topic}[{m.partition()}]: the broker no longer has the offset being read ({err.str()});"
                        " stopped instead of resetting. Nothing of this batch was committed: rerun `gdx ingest` to"
                        " see what changed (retention or a recreated topic) and the options."
                    )
                else:
                    raise KafkaException(err)
            parts = [m.partition() for m in good]
            update_at_end(at_end, parts, eofs)
            if good:
                last_data = time.monotonic()
                values = [m.value() for m in good]
                batch.partitions += parts
                batch.offsets += [m.offset() for m in good]
                batch.timestamps += [m.timestamp()[1] for m in good]
                batch.keys += [m.key() for m in good]
                batch.values += values
                batch.headers += [m.headers() for m in good]
                batch.nbytes += sum(len(v) for v in values if v is not None)
            if self._assigned and at_end.issuperset(self._assigned):
                return batch, True
        return batch, False

    def close(self) -> None:
        self._consumer.close()
