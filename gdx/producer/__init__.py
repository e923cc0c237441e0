"""Publishing agency data to Kafka under its contract: edge check, encoding, delivery, report.

Entry points: `produce_file` (agency file → topic), `publish_records` (normalised records →
topic), `EdgeChecker`, `KafkaPublisher`, `ensure_topic`, `ProduceResult`.
"""

from __future__ import annotations

from typing import Any

from gdx.producer.report import Failure, ProduceResult, Reject, Violation
from gdx.producer.topics import ensure_topic

__all__ = [
    "EdgeChecker",
    "Failure",
    "KafkaPublisher",
    "ProduceResult",
    "PublishOptions",
    "Reject",
    "Violation",
    "encode",
    "ensure_topic",
    "produce_file",
    "publish_records",
]

_LAZY = {
    "EdgeChecker": "gdx.producer.edge_check",
    "KafkaPublisher": "gdx.producer.publish",
    "PublishOptions": "gdx.producer.publish",
    "encode": "gdx.producer.pipeline",
    "produce_file": "gdx.producer.pipeline",
    "publish_records": "gdx.producer.pipeline",
}


def __getattr__(name: str) -> Any:
    # Lazy: the pipeline imports the adapters, which import this package's report module.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(module), name)
