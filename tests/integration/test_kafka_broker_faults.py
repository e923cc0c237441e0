"""SIGKILL of the partition leader on the secured three-broker cluster, during produce and during
ingestion: every acknowledged record is in the topic and in the lake exactly once.

The topic is created by the producers' own code (`gdx.producer.topics.ensure_topic`), which gives
it three replicas and `min.insync.replicas=2` on this cluster; it has one partition, so "the
leader" is one broker. The leader is read from the cluster's metadata right before the kill and
its JVM gets SIGKILL (no controlled shutdown, no flush). The killed broker is restarted afterwards
and must rejoin the partition's in-sync replicas, so the session's cluster is whole again.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest

from gdx.events import canonical_json, headers_for, record_key
from gdx.ingest.config import IngestConfig
from gdx.ingest.consumer import group_id
from gdx.sample import valid_records
from gdx.testing.wire import sealed
from tests.integration.fault_matrix import reconcile, record
from tests.integration.ingest_fixtures import Published, assert_exact, ledger_rows, make_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONTRACT = "pcd.air_quality_hourly"
WINDOW = 300  # records sent but not yet acknowledged, at most, while producing
BURST = 100  # records sent between two polls


def _admin(cluster: Any) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient(cluster.admin.librdkafka())


def _leader(cluster: Any, topic: str, partition: int = 0) -> tuple[int, list[int], list[int]]:
    """(leader, replicas, in-sync replicas) of `topic`'s partition, from fresh cluster metadata."""
    meta = _admin(cluster).list_topics(topic, timeout=10).topics[topic].partitions[partition]
    return meta.leader, list(meta.replicas), list(meta.isrs)


def _coordinator(cluster: Any, group: str) -> int:
    """The node coordinating consumer group `group` (it holds the group's committed offsets)."""
    admin = _admin(cluster)
    return admin.describe_consumer_groups([group], request_timeout=10)[group].result().coordinator.id


def _create_topic(cluster: Any, contract: Any) -> None:
    """As the contract's owner, with the producers' own topic code (replication chosen by it)."""
    from kafka.admin import KafkaAdminClient

    from gdx.producer.topics import ensure_topic

    admin = KafkaAdminClient(**cluster.owner(contract).kafka_python())
    try:
        assert ensure_topic(admin, contract.topic, partitions=1)
    finally:
        admin.close()
    from confluent_kafka.admin import ConfigResource

    leader, replicas, isr = _leader(cluster, contract.topic)
    assert len(replicas) == 3 and sorted(isr) == sorted(replicas), (replicas, isr)
    resource = ConfigResource("TOPIC", contract.topic)
    admin = _admin(cluster)  # kept: a collected client cancels its own futures
    configs = admin.describe_configs([resource])[resource].result(30)
    assert configs["min.insync.replicas"].value == "2"


def _kill(cluster: Any, node_id: int) -> int:
    """SIGKILL node `node_id`'s JVM; returns the pid, once the process is gone."""
    node = cluster.broker.node(node_id)
    pid = node.running_pid()
    assert pid is not None, f"node {node_id} does not run"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while node.running_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert node.running_pid() is None
    return pid


def _restart(cluster: Any, node_id: int) -> tuple[threading.Thread, float]:
    """Start the killed node again in the background (it takes ~20 s); (thread, start time)."""
    thread = threading.Thread(target=cluster.broker.node(node_id).start, daemon=True)
    thread.start()
    return thread, time.monotonic()


def _rejoined(cluster: Any, node_id: int, topic: str, restart: tuple[threading.Thread, float]) -> float:
    """Wait until the restarted node is back in the partition's ISR; seconds since its restart."""
    thread, started = restart
    thread.join(120)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        _, replicas, isr = _leader(cluster, topic)
        if sorted(isr) == sorted(replicas):
            return time.monotonic() - started
        time.sleep(0.5)
    node = cluster.broker.node(node_id)
    raise AssertionError(
        f"node {node_id} did not rejoin the ISR of {topic}: {isr} of {replicas}\n{node.log_tail()}"
    )


def _encoded(contract: Any, n: int, seed: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    out = []
    for item in valid_records(CONTRACT, n, seed=seed):
        item = sealed(contract, item)
        value = canonical_json(item)
        out.append((record_key(contract, item), value, headers_for(contract, value)))
    return out


def _producer(cluster: Any, contract: Any) -> Any:
    from confluent_kafka import Producer

    return Producer(
        {**cluster.owner(contract).librdkafka(), "acks": "all", "enable.idempotence": True, "linger.ms": 5,
         "compression.type": "lz4", "message.max.bytes": 1_000_000}
    )  # fmt: skip


def _read_topic(cluster: Any, topic: str) -> dict[int, tuple[bytes, int | None]]:
    """Every record of partition 0, up to its high watermark, as offset → (value, leader epoch it
    was appended under), read as gdx-admin."""
    import uuid

    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({**cluster.admin.librdkafka(), "group.id": f"t-{uuid.uuid4().hex}", "enable.auto.commit": False,
                  "isolation.level": "read_committed"})  # fmt: skip
    low, end = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    assert low == 0
    c.assign([TopicPartition(topic, 0, 0)])
    out: dict[int, tuple[bytes, int | None]] = {}
    deadline = time.monotonic() + 60
    while len(out) < end and time.monotonic() < deadline:
        for m in c.consume(1000, 1.0):
            if m.error() is None:
                assert m.offset() not in out
                out[m.offset()] = (m.value(), m.leader_epoch())
    c.close()
    return out


def test_sigkill_leader_during_produce(tmp_path, kafka_cluster3) -> None:
    cluster = kafka_cluster3
    env = make_env(tmp_path, cluster)
    contract = env.contract(CONTRACT)
    _create_topic(cluster, contract)
    n = 6000
    records = _encoded(contract, n, seed=12)
    acked: list[Published] = []
    errors: list[str] = []

    def delivered(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(str(err))
        else:
            acked.append(Published(msg.partition(), msg.offset(), msg.value(), msg.key()))

    producer = _producer(cluster, contract)
    kill: dict[str, Any] = {}
    deadline = time.monotonic() + 180
    for i, (key, value, headers) in enumerate(records):
        producer.produce(contract.topic, value=value, key=key, headers=headers, on_delivery=delivered)
        if i % BURST != BURST - 1:
            continue
        if not kill and len(acked) >= n // 4:  # right after a burst of sends: records in flight at the kill
            leader, replicas, _ = _leader(cluster, contract.topic)
            kill = {"leader": leader, "sent": i + 1, "acked": len(acked), "in_flight": len(producer),
                    "pid": _kill(cluster, leader), "at": time.monotonic()}  # fmt: skip
        producer.poll(0)
        # a bounded window: acknowledgements keep pace with sends (across the failover too), so the
        # kill lands with records acknowledged before it, in flight at it and sent after it
        while len(producer) > WINDOW and time.monotonic() < deadline:
            producer.poll(0.05)
    assert producer.flush(120) == 0
    assert not errors, errors[:3]
    done_at = time.monotonic()
    assert kill, "the leader was never killed"
    new_leader, _, isr = _leader(cluster, contract.topic)
    # the kill came while produce was in flight: acknowledged records before it, unacknowledged
    # ones queued at it, and records both sent and acknowledged after it, by the new leader
    assert 0 < kill["acked"] < kill["sent"] < n and kill["in_flight"] > 0, kill
    assert len(acked) - kill["acked"] > 0
    assert new_leader not in (-1, kill["leader"]) and kill["leader"] not in isr, (new_leader, isr)
    assert len(acked) == n

    # the log itself: every acknowledged record at its offset, with its content, exactly once
    by_offset = {a.offset: a for a in acked}
    assert len(by_offset) == n
    log = _read_topic(cluster, contract.topic)
    assert set(log) == set(by_offset)
    assert all(log[o][0] == a.value for o, a in by_offset.items())
    assert sorted(v for v, _ in log.values()) == sorted(v for _, v, _ in records)  # none twice, none missing
    # the log shows the kill: records appended under the killed leader's epoch, then under the new one's
    epochs = sorted({e for _, e in log.values()})
    first = sum(1 for _, e in log.values() if e == epochs[0])
    assert len(epochs) >= 2 and kill["acked"] <= first < n, (epochs, first, kill)
    restart = _restart(cluster, kill["leader"])  # meanwhile: the lake check below needs no third node

    # end to end: ingest the topic and reconcile the lake with the acknowledgements
    done = env.run_cli("ingest", contract.id, "--batch-records", "1000")
    assert done.returncode == 0, done.stderr[-3000:]
    assert_exact(acked, env.lake, contract)
    figures = reconcile(env.lake, contract, acked, published=n)
    rejoin_s = _rejoined(cluster, kill["leader"], contract.topic, restart)
    record(
        "SIGKILL of the partition leader during produce (3 brokers, RF 3, min ISR 2)",
        1,
        figures,
        f"leader {kill['leader']} (pid {kill['pid']}) killed after {kill['sent']} sent / {kill['acked']} acked, "
        f"{kill['in_flight']} unacknowledged; {first} records in leader epoch {epochs[0]}, {n - first} in "
        f"{epochs[1:]}; new leader {new_leader}; last ack {done_at - kill['at']:.1f}s after "
        f"the kill; restarted node back in the ISR {rejoin_s:.1f}s after its restart",
    )
    assert figures.lost == 0 and figures.duplicated == 0, figures
    assert figures.landed + figures.quarantined == n


def test_sigkill_leader_during_ingest(tmp_path, kafka_cluster3) -> None:
    cluster = kafka_cluster3
    env = make_env(tmp_path, cluster)
    contract = env.contract(CONTRACT)
    _create_topic(cluster, contract)
    n, batch = 8000, 400
    acked: list[Published] = []
    errors: list[str] = []

    def delivered(err: Any, msg: Any) -> None:
        if err is not None:
            errors.append(str(err))
        else:
            acked.append(Published(msg.partition(), msg.offset(), msg.value(), msg.key()))

    producer = _producer(cluster, contract)
    for key, value, headers in _encoded(contract, n, seed=34):
        producer.produce(contract.topic, value=value, key=key, headers=headers, on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(120) == 0 and not errors and len(acked) == n, errors[:3]
    batches = n // batch

    def landed() -> int:
        base = env.lake / "ledger" / contract.agency / contract.dataset
        return len(list(base.glob("*.parquet"))) if base.is_dir() else 0

    # the engine's own idle timeout (not the tests' 1 s): a failover that ends the run early shows as a rerun
    idle = {"GDX_INGEST_IDLE_TIMEOUT_S": str(IngestConfig.idle_timeout_s)}
    proc = env.popen_cli("ingest", contract.id, "--batch-records", str(batch), extra_env=idle)
    deadline = time.monotonic() + 240
    while landed() < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    before = landed()
    leader, _, _ = _leader(cluster, contract.topic)
    coordinator = _coordinator(cluster, group_id(contract.id))
    pid = _kill(cluster, leader)
    killed_at = time.monotonic()
    running_at_kill = proc.poll() is None
    out, err = proc.communicate(timeout=300)
    # the kill came mid-ingest: some batches committed in the ledger, not all, the run still going
    assert running_at_kill and 2 <= before < batches, (before, batches, err[-2000:])
    same_run = proc.returncode == 0
    reran = None
    if not same_run or sum(r["rows_in"] for r in ledger_rows(env.lake, contract)) < n:
        reran = env.run_cli("ingest", contract.id, "--batch-records", str(batch))
        assert reran.returncode == 0, reran.stderr[-3000:]
    finished_at = time.monotonic()
    assert sum(r["rows_in"] for r in ledger_rows(env.lake, contract)) == n
    assert_exact(acked, env.lake, contract)
    figures = reconcile(env.lake, contract, acked, published=n)
    rejoin_s = _rejoined(cluster, leader, contract.topic, _restart(cluster, leader))
    how = (
        "the same run completed" if reran is None else f"the run exited {proc.returncode}, a rerun completed"
    )
    record(
        "SIGKILL of the partition leader during ingest (3 brokers, RF 3, min ISR 2)",
        1,
        figures,
        f"leader {leader} (pid {pid}; group coordinator: node {coordinator}) killed with {before}/{batches} "
        "batches in the ledger and the run going; "
        f"{how} {finished_at - killed_at:.1f}s after the kill; restarted node back in the ISR {rejoin_s:.1f}s after its restart",
    )
    assert figures.lost == 0 and figures.duplicated == 0, figures
    assert figures.landed + figures.quarantined == n
