"""Topic creation shared by producers (data topics) and ingestion (dead-letter topics)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_PARTITIONS = 3
DEFAULT_REPLICATION = 1  # the local broker is a single node; a real cluster passes 3


def ensure_topic(
    admin: Any,
    name: str,
    partitions: int = DEFAULT_PARTITIONS,
    config: Mapping[str, str] | None = None,
    replication_factor: int = DEFAULT_REPLICATION,
) -> bool:
    """Create topic `name` unless it exists; True if this call created it.

    `admin` is a `kafka.admin.KafkaAdminClient`. An existing topic is left as it is (its partition
    count and config are not changed): a topic's partitioning is part of the key→partition
    mapping consumers rely on, so it is never altered behind their backs. Racing creators are
    fine: "already exists" counts as success.
    """
    from kafka.errors import TopicAlreadyExistsError

    if name in set(admin.list_topics()):
        return False
    spec = {
        "num_partitions": int(partitions),
        "replication_factor": int(replication_factor),
        "configs": {str(k): str(v) for k, v in (config or {}).items()},
    }
    try:
        # wait_for_metadata: a producer started right after would otherwise race the leader election.
        admin.create_topics({name: spec}, raise_errors=True, wait_for_metadata=True)
    except TopicAlreadyExistsError:
        return False
    return True
