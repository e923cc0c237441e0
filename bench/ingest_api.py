"""The one place where the harness calls the ingestion engine (`gdx.ingest`).

The engine is developed alongside the harness; everything the benchmark needs from it goes
through these functions, so an API change is fixed here only. When a piece is missing the
functions return the reason as a string and the stage is reported as "not run: <reason>" —
results are never stubbed.

Engine facts the harness relies on: `gdx.ingest.runner.run_ingest(contract_id, connection=…,
config=…, settings=…) -> RunSummary` is what `gdx ingest` and the Airflow task run; its consumer
group is fixed per contract (`gdx.ingest.consumer.group_id`), so a repeat on a fresh lake first
deletes that group (`reset_group`); `gdx.ingest.consumer.BatchConsumer.poll_batch` is the consume
step alone.
"""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable
from typing import Any

RunIngest = Callable[..., dict[str, Any]]


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        return f"{name} cannot be imported yet ({exc})"


def ingest_function() -> RunIngest | str:
    """`run(client_config, contract_id) -> RunSummary.as_dict()`, or why it cannot run
    (`client_config`: a librdkafka-form client-config file, see gdx.security.kafka_conn)."""
    runner = _module("gdx.ingest.runner")
    if isinstance(runner, str):
        return f"the ingestion engine is not ready: {runner}"
    if not hasattr(runner, "run_ingest"):
        return "gdx.ingest.runner has no run_ingest"

    def run(client_config: str, contract_id: str, **_: Any) -> dict[str, Any]:
        from gdx.ingest.config import IngestConfig
        from gdx.security.kafka_conn import KafkaConnection
        from gdx.settings import Settings

        summary = runner.run_ingest(
            contract_id,
            connection=KafkaConnection.load(client_config),
            config=IngestConfig.from_env(),
            settings=Settings.from_env(),
        )
        out = summary.as_dict()
        out["batches"] = len(summary.batches)
        return out

    return run


def warm_imports() -> list[str]:
    """Import what a run imports lazily (GX alone takes 5–15 s here), so the child can time the
    process start-up and imports apart from the ingestion itself. Returns what was imported."""
    done = []
    for name in ("pyarrow.parquet", "pandas", "numpy", "orjson", "confluent_kafka", "gdx.ingest.runner",
                 "gdx.ingest.consumer", "gdx.ingest.validate", "gdx.ingest.dlq"):  # fmt: skip
        if not isinstance(_module(name), str):
            done.append(name)
    gate = _module("gdx.ingest.gate")
    if not isinstance(gate, str) and hasattr(gate, "_import_gx"):
        gate._import_gx()  # great_expectations, quietened the way the engine does it
        done.append("great_expectations")
    return done


def group_for(contract_id: str) -> str | None:
    consumer = _module("gdx.ingest.consumer")
    return None if isinstance(consumer, str) else consumer.group_id(contract_id)


def consumer_client() -> str | None:
    """Which Kafka client the engine's consumer is built on ("confluent-kafka", "kafka-python")."""
    consumer_mod = _module("gdx.ingest.consumer")
    if isinstance(consumer_mod, str):
        return None
    return getattr(consumer_mod, "KAFKA_CLIENT", None)


def consume_only_function() -> Callable[..., dict[str, Any]] | str:
    """`consume(conn, topic, total, contract) -> {seconds, records, rate, ...}` or why not."""
    consumer_mod = _module("gdx.ingest.consumer")
    if isinstance(consumer_mod, str):
        return f"no separable consume step yet: {consumer_mod}"
    if not hasattr(consumer_mod, "BatchConsumer"):
        return "gdx.ingest.consumer has no BatchConsumer"

    def consume(conn: Any, topic: str, total: int, contract: Any) -> dict[str, Any]:
        from bench import stats
        from gdx.ingest.config import IngestConfig

        config = IngestConfig()
        started = time.perf_counter()
        consumer = consumer_mod.BatchConsumer(conn, topic, f"gdx-bench-consume-{uuid.uuid4().hex[:8]}")
        n = nbytes = batches = 0
        first = None
        try:
            consumer.assign({p: None for p in consumer.partitions()})
            while n < total:
                raw, caught_up = consumer.poll_batch(
                    config.batch_max_records,
                    config.batch_max_bytes,
                    config.batch_max_seconds,
                    config.idle_timeout_s,
                )
                if first is None and len(raw):
                    first = time.perf_counter() - started
                n += len(raw)
                nbytes += raw.nbytes
                batches += 1
                if caught_up:
                    break
            seconds = time.perf_counter() - started
        finally:
            consumer.close()
        return {
            "seconds": seconds, "records": n, "bytes": nbytes, "batches": batches, "first_record_s": first,
            "rate": stats.rate(n, seconds), "steady_rate": stats.rate(n, seconds - first) if first else None,
        }  # fmt: skip

    return consume
