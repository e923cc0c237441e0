"""Benchmark inputs: the agency source file for `gdx produce`, and a wire dataset for the topic.

Two inputs, both deterministic per (records, seed):

* **source file** — `gdx.sample.generate` (Air4Thai history JSON) with its ground truth; what an
  agency would hand to `gdx produce`. The edge check must reject exactly the planted bad rows.
* **wire dataset** — what lands on the topic the ingestion engine reads. The normalised valid
  records of `gdx.sample.valid_records`, encoded exactly as `gdx.events` defines (key, canonical
  value, headers, event id), with `bad_ratio` of them corrupted *on the wire*, i.e. as a producer
  that skipped (or has a bug in) its edge check would send them. The ingestion gate is the last
  line of defence, so its rejects are compared with this dataset's ground truth.

Every wire corruption breaks the contract unambiguously: a JSON Schema keyword of
`to_jsonschema(contract)` (which has `additionalProperties: false`), a contract rule, or the wire
format of docs/conventions.md (the five headers, an event id that is the hash of the value).
Deliberately left out: duplicates (a replay is not an error).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdx.security.kafka_conn import KafkaConnection

CONTRACT_ID = "pcd.air_quality_hourly"

# kind → (property it breaks, how). Each mutation returns the new record (None = not JSON).
Mutation = Callable[[dict[str, Any], random.Random], "dict[str, Any] | None"]


def _set(name: str, value: Any) -> Mutation:
    def mutate(rec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        rec[name] = value
        return rec

    return mutate


def _drop(name: str) -> Mutation:
    def mutate(rec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        rec.pop(name, None)
        return rec

    return mutate


def _impossible_date(rec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    # keep the record's own hour so no valid record shares the (station, hour) key
    hour = rec["measured_at"][11:19]
    rec["measured_at"] = (
        rng.choice(["2024-02-30", "2023-02-29", "2024-04-31", "2024-13-01"]) + f"T{hour}+07:00"
    )
    return rec


def _no_offset(rec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    rec["measured_at"] = rec["measured_at"][:19]  # "2024-03-01T13:00:00": no UTC offset
    return rec


def _before_minimum(rec: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    rec["measured_at"] = "2009-" + rec["measured_at"][5:]  # contract minimum is 2010-01-01
    return rec


def _not_json(rec: dict[str, Any], rng: random.Random) -> None:
    return None


BAD_KINDS: dict[str, tuple[str | None, Mutation]] = {
    "wrong_type": ("pm25", _set("pm25", "12 µg")),
    "wrong_type_integer": ("aqi", _set("aqi", 57.5)),
    "missing_required_null": ("measured_at", _set("measured_at", None)),
    "missing_required_absent": ("station_name_th", _drop("station_name_th")),
    "impossible_date": ("measured_at", _impossible_date),
    "no_utc_offset": ("measured_at", _no_offset),
    "before_minimum": ("measured_at", _before_minimum),
    "out_of_range_high": ("pm25", _set("pm25", 1500.5)),
    "out_of_range_negative": ("aqi", _set("aqi", -1)),
    "unknown_province": ("province_code", _set("province_code", "TH-99")),
    "pattern_mismatch": ("station_id", _set("station_id", "CR-01")),
    "too_long": ("station_name_th", _set("station_name_th", "ส" * 201)),
    "unknown_property": ("pm1", _set("pm1", 12.0)),
    "not_json": (None, _not_json),
    # wire-format kinds: the value is a valid record, the headers are wrong
    "event_id_mismatch": (None, _set("pm25", 1.0)),  # header carries the id of the unmodified value
    "missing_header": (None, lambda rec, rng: rec),  # content-type header dropped
}
HEADER_KINDS = frozenset({"event_id_mismatch", "missing_header"})


@dataclass
class WireDataset:
    """N encoded records for the contract's topic; `bad` = index → (kind, property) ground truth."""

    contract: Any
    keys: list[bytes]
    values: list[bytes]
    event_ids: list[str]
    bad: dict[int, tuple[str, str | None]]
    seed: int
    header_overrides: dict[int, list[tuple[str, bytes]]] = field(default_factory=dict)
    # filled when the dataset is loaded into a topic: index → (partition, offset)
    positions: list[tuple[int, int]] = field(default_factory=list)
    topic: str = ""

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def n_bad(self) -> int:
        return len(self.bad)

    @property
    def mean_value_bytes(self) -> float:
        return sum(map(len, self.values)) / max(1, self.n)

    def kinds(self) -> dict[str, int]:
        return dict(sorted(Counter(kind for kind, _ in self.bad.values()).items()))

    def headers(self, i: int) -> list[tuple[str, bytes]]:
        return self.header_factory()(i)

    def header_factory(self) -> Callable[[int], list[tuple[str, bytes]]]:
        """headers(i) with the constant header values shared (same bytes as `gdx.events.headers_for`)."""
        from gdx.events import (
            CONTENT_TYPE,
            H_AGENCY,
            H_CONTENT_TYPE,
            H_CONTRACT_ID,
            H_CONTRACT_VERSION,
            H_EVENT_ID,
        )

        c = self.contract
        cid, ver, agency, ctype = c.id.encode(), c.version.encode(), c.agency.encode(), CONTENT_TYPE.encode()
        ids = self.event_ids
        overrides = self.header_overrides

        def headers(i: int) -> list[tuple[str, bytes]]:
            if overrides and i in overrides:
                return overrides[i]
            return [
                (H_CONTRACT_ID, cid),
                (H_CONTRACT_VERSION, ver),
                (H_AGENCY, agency),
                (H_EVENT_ID, ids[i].encode()),
                (H_CONTENT_TYPE, ctype),
            ]

        return headers

    def bad_positions(self) -> dict[tuple[int, int], str]:
        """(partition, offset) → kind of every planted bad record (after `load_topic`)."""
        if not self.positions:
            raise RuntimeError("the dataset has not been loaded into a topic yet")
        return {self.positions[i]: kind for i, (kind, _) in self.bad.items()}

    def bad_event_ids(self) -> dict[str, str]:
        return {self.event_ids[i]: kind for i, (kind, _) in self.bad.items()}

    def valid_indices(self) -> list[int]:
        bad = self.bad
        return [i for i in range(self.n) if i not in bad]


def plan_bad(n: int, bad_ratio: float, seed: int, kinds: list[str] | None = None) -> dict[int, str]:
    """{index: kind} for round(n * bad_ratio) distinct indices, kinds used in turn (all appear)."""
    kinds = list(kinds or BAD_KINDS)
    count = min(n, round(n * bad_ratio))
    if count == 0:
        return {}
    rng = random.Random(seed * 7919 + 1)
    rows = sorted(rng.sample(range(n), count))
    rng.shuffle(kinds)
    return {row: kinds[j % len(kinds)] for j, row in enumerate(rows)}


def build_wire_dataset(n: int, bad_ratio: float = 0.01, seed: int = 0, contract: Any = None) -> WireDataset:
    """Encode `n` records of the air-quality contract, `bad_ratio` of them corrupted on the wire."""
    from gdx.contracts.model import get_contract
    from gdx.events import H_CONTENT_TYPE, H_EVENT_ID, canonical_json, event_id, headers_for, record_key
    from gdx.sample import valid_records

    contract = contract or get_contract(CONTRACT_ID)
    plan = plan_bad(n, bad_ratio, seed)
    rng = random.Random(seed)
    keys: list[bytes] = []
    values: list[bytes] = []
    ids: list[str] = []
    bad: dict[int, tuple[str, str | None]] = {}
    overrides: dict[int, list[tuple[str, bytes]]] = {}
    for i, record in enumerate(valid_records(contract.id, n, seed)):
        kind = plan.get(i)
        if kind is None:
            value = canonical_json(record)
            key = record_key(contract, record)
        else:
            prop, mutate = BAD_KINDS[kind]
            mutated = mutate(dict(record), rng)
            if mutated is None:  # not JSON: a valid record cut in the middle
                good = canonical_json(record)
                value = good[: len(good) // 2]
                key = record_key(contract, record)
            else:
                value = canonical_json(mutated)
                key = record_key(contract, mutated)
            bad[i] = (kind, prop)
        keys.append(key)
        values.append(value)
        ids.append(event_id(contract, value))
        if kind in HEADER_KINDS:
            header_list = headers_for(contract, value)
            if kind == "event_id_mismatch":
                ids[-1] = event_id(contract, canonical_json(record))
                header_list = [(k, ids[-1].encode() if k == H_EVENT_ID else v) for k, v in header_list]
            else:
                header_list = [(k, v) for k, v in header_list if k != H_CONTENT_TYPE]
            overrides[i] = header_list
    if len(values) != n:
        raise RuntimeError(f"the sample generator yielded {len(values)} records, expected {n}")
    return WireDataset(contract, keys, values, ids, bad, seed, header_overrides=overrides)


def load_topic(ds: WireDataset, conn: KafkaConnection, topic: str, partitions: int = 3) -> float:
    """Publish the wire dataset to `topic` as-is (no edge check); records each (partition, offset).

    Uses confluent-kafka (fast, C) with the murmur2 partitioner, the same key → partition mapping
    as kafka-python and the Java client. Returns the seconds it took (setup, not a measurement).
    """
    import time

    from confluent_kafka import Producer

    from bench.kafka_util import create_topic

    create_topic(conn, topic, partitions)
    positions: list[tuple[int, int]] = [(-1, -1)] * ds.n
    errors: list[str] = []

    def delivered(err: Any, msg: Any, i: int) -> None:
        if err is not None:
            errors.append(str(err))
        else:
            positions[i] = (msg.partition(), msg.offset())

    producer = Producer(
        {
            **conn.librdkafka(),
            "acks": "all",
            "enable.idempotence": True,
            "compression.type": "lz4",
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "partitioner": "murmur2_random",
            "queue.buffering.max.messages": 500_000,
            "queue.buffering.max.kbytes": 1_048_576,
        }
    )
    headers = ds.header_factory()
    started = time.perf_counter()
    produce = producer.produce
    for i in range(ds.n):
        while True:
            try:
                produce(
                    topic,
                    value=ds.values[i],
                    key=ds.keys[i],
                    headers=headers(i),
                    on_delivery=lambda err, msg, i=i: delivered(err, msg, i),
                )
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10_000 == 0:
            producer.poll(0)
    remaining = producer.flush(120)
    if remaining or errors:
        raise RuntimeError(f"loading {topic}: {remaining} undelivered, {len(errors)} errors: {errors[:3]}")
    missing = sum(1 for p in positions if p[0] < 0)
    if missing:
        raise RuntimeError(f"loading {topic}: {missing} records without a delivery report")
    ds.positions = positions
    ds.topic = topic
    return time.perf_counter() - started


def source_file(workdir: Path, n: int, bad_ratio: float, seed: int) -> tuple[Path, Any]:
    """The Air4Thai history file `gdx produce` reads, and its ground truth (`gdx.sample.Truth`)."""
    from gdx.sample import generate, read_truth

    path = workdir / f"air4thai_{n}_{seed}.json"
    if not path.exists():
        generate(CONTRACT_ID, n, bad_ratio, seed, path)
    return path, read_truth(path)
