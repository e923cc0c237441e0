"""One admin round over every dataset topic: is there possibly new data, and how much?

The dispatcher (`gdx_dispatch`'s `plan`) and the activity trigger must not open a consumer per
dataset (8,000 consumers, 8,000 group joins): they ask the broker with `AdminClient` calls, which
librdkafka batches per broker and runs concurrently.

- topic metadata: one `list_topics()` (a topic that does not exist yet is "no data", not an error);
- end offsets: `list_offsets(OffsetSpec.latest())` for every partition, `BATCH` partitions a call;
- the ingest groups' committed offsets: `list_consumer_group_offsets`, one future per group
  `gdx.ingest.<contract id>` (librdkafka takes one group per request), `GROUPS_IN_FLIGHT` at once;
- log start offsets (`OffsetSpec.earliest()`), only for partitions the group never committed.

Lag = end − committed (never committed: end − log start). This only answers "is there possibly new
data": the lake's ledger is the truth for landing, so if the group lags because a commit failed
after landing, the ingest run rolls forward and lands nothing twice (`gdx.ingest.runner`).
Consumer lag here is in records as the broker counts offsets (read_uncommitted high watermark),
the same figure as `gdx.ingest.status.consumer_lag`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gdx.orchestration.registry import DatasetEntry
    from gdx.security.kafka_conn import KafkaConnection

log = logging.getLogger(__name__)

BATCH = 2000
"""Partitions per `list_offsets` call: bounded requests, still a handful of calls at 8,000 topics."""
GROUPS_IN_FLIGHT = 500
"""Concurrent `list_consumer_group_offsets` futures (one group each)."""

TopicPartitionKey = tuple[str, int]


@dataclass(frozen=True)
class Probe:
    """The outcome of one admin round, per contract id."""

    lag: dict[str, int]
    """Records not yet committed by the dataset's ingest group (0: nothing new, or no topic)."""
    missing_topics: tuple[str, ...] = ()
    end_offsets: dict[TopicPartitionKey, int] = field(default_factory=dict, repr=False)

    def with_new_data(self) -> dict[str, int]:
        return {cid: n for cid, n in self.lag.items() if n > 0}


def admin_client(connection: KafkaConnection | None = None) -> Any:
    """An AdminClient as the ingestion principal (`connection_for(INGEST)` unless given)."""
    from confluent_kafka.admin import AdminClient

    if connection is None:
        from gdx.security.kafka_conn import connection_for
        from gdx.security.principals import INGEST

        connection = connection_for(INGEST)
    return AdminClient({**connection.librdkafka(), "client.id": "gdx.orchestration.probe", "logger": log})


def topic_partitions(admin: Any, topics: Iterable[str], timeout_s: float = 10.0) -> dict[str, list[int]]:
    """Partitions of each of `topics` that exists, from one metadata call."""
    metadata = admin.list_topics(timeout=timeout_s).topics
    found: dict[str, list[int]] = {}
    for topic in topics:
        meta = metadata.get(topic)
        if meta is None or meta.error is not None:
            continue  # not created yet (nothing published) or not visible to us: no data
        found[topic] = sorted(meta.partitions)
    return found


def list_offsets(
    admin: Any, partitions: Iterable[TopicPartitionKey], *, earliest: bool = False, timeout_s: float = 10.0
) -> dict[TopicPartitionKey, int]:
    """Latest (or earliest) offset of every partition, `BATCH` partitions per admin call."""
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec

    spec = OffsetSpec.earliest() if earliest else OffsetSpec.latest()
    keys = list(partitions)
    out: dict[TopicPartitionKey, int] = {}
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        futures = admin.list_offsets(
            {TopicPartition(t, p): spec for t, p in chunk}, request_timeout=timeout_s
        )
        for tp, future in futures.items():
            try:
                out[(tp.topic, tp.partition)] = future.result().offset
            except Exception as exc:  # one unavailable partition must not hide every other dataset
                log.warning("offsets of %s[%d]: %s", tp.topic, tp.partition, exc)
    return out


def committed_offsets(
    admin: Any, groups: Mapping[str, list[TopicPartitionKey]], timeout_s: float = 10.0
) -> dict[str, dict[TopicPartitionKey, int | None]]:
    """Committed offset per partition of each group (None: never committed)."""
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    names = list(groups)
    out: dict[str, dict[TopicPartitionKey, int | None]] = {}
    for start in range(0, len(names), GROUPS_IN_FLIGHT):
        futures = {
            name: admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(name, [TopicPartition(t, p) for t, p in groups[name]])],
                request_timeout=timeout_s,
            )[name]
            for name in names[start : start + GROUPS_IN_FLIGHT]
        }
        for name, future in futures.items():
            try:
                result = future.result()
            except Exception as exc:
                log.warning("committed offsets of %s: %s", name, exc)
                out[name] = dict.fromkeys(groups[name])
                continue
            out[name] = {
                (tp.topic, tp.partition): (tp.offset if tp.offset >= 0 else None)
                for tp in result.topic_partitions
            }
    return out


def probe(
    entries: Iterable[DatasetEntry], connection: KafkaConnection | None = None, *, admin: Any = None,
    timeout_s: float = 10.0,
) -> Probe:  # fmt: skip
    """Lag of every dataset in `entries` from one admin round."""
    from gdx.ingest.consumer import group_id

    entries = list(entries)
    admin = admin if admin is not None else admin_client(connection)
    parts = topic_partitions(admin, {e.topic for e in entries}, timeout_s)
    keys = [(t, p) for t, ps in parts.items() for p in ps]
    ends = list_offsets(admin, keys, timeout_s=timeout_s)
    # Only datasets with any record need their group asked: an empty topic cannot have lag.
    with_data = [e for e in entries if any(ends.get((e.topic, p), 0) > 0 for p in parts.get(e.topic, ()))]
    groups = {group_id(e.id): [(e.topic, p) for p in parts[e.topic]] for e in with_data}
    committed = committed_offsets(admin, groups, timeout_s) if groups else {}
    never = [
        k for g in groups for k, off in committed.get(g, {}).items() if off is None and ends.get(k, 0) > 0
    ]
    starts = list_offsets(admin, never, earliest=True, timeout_s=timeout_s) if never else {}
    lag: dict[str, int] = dict.fromkeys((e.id for e in entries), 0)
    for e in with_data:
        done = committed.get(group_id(e.id), {})
        total = 0
        for p in parts[e.topic]:
            key = (e.topic, p)
            end = ends.get(key, 0)
            base = done.get(key)
            total += max(0, end - (base if base is not None else starts.get(key, 0)))
        lag[e.id] = total
    missing = tuple(sorted({e.topic for e in entries} - set(parts)))
    return Probe(lag=lag, missing_topics=missing, end_offsets=ends)
