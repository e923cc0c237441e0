"""Helpers for the ingestion integration tests: an isolated GDX environment per test (own
contracts copy with unique topics, lake, state dir), publishing with the wire helpers of
`gdx.events`, and reading back what landed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gdx.contracts.model import Contract, load_all
from gdx.events import canonical_json, headers_for, record_key
from gdx.testing.wire import sealed

REPO = Path(__file__).resolve().parents[2]
TEST_PII_KEY = "k1:integration-test-key-not-a-real-secret"
_TOPIC_LINE = re.compile(r"(value: )(gdx\.[a-z_]+\.[a-z_0-9]+\.v[0-9]+)\s*$", re.M)


@dataclass
class IngestEnv:
    root: Path
    cluster: Any  # tests.conftest.KafkaCluster
    suffix: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def contracts_dir(self) -> Path:
        return self.root / "contracts"

    @property
    def lake(self) -> Path:
        return self.root / "lake"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def contract(self, contract_id: str) -> Contract:
        return load_all(self.contracts_dir)[contract_id]

    def run_cli(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """`gdx …` in a fresh interpreter with this environment (what crash tests kill)."""
        env = {**os.environ, **self.env, **(extra_env or {})}
        return subprocess.run(
            [sys.executable, "-m", "gdx.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
        )

    def popen_cli(self, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        env = {**os.environ, **self.env, **(extra_env or {})}
        return subprocess.Popen(
            [sys.executable, "-m", "gdx.cli", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


def make_env(tmp_path: Path, cluster: Any, monkeypatch: pytest.MonkeyPatch | None = None) -> IngestEnv:
    """A private copy of the contracts whose topics carry a unique suffix, plus lake and state;
    Kafka clients in it (and in its subprocesses) connect to `cluster` with its client files."""
    suffix = uuid.uuid4().hex[:8]
    root = tmp_path / "gdx"
    shutil.copytree(REPO / "contracts", root / "contracts", ignore=shutil.ignore_patterns("_generated"))
    for path in (root / "contracts").glob("*/*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(_TOPIC_LINE.sub(lambda m: f"{m.group(1)}{m.group(2)}.t{suffix}", text), encoding="utf-8")
    ienv = IngestEnv(root, cluster, suffix)
    cluster.grant(ienv.contracts_dir)
    ienv.env = {
        "GDX_CONTRACTS_DIR": str(ienv.contracts_dir),
        "GDX_LAKE_ROOT": str(ienv.lake),
        "GDX_STATE_DIR": str(ienv.state),
        **cluster.env(),
        "GDX_PII_KEY": TEST_PII_KEY,
        "GDX_INGEST_IDLE_TIMEOUT_S": "1.0",
    }
    if monkeypatch is not None:
        for k, v in ienv.env.items():
            monkeypatch.setenv(k, v)
        monkeypatch.delenv("GDX_FAULT", raising=False)
    return ienv


@dataclass(frozen=True)
class Published:
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None


def ensure_topic(cluster: Any, topic: str, partitions: int = 3) -> None:
    """Create `topic` as gdx-admin (topics are the platform's to create) unless it exists."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(cluster.admin.librdkafka())
    if topic in admin.list_topics(timeout=10).topics:
        return
    for f in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result(30)


def publish(
    cluster: Any,
    contract: Contract,
    items: Iterable[dict[str, Any] | tuple[bytes | None, list[tuple[str, bytes]] | None]],
    partitions: int = 3,
    timestamps_ms: list[int] | None = None,
) -> list[Published]:
    """Publish records as the contract's owner agency (dicts are sealed and encoded like a producer
    does; (value, headers) tuples go as they are, for hostile input) and return where each landed
    on the topic. `timestamps_ms`: the Kafka (create) timestamp of each record, else now."""
    from confluent_kafka import Producer

    ensure_topic(cluster, contract.topic, partitions)
    producer = Producer(
        {**cluster.owner(contract).librdkafka(), "enable.idempotence": True, "acks": "all", "linger.ms": 20,
         "compression.type": "lz4", "message.max.bytes": 1_000_000, "queue.buffering.max.messages": 2_000_000}
    )  # fmt: skip
    out: list[Published | None] = []
    errors: list[str] = []

    def delivered(i: int, key: bytes | None, value: bytes | None) -> Any:
        def cb(err: Any, msg: Any) -> None:
            if err is not None:
                errors.append(str(err))
            else:
                out[i] = Published(msg.partition(), msg.offset(), value, key)

        return cb

    for i, item in enumerate(items):
        if isinstance(item, dict):  # a well-behaved producer: personal data sealed (gdx.testing.wire)
            item = sealed(contract, item)
            value = canonical_json(item)
            key: bytes | None = record_key(contract, item)
            headers: list[tuple[str, bytes]] | None = headers_for(contract, value)
        else:
            value, headers = item
            key = f"hostile-{i}".encode()
        out.append(None)
        while True:
            try:
                ts = {"timestamp": timestamps_ms[i]} if timestamps_ms is not None else {}
                producer.produce(contract.topic, value=value, key=key, headers=headers, on_delivery=delivered(i, key, value), **ts)
                break
            except BufferError:
                producer.poll(0.1)
        if i % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(120) == 0
    assert not errors, errors[:3]
    assert all(p is not None for p in out)
    return out  # type: ignore[return-value]


def read_lake(lake: Path, contract: Contract) -> tuple[dict[tuple[int, int], dict[str, Any]], dict[tuple[int, int], dict[str, Any]]]:
    """Bronze and quarantine rows by (partition, offset); fails on any duplicate or any row in both."""
    import pyarrow.parquet as pq

    def rows(zone: str) -> dict[tuple[int, int], dict[str, Any]]:
        out: dict[tuple[int, int], dict[str, Any]] = {}
        base = lake / zone / contract.agency / contract.dataset
        for path in sorted(base.rglob("*.parquet")):
            for r in pq.read_table(path).to_pylist():
                key = (r["_kafka_partition"], r["_kafka_offset"])
                assert key not in out, f"duplicate row {key} in {zone}: {path.name}"
                out[key] = r
        return out

    bronze, quarantine = rows("bronze"), rows("quarantine")
    # a quarantined row may also be in bronze only through a replay (the quarantine keeps history)
    both = {k for k in set(bronze) & set(quarantine) if ".replay" not in bronze[k]["_batch_id"]}
    assert not both, f"rows both landed and quarantined: {sorted(both)[:5]}"
    return bronze, quarantine


def assert_exact(published: list[Published], lake: Path, contract: Contract, replayed_ok: bool = False) -> tuple[dict, dict]:
    """Every published record is in the lake exactly once, landed with its own event id (the
    content hash of its value) or quarantined with its own payload."""
    import hashlib

    bronze, quarantine = read_lake(lake, contract)
    expected = {(p.partition, p.offset): p for p in published}
    got = set(bronze) | set(quarantine)
    missing, extra = set(expected) - got, got - set(expected)
    assert not missing and not extra, f"missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
    prefix = f"{contract.id}/v{contract.major}\n".encode()
    for key, row in bronze.items():
        value = expected[key].value
        assert value is not None
        if not contract.pii_properties:
            assert row["_event_id"] == hashlib.sha256(prefix + value).hexdigest(), key
    for key, row in quarantine.items():
        value = expected[key].value
        if value is not None and not contract.pii_properties and b"\\" not in value:
            try:
                assert row["raw_value"] == value.decode("utf-8"), key
            except UnicodeDecodeError:
                pass
    return bronze, quarantine


def ledger_rows(lake: Path, contract: Contract) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    base = lake / "ledger" / contract.agency / contract.dataset
    return [r for p in sorted(base.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def dead_letters(cluster: Any, contract: Contract, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """Dead letters of this test's topic (the DLQ topic is shared by every test of the contract),
    read as gdx-admin."""
    import time

    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    c = Consumer({**cluster.admin.librdkafka(), "group.id": f"t-{uuid.uuid4().hex}", "enable.auto.commit": False,
                  "enable.partition.eof": True, "isolation.level": "read_committed"})  # fmt: skip
    meta = c.list_topics(contract.dlq_topic, timeout=10).topics[contract.dlq_topic]
    c.assign([TopicPartition(contract.dlq_topic, p, OFFSET_BEGINNING) for p in meta.partitions])
    out, eof, deadline = [], set(), time.time() + timeout_s
    while len(eof) < len(meta.partitions) and time.time() < deadline:
        for m in c.consume(1000, 0.5):
            if m.error():
                eof.add(m.partition())
                continue
            h = {k: v.decode() for k, v in (m.headers() or [])}
            if h.get("gdx.errors.topic") == contract.topic:
                out.append({"headers": h, "value": m.value(), "key": m.key()})
    c.close()
    return out


# Decode-stage failures (docs/conventions.md, quarantine `rule_id`); every other rule is a GX
# expectation of the gate.
_DECODE_HEADS = ("message", "header", "record")
_DECODE_CHECKS = (
    "type", "format", "out_of_range", "oversized", "control_characters", "undeclared_personal_data",
    "not_encrypted", "undecryptable",
)  # fmt: skip


def expected_stage(rule_id: str) -> str:
    head, _, check = rule_id.partition(".")
    return "decode" if head in _DECODE_HEADS or check in _DECODE_CHECKS else "gate"


def assert_dead_letters(
    letters: list[dict[str, Any]],
    quarantine: dict[tuple[int, int], dict[str, Any]],
    published: list[Published],
    contract: Contract,
) -> dict[tuple[int, int], dict[str, Any]]:
    """Exactly one dead letter per quarantined row, and each says what that row says: source
    coordinates and timestamp, rule, column, reason, stage, contract, batch and event id; its value
    is the published bytes when nothing needed masking on a contract without personal data,
    otherwise exactly the quarantine's masked text (never a clear personal value)."""
    from gdx.ingest.dlq import MAX_DLQ_VALUE, TRUNCATED_VALUE

    by_key: dict[tuple[int, int], dict[str, Any]] = {}
    for letter in letters:
        h = letter["headers"]
        key = (int(h["gdx.errors.partition"]), int(h["gdx.errors.offset"]))
        assert key not in by_key, f"two dead letters for {key}"
        by_key[key] = letter
    assert set(by_key) == set(quarantine), sorted(set(by_key) ^ set(quarantine))[:5]
    source = {(p.partition, p.offset): p for p in published}
    for key, row in quarantine.items():
        h, value = by_key[key]["headers"], by_key[key]["value"]
        assert h["gdx.errors.topic"] == contract.topic == row["_kafka_topic"], key
        assert h["gdx.errors.rule"] == row["rule_id"], key
        assert h["gdx.errors.column"] == (row["column"] or ""), key
        assert h["gdx.errors.reason"] == row["reason"], key
        assert h["gdx.errors.stage"] == expected_stage(row["rule_id"]), (key, row["rule_id"])
        assert h["gdx.errors.batch.id"] == row["_batch_id"], key
        assert (h["gdx.errors.contract.id"], h["gdx.errors.contract.version"]) == (
            contract.id,
            contract.version,
        )
        assert int(h["gdx.errors.timestamp"]) == int(row["_kafka_timestamp"].timestamp() * 1000), key
        if row["_event_id"] is not None:
            assert h["gdx.event.id"] == row["_event_id"], key
        if h["gdx.errors.value.masked"] == "false":
            assert not contract.pii_properties, "a personal-data contract's dead letter must be masked"
            original = source[key].value
            # nothing was masked: the quarantine text is the payload (invalid UTF-8 as `\xNN`; a tombstone None)
            text = None if original is None else original.decode("utf-8", "backslashreplace")
            assert row["raw_value"] == text, (key, row["rule_id"])
            expected = original
        else:
            expected = None if row["raw_value"] is None else row["raw_value"].encode()
        if h.get("gdx.errors.value.truncated") == "true":
            assert (
                expected is not None and len(expected) > MAX_DLQ_VALUE and value == expected[:TRUNCATED_VALUE]
            ), key
        else:
            assert value == expected, key
    return by_key
