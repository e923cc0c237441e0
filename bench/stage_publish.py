"""Publish: `gdx produce`'s library path vs bare producer loops sending the same bytes.

* ours — `gdx.producer.pipeline.produce_file` (what `gdx produce` calls) on the Air4Thai source
  file: parse, adapter, normaliser, edge check, encoding, delivery with acks=all + idempotence +
  lz4, every acknowledgement accounted for. Rate = source records read per second (the figure the
  CLI prints). Its rejects must equal the generator's ground truth, else the run is FAILED.
* baseline — a bare kafka-python `KafkaProducer` loop sending the exact (key, value, headers) the
  pipeline produced (captured once in a dry run), with the same producer settings as
  `gdx.producer.publish.KafkaPublisher` (acks=all, idempotence, lz4, linger_ms, batch_size).
* reference — the same bytes through confluent-kafka (librdkafka) with the same settings.

Each repeat publishes to fresh topics (created beforehand, outside the timing) and runs the
variants interleaved, so machine noise hits all of them alike.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from bench import stats
from bench.context import Context
from bench.kafka_util import create_topic, total_records
from bench.model import Measurement

KEY_OURS = "publish.gdx"
KEY_BARE = "publish.bare_kafka_python"
KEY_CONFLUENT = "publish.bare_confluent"


class CaptureSink:
    """A producer `Sink` that keeps what would be sent (constant header values shared)."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes, bytes]] = []

    def send(self, record_no: int, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        event_id = next(v for k, v in headers if k == "gdx.event.id")
        self.records.append((key, value, event_id))

    def close(self) -> tuple[int, list[Any]]:
        return len(self.records), []


def capture_encoded(contract: Any, path: Any) -> tuple[list[tuple[bytes, bytes, bytes]], Any]:
    """Run the producer pipeline without Kafka: the exact records `gdx produce` would send."""
    from gdx.adapters.registry import resolve
    from gdx.producer.pipeline import produce_rows
    from gdx.producer.report import ProduceResult

    sink = CaptureSink()
    rows = resolve("air4thai", path).read(path, contract, {})
    result = produce_rows(contract, rows, sink, ProduceResult(contract.id, contract.topic, dry_run=True))
    return sink.records, result


def _header_builder(contract: Any) -> Any:
    from gdx.events import (
        CONTENT_TYPE,
        H_AGENCY,
        H_CONTENT_TYPE,
        H_CONTRACT_ID,
        H_CONTRACT_VERSION,
        H_EVENT_ID,
    )

    cid, ver, agency, ctype = (
        contract.id.encode(),
        contract.version.encode(),
        contract.agency.encode(),
        CONTENT_TYPE.encode(),
    )

    def headers(event_id: bytes) -> list[tuple[str, bytes]]:
        return [
            (H_CONTRACT_ID, cid),
            (H_CONTRACT_VERSION, ver),
            (H_AGENCY, agency),
            (H_EVENT_ID, event_id),
            (H_CONTENT_TYPE, ctype),
        ]

    return headers


def run_gdx(ctx: Context, topic: str) -> dict[str, Any]:
    from gdx.producer.pipeline import produce_file
    from gdx.producer.publish import PublishOptions

    path, truth = ctx.source
    contract = dataclasses.replace(ctx.contract, topic=topic)
    options = PublishOptions()  # what `gdx produce` uses with its default --timeout / --partitions
    started = time.perf_counter()
    result = produce_file(contract, path, "air4thai", connection=ctx.kafka, options=options)
    seconds = time.perf_counter() - started
    want_rejects = {b.record for b in truth.bad}
    got_rejects = {r.record for r in result.rejects}
    exact = got_rejects == want_rejects and result.published == truth.valid and not result.failures
    return {
        "seconds": seconds,
        "read": result.read,
        "published": result.published,
        "rejected": len(result.rejects),
        "failed": len(result.failures),
        "rate": stats.rate(result.read, seconds),
        "exact": exact,
        "missed_rejects": len(want_rejects - got_rejects),
        "extra_rejects": len(got_rejects - want_rejects),
    }


def run_bare_kafka_python(
    ctx: Context, topic: str, encoded: list[tuple[bytes, bytes, bytes]]
) -> dict[str, Any]:
    from kafka import KafkaProducer

    from gdx.producer.publish import PublishOptions

    o = PublishOptions()
    headers = _header_builder(ctx.contract)
    started = time.perf_counter()
    producer = KafkaProducer(
        **ctx.kafka.kafka_python(),
        client_id="gdx-bench-bare",
        acks="all",
        enable_idempotence=True,
        compression_type="lz4",
        linger_ms=o.linger_ms,
        batch_size=min(o.batch_size, o.max_request_size),
        max_request_size=o.max_request_size,
    )
    send = producer.send
    for key, value, event_id in encoded:
        send(topic, value=value, key=key, headers=headers(event_id))
    producer.flush()
    seconds = time.perf_counter() - started
    producer.close()
    return {"seconds": seconds, "sent": len(encoded), "rate": stats.rate(len(encoded), seconds)}


def run_bare_confluent(ctx: Context, topic: str, encoded: list[tuple[bytes, bytes, bytes]]) -> dict[str, Any]:
    from confluent_kafka import Producer

    from gdx.producer.publish import PublishOptions

    o = PublishOptions()
    headers = _header_builder(ctx.contract)
    errors: list[Any] = []

    def on_error(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(err)

    started = time.perf_counter()
    producer = Producer(
        {
            **ctx.kafka.librdkafka(),
            "client.id": "gdx-bench-confluent",
            "acks": "all",
            "enable.idempotence": True,
            "compression.type": "lz4",
            "linger.ms": o.linger_ms,
            "batch.size": min(o.batch_size, o.max_request_size),
            "message.max.bytes": o.max_request_size,
            "partitioner": "murmur2_random",
            "queue.buffering.max.messages": 500_000,
        }
    )
    produce, poll = producer.produce, producer.poll
    for i, (key, value, event_id) in enumerate(encoded):
        while True:
            try:
                produce(topic, value=value, key=key, headers=headers(event_id), on_delivery=on_error)
                break
            except BufferError:
                poll(0.01)
        if i % 10_000 == 0:
            poll(0)
    remaining = producer.flush(120)
    seconds = time.perf_counter() - started
    if remaining or errors:
        raise RuntimeError(f"confluent producer: {remaining} undelivered, {len(errors)} errors")
    return {"seconds": seconds, "sent": len(encoded), "rate": stats.rate(len(encoded), seconds)}


def run(ctx: Context) -> None:
    run = ctx.run
    ours = run.add(
        Measurement(
            KEY_OURS,
            "publish",
            "gdx produce (edge check, acks=all)",
            stats.RATE,
            "ours",
            compare=[KEY_BARE, KEY_CONFLUENT],
        )
    )
    bare = run.add(
        Measurement(KEY_BARE, "publish", "bare kafka-python loop, same bytes", stats.RATE, "baseline")
    )
    conf = run.add(
        Measurement(
            KEY_CONFLUENT,
            "publish",
            "bare confluent-kafka loop, same bytes",
            stats.RATE,
            "reference",
            compare=[KEY_BARE],
        )
    )
    path, truth = ctx.source
    ctx.log("capturing the encoded records (dry run of the producer pipeline) …")
    started = time.perf_counter()
    encoded, dry = capture_encoded(ctx.contract, path)
    run.setup["publish_capture"] = {
        "records": len(encoded),
        "rejects": len(dry.rejects),
        "seconds": round(time.perf_counter() - started, 2),
    }
    ours.details.update(
        {
            "input": path.name,
            "input_bytes": path.stat().st_size,
            "records": truth.records,
            "planted_bad": len(truth.bad),
        }
    )
    bare.details.update({"records": len(encoded)})
    conf.details.update({"records": len(encoded)})
    conn = ctx.kafka
    for rep in range(ctx.options.repeats):
        topics = {
            k: f"bench.publish.{k.split('.', 1)[1]}.r{rep}" for k in (KEY_OURS, KEY_BARE, KEY_CONFLUENT)
        }
        for topic in topics.values():
            create_topic(conn, topic)
        ctx.log(f"publish repeat {rep + 1}/{ctx.options.repeats}: bare kafka-python …")
        b = run_bare_kafka_python(ctx, topics[KEY_BARE], encoded)
        b["on_topic"] = total_records(conn, topics[KEY_BARE])
        bare.samples.append(b["rate"])
        bare.repeats.append(b)
        ctx.log(f"publish repeat {rep + 1}: gdx produce …")
        g = run_gdx(ctx, topics[KEY_OURS])
        g["on_topic"] = total_records(conn, topics[KEY_OURS])
        ours.samples.append(g["rate"])
        ours.repeats.append(g)
        if not g["exact"] or g["on_topic"] != truth.valid:
            ours.fail(
                f"repeat {rep + 1}: rejects ≠ ground truth ({g['missed_rejects']} missed, {g['extra_rejects']} extra) "
                f"or published {g['published']:,}/on topic {g['on_topic']:,} ≠ valid {truth.valid:,}"
            )
        ctx.log(f"publish repeat {rep + 1}: bare confluent-kafka …")
        c = run_bare_confluent(ctx, topics[KEY_CONFLUENT], encoded)
        conf.samples.append(c["rate"])
        conf.repeats.append(c)
    if ours.status == "ok":
        ours.add_note(f"rejects = ground truth ({len(truth.bad):,}) in every repeat")
    del encoded
    ratio = run.ratio(KEY_CONFLUENT, KEY_BARE)
    if ratio is not None and ratio >= 2:
        run.findings.append(
            f"publish: a bare confluent-kafka producer sends the same bytes {ratio:.1f}× faster than a bare kafka-python "
            f"one ({stats.format_value(conf.median, stats.RATE)} vs {stats.format_value(bare.median, stats.RATE)}, same acks/"
            "idempotence/lz4): gdx produce (kafka-python) cannot reach its target without switching clients "
            "behind the same Sink interface."
        )
