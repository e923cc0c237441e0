"""Helpers (no tests) shared by the producer integration tests: unique topics, reading a topic back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from gdx.contracts.model import Contract, get_contract


def contract_on(contract_id: str, topic: str) -> Contract:
    """The contract bound to a test-only topic, so tests never share data."""
    return replace(get_contract(contract_id), topic=topic)


def read_topic(connection: Any, topic: str, expected: int, timeout_s: float = 30.0) -> list[Any]:
    """Every record of `topic` read with `connection` (a KafkaConnection; stops once `expected`
    arrived or nothing came for a while)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        **connection.kafka_python(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=int(timeout_s * 1000),
    )
    out: list[Any] = []
    try:
        for message in consumer:
            out.append(message)
            if len(out) >= expected:
                break
    finally:
        consumer.close()
    return out


def as_dry_run_lines(messages: list[Any]) -> list[dict[str, Any]]:
    """Kafka messages in the shape of a dry run's NDJSON lines (topic left out)."""
    return [
        {
            "key": m.key.decode(),
            "headers": {k: v.decode() for k, v in m.headers},
            "value": orjson.loads(m.value),
        }
        for m in messages
    ]
