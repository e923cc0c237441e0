"""Topic creation shared by producers (data topics) and ingestion (dead-letter topics)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_PARTITIONS = 3
DEFAULT_REPLICATION: int | None = None
"""None: as many replicas as the cluster allows, up to 3 (`replication_for`)."""
DURABLE_REPLICAS = 3
DURABLE_MIN_ISR = 2


def replication_for(brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) for a new topic on a cluster of `brokers` nodes.

    Three replicas of which two must acknowledge (acks=all) survive the loss of any one broker
    without losing an acknowledged record and without refusing writes; a single local broker can
    only hold one replica, and then one in-sync replica is all there is.
    """
    rf = max(1, min(brokers, DURABLE_REPLICAS))
    return rf, (DURABLE_MIN_ISR if rf >= DURABLE_REPLICAS else 1)


def _broker_count(admin: Any) -> int:
    return len(admin.describe_cluster()["brokers"])


def ensure_topic(
    admin: Any,
    name: str,
    partitions: int = DEFAULT_PARTITIONS,
    config: Mapping[str, str] | None = None,
    replication_factor: int | None = DEFAULT_REPLICATION,
) -> bool:
    """Create topic `name` unless it exists; True if this call created it.

    `admin` is a `kafka.admin.KafkaAdminClient`. An existing topic is left as it is (its partition
    count and config are not changed): a topic's partitioning is part of the key→partition
    mapping consumers rely on, so it is never altered behind their backs. Racing creators are
    fine: "already exists" counts as success. Without `replication_factor` the topic gets
    `replication_for(<brokers in the cluster>)`; an explicit `min.insync.replicas` in `config` wins.
    """
    from kafka.errors import TopicAlreadyExistsError

    if name in set(admin.list_topics()):
        return False
    config = dict(config or {})
    if replication_factor is None:
        replication_factor, min_isr = replication_for(_broker_count(admin))
        config.setdefault("min.insync.replicas", str(min_isr))
    spec = {
        "num_partitions": int(partitions),
        "replication_factor": int(replication_factor),
        "configs": {str(k): str(v) for k, v in config.items()},
    }
    try:
        # wait_for_metadata: a producer started right after would otherwise race the leader election.
        admin.create_topics({name: spec}, raise_errors=True, wait_for_metadata=True)
    except TopicAlreadyExistsError:
        return False
    return True
