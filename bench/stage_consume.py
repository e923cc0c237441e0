"""Consume: the ingestion engine's consume step vs bare poll loops of both Kafka clients.

All loops read the whole ingest topic (N records over 3 partitions) from the beginning in a fresh
consumer group, touch what the engine needs of every record (value, key, headers, partition,
offset, timestamp), and stop when N records were seen. The clock includes creating the consumer
and joining the group, as in a real run; the time to the first record is kept per repeat.

* baseline — kafka-python `KafkaConsumer.poll()` loop, tuned (`bench.kafka_util.KAFKA_PYTHON_TUNED`);
* reference — the same loop with kafka-python's default settings (what untuned code gets);
* reference — confluent-kafka `Consumer.consume(num_messages=…)` loop (`CONFLUENT_TUNED`);
* ours — the ingestion engine's consume step alone (`bench.ingest_api.consume_only`), when the
  engine exposes one.

If one client is ≥ 2× faster on this path, the finding is printed and recorded.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bench import stats
from bench.context import Context
from bench.kafka_util import CONFLUENT_TUNED, CONSUME_BATCH, KAFKA_PYTHON_TUNED
from bench.model import Measurement, not_run
from gdx.security.kafka_conn import KafkaConnection

KEY_OURS = "consume.gdx"
KEY_KP = "consume.kafka_python"
KEY_KP_DEFAULT = "consume.kafka_python_default"
KEY_CONFLUENT = "consume.confluent"
TIMEOUT_S = 600.0


def _result(seconds: float, n: int, nbytes: int, first: float | None) -> dict[str, Any]:
    """Rate over the whole run, and the steady rate after the first record arrived (no group join)."""
    steady = stats.rate(n, seconds - first) if first is not None else None
    return {
        "seconds": seconds,
        "records": n,
        "bytes": nbytes,
        "first_record_s": first,
        "rate": stats.rate(n, seconds),
        "steady_rate": steady,
    }


def kafka_python_loop(conn: KafkaConnection, topic: str, total: int, tuned: bool = True) -> dict[str, Any]:
    from kafka import KafkaConsumer

    settings = KAFKA_PYTHON_TUNED if tuned else {}
    started = time.perf_counter()
    consumer = KafkaConsumer(
        topic,
        **conn.kafka_python(),
        group_id=f"bench-kp-{uuid.uuid4().hex[:8]}",
        client_id="gdx-bench-kp",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **settings,
    )
    n = nbytes = 0
    first = None
    try:
        while n < total:
            batches = consumer.poll(timeout_ms=1000)
            for records in batches.values():
                for r in records:
                    nbytes += len(r.value)
                    r.key, r.headers, r.partition, r.offset, r.timestamp  # noqa: B018 - touch what ingest reads
                n += len(records)
            if first is None and n:
                first = time.perf_counter() - started
            if time.perf_counter() - started > TIMEOUT_S:
                raise TimeoutError(f"kafka-python read {n:,}/{total:,} records in {TIMEOUT_S:.0f} s")
        seconds = time.perf_counter() - started
    finally:
        consumer.close(autocommit=False)
    return _result(seconds, n, nbytes, first)


def confluent_loop(conn: KafkaConnection, topic: str, total: int) -> dict[str, Any]:
    from confluent_kafka import Consumer

    started = time.perf_counter()
    consumer = Consumer(
        {
            **conn.librdkafka(),
            "group.id": f"bench-ck-{uuid.uuid4().hex[:8]}",
            "client.id": "gdx-bench-ck",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **CONFLUENT_TUNED,
        }
    )
    consumer.subscribe([topic])
    n = nbytes = 0
    first = None
    try:
        while n < total:
            msgs = consumer.consume(num_messages=CONSUME_BATCH, timeout=1.0)
            for m in msgs:
                if m.error() is not None:
                    continue
                nbytes += len(m.value())
                m.key(), m.headers(), m.partition(), m.offset(), m.timestamp()
                n += 1
            if first is None and n:
                first = time.perf_counter() - started
            if time.perf_counter() - started > TIMEOUT_S:
                raise TimeoutError(f"confluent-kafka read {n:,}/{total:,} records in {TIMEOUT_S:.0f} s")
        seconds = time.perf_counter() - started
    finally:
        consumer.close()
    return _result(seconds, n, nbytes, first)


def run(ctx: Context) -> None:
    from bench import ingest_api

    run = ctx.run
    kp = run.add(
        Measurement(KEY_KP, "consume", "bare kafka-python poll loop (tuned)", stats.RATE, "baseline")
    )
    kpd = run.add(
        Measurement(
            KEY_KP_DEFAULT,
            "consume",
            "bare kafka-python poll loop (defaults)",
            stats.RATE,
            "reference",
            compare=[KEY_KP],
        )
    )
    ck = run.add(
        Measurement(
            KEY_CONFLUENT,
            "consume",
            "bare confluent-kafka consume loop",
            stats.RATE,
            "reference",
            compare=[KEY_KP],
        )
    )
    ours = run.add(
        Measurement(
            KEY_OURS,
            "consume",
            "gdx ingest: consume step alone",
            stats.RATE,
            "ours",
            compare=[KEY_KP, KEY_CONFLUENT],
        )
    )
    kp.details["settings"] = dict(KAFKA_PYTHON_TUNED)
    ck.details["settings"] = {**CONFLUENT_TUNED, "consume.num_messages": CONSUME_BATCH}
    ds = ctx.loaded_wire
    topic, total, conn = ds.topic, ds.n, ctx.kafka
    consume_only = ingest_api.consume_only_function()
    if isinstance(consume_only, str):
        ours.status = not_run(consume_only)
    for rep in range(ctx.options.repeats):
        ctx.log(
            f"consume repeat {rep + 1}/{ctx.options.repeats}: kafka-python (tuned, defaults), confluent-kafka, gdx …"
        )
        r = kafka_python_loop(conn, topic, total, tuned=True)
        kp.samples.append(r["rate"])
        kp.repeats.append(r)
        r = kafka_python_loop(conn, topic, total, tuned=False)
        kpd.samples.append(r["rate"])
        kpd.repeats.append(r)
        r = confluent_loop(conn, topic, total)
        ck.samples.append(r["rate"])
        ck.repeats.append(r)
        if ours.ran and not isinstance(consume_only, str):
            r = consume_only(conn, topic, total, ctx.contract)
            ours.samples.append(r["rate"])
            ours.repeats.append(r)
    for m in (kp, kpd, ck, ours):
        bad = [r for r in m.repeats if r.get("records", total) != total]
        if bad:
            m.fail(f"read {bad[0].get('records')} records, expected {total}")
    ratio = run.ratio(KEY_CONFLUENT, KEY_KP)
    engine_client = ingest_api.consumer_client()
    if ratio is not None:
        if ratio >= 2:
            where = (
                f"the ingestion engine already consumes with {engine_client} ({stats.format_value(ours.median, stats.RATE)} "
                "for its consume step)"
                if engine_client == "confluent-kafka" and ours.samples
                else "worth using it behind the same gdx consumer interface"
            )
            run.findings.append(
                f"consume: confluent-kafka is {ratio:.1f}× faster than tuned kafka-python on this path "
                f"({stats.format_value(ck.median, stats.RATE)} vs {stats.format_value(kp.median, stats.RATE)}): {where}."
            )
        elif ratio <= 0.5:
            run.findings.append(
                f"kafka-python consumes {1 / ratio:.1f}× faster than confluent-kafka on this path."
            )
        else:
            run.findings.append(
                f"confluent-kafka vs kafka-python on the consume path: {ratio:.2f}× (under 2×)."
            )
