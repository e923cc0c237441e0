"""Offsets that move under ingestion, on the real secured broker: a topic deleted and recreated,
retention deleting records before they were read, the group's committed offset ahead of and behind
the lake's ledger. Each stops before consuming (lake byte for byte unchanged) or rolls forward, and
the explicit resolution then lands everything exactly once; the fault matrix gets each row."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from gdx.ingest.consumer import group_id
from gdx.ingest.lakefs import Lake
from gdx.ingest.paths import BatchName
from gdx.sample import valid_records
from tests.integration.fault_matrix import Reconciled, reconcile, record
from tests.integration.ingest_fixtures import assert_exact, make_env, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONTRACT = "pcd.air_quality_hourly"
STOPPED = 4  # `gdx ingest` exit code when an operator decision is needed


def _snapshot(lake: Path) -> dict[str, str]:
    """Every file of the lake (audit log included) → SHA-256 of its bytes. The lease files
    (`_leases/`) are left out: every run takes and releases the dataset's lease, stopped or not;
    they say who ran, not what landed."""
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in lake.rglob("*")
        if p.is_file() and not str(p.relative_to(lake)).startswith("_leases/")
    }


def _assert_unchanged(lake: Path, before: dict[str, str]) -> None:
    after = _snapshot(lake)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, {
        k: (lake / k).read_text()[:600] if (lake / k).exists() else "deleted" for k in changed
    }


def _ingest(env: Any, contract: Any, *flags: str) -> Any:
    started = time.monotonic()
    done = env.run_cli("ingest", contract.id, *flags)
    print(f"gdx ingest {' '.join(flags)}: exit {done.returncode} in {time.monotonic() - started:.1f} s")
    return done


def _assert_stopped(done: Any, *expected: str) -> None:
    assert done.returncode == STOPPED, (done.returncode, done.stderr[-3000:])
    for text in ("ingestion stopped before consuming anything", "the lake is unchanged", *expected):
        assert text in done.stderr, (text, done.stderr[-3000:])


def _admin(cluster: Any) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient(cluster.admin.librdkafka())


def _group_consumer(cluster: Any, contract: Any) -> Any:
    """A consumer in the ingestion group, as gdx-ingest (what moves the group's offsets)."""
    from confluent_kafka import Consumer

    return Consumer(
        {**cluster.ingest.librdkafka(), "group.id": group_id(contract.id), "enable.auto.commit": False}
    )


def _committed(cluster: Any, contract: Any, partitions: int = 3) -> dict[int, int]:
    from confluent_kafka import TopicPartition

    c = _group_consumer(cluster, contract)
    try:
        return {
            tp.partition: tp.offset
            for tp in c.committed([TopicPartition(contract.topic, p) for p in range(partitions)], timeout=15)
        }
    finally:
        c.close()


def _commit(cluster: Any, contract: Any, offsets: dict[int, int]) -> None:
    from confluent_kafka import TopicPartition

    c = _group_consumer(cluster, contract)
    try:
        c.commit(
            offsets=[TopicPartition(contract.topic, p, o) for p, o in offsets.items()], asynchronous=False
        )
    finally:
        c.close()


def _watermarks(cluster: Any, contract: Any, partitions: int = 3) -> dict[int, tuple[int, int]]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({**cluster.admin.librdkafka(), "group.id": "gdx-test-watermarks"})
    try:
        return {
            p: c.get_watermark_offsets(TopicPartition(contract.topic, p), timeout=15)
            for p in range(partitions)
        }
    finally:
        c.close()


def _topic_id(cluster: Any, topic: str) -> str:
    from confluent_kafka import KafkaException, TopicCollection

    admin = _admin(cluster)  # held until the future is done (a collected client cancels it)
    deadline = time.time() + 30
    while True:
        try:
            return str(admin.describe_topics(TopicCollection([topic]))[topic].result(30).topic_id)
        except KafkaException:  # a just created topic takes a moment to be known
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def _resolutions(lake: Path, contract: Any) -> list[dict[str, Any]]:
    base = lake / "ledger" / contract.agency / contract.dataset / "_resolutions"
    return [r for p in sorted(base.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def _records(n: int, seed: int) -> list[dict]:
    return list(valid_records(CONTRACT, n, seed=seed))


# -- (a) topic deleted and recreated ---------------------------------------------------------------
def _recreate(cluster: Any, topic: str, partitions: int = 3) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic

    admin = _admin(cluster)
    for f in admin.delete_topics([topic]).values():
        f.result(30)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            for f in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
                f.result(30)
            return
        except KafkaException as exc:  # the deletion is still going on
            if "already exists" not in str(exc) and "marked for deletion" not in str(exc):
                raise
            time.sleep(0.5)
    raise AssertionError(f"{topic} could not be recreated")


def _rows_by_generation(lake: Path, contract: Any) -> dict[str, Counter]:
    """(generation, partition, offset) → how often it landed/was quarantined, committed files only."""
    from gdx.ingest import ledger

    committed = {n.stem for n in ledger.committed_names(Lake(str(lake)), contract)}
    out: dict[str, Counter] = {"bronze": Counter(), "quarantine": Counter()}
    for zone in out:
        for path in (lake / zone / contract.agency / contract.dataset).rglob("*.parquet"):
            name = BatchName.parse(path.name)
            assert name is not None and name.stem in committed, path
            for r in pq.read_table(path, columns=["_kafka_partition", "_kafka_offset"]).to_pylist():
                out[zone][(name.generation, r["_kafka_partition"], r["_kafka_offset"])] += 1
    return out


def test_topic_deleted_and_recreated_stops_then_a_new_generation_lands_once(tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract(CONTRACT)
    first = publish(kafka_cluster, contract, _records(450, seed=1))
    old_id = _topic_id(kafka_cluster, contract.topic)
    assert _ingest(env, contract).returncode == 0
    _recreate(kafka_cluster, contract.topic)
    new_id = _topic_id(kafka_cluster, contract.topic)
    assert new_id != old_id
    second = publish(kafka_cluster, contract, _records(240, seed=2))
    assert {p.offset for p in second} & {p.offset for p in first}, "offsets restart: names would collide"

    before = _snapshot(env.lake)
    stopped = _ingest(env, contract)
    _assert_stopped(
        stopped,
        "topic_recreated",
        f"topic id is {new_id}, the ledger's is {old_id}",
        f"gdx ingest {contract.id} --new-topic-generation",
    )
    _assert_unchanged(env.lake, before)  # nothing consumed, nothing written, nothing deleted

    done = _ingest(env, contract, "--new-topic-generation")
    assert done.returncode == 0, done.stderr[-3000:]
    after = _snapshot(env.lake)
    # generation 0 untouched (the audit head moves on: new entries were appended)
    assert {k: v for k, v in after.items() if k in before and k != "audit/head.json"} == {
        k: v for k, v in before.items() if k != "audit/head.json"
    }
    new_files = [k for k in after if k not in before and k.startswith("bronze/")]
    assert new_files and all(f"{contract.topic}+g1+" in k for k in new_files)

    again = _ingest(env, contract)  # nothing left; the generation stands
    assert again.returncode == 0, again.stderr[-3000:]
    rows = _rows_by_generation(env.lake, contract)
    seen = rows["bronze"] + rows["quarantine"]
    acked = Counter((0, p.partition, p.offset) for p in first) + Counter(
        (1, p.partition, p.offset) for p in second
    )
    lost = set(acked) - set(seen)
    duplicated = {k for k, n in seen.items() if n > 1}
    assert not lost and not duplicated and set(seen) == set(acked)
    # the content too: generation 1's rows carry the new records' event ids
    prefix = f"{contract.id}/v{contract.major}\n".encode()
    landed = {}
    for path in (env.lake / "bronze").rglob("*+g1+*.parquet"):
        for r in pq.read_table(path, columns=["_kafka_partition", "_kafka_offset", "_event_id"]).to_pylist():
            landed[(r["_kafka_partition"], r["_kafka_offset"])] = r["_event_id"]
    assert landed == {(p.partition, p.offset): hashlib.sha256(prefix + p.value).hexdigest() for p in second}

    (gen,) = _resolutions(env.lake, contract)
    assert (gen["kind"], gen["generation"], gen["topic_id"]) == ("new_topic_generation", 1, new_id)
    entries = [r for r in (env.lake / "ledger").rglob("*.parquet") if "+g1+" in r.name]
    assert entries and all(pq.read_table(e).column("topic_id")[0].as_py() == new_id for e in entries)
    verify = env.run_cli("audit", "verify")
    assert verify.returncode == 0, verify.stderr[-2000:]
    from gdx.ingest.status import dataset_status

    status = dataset_status(Lake(str(env.lake)), contract)  # what `gdx status` shows: both generations
    assert status.rows_landed + status.rows_quarantined == len(first) + len(second)

    figures = Reconciled(
        published=len(first) + len(second), acknowledged=len(acked),
        landed=sum(rows["bronze"].values()), quarantined=sum(rows["quarantine"].values()),
        lost=len(lost), duplicated=len(duplicated),
    )  # fmt: skip
    record(
        "topic deleted and recreated", 1, figures,
        f"topic id {old_id} → {new_id}; the run stopped with exit 4 and the lake byte for byte unchanged;"
        f" --new-topic-generation landed {len(second)} records as generation 1 (+g1+ names, offsets reused),"
        f" generation 0's {len(first)} untouched; counted by (generation, partition, offset)",
    )  # fmt: skip
    assert figures.lost == 0 and figures.duplicated == 0


# -- (b) retention deleting unread records ---------------------------------------------------------
def test_retention_past_the_group_stops_then_accept_gap_records_the_exact_offsets(
    tmp_path, kafka_cluster
) -> None:
    from confluent_kafka import TopicPartition

    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract(CONTRACT)
    first = publish(kafka_cluster, contract, _records(300, seed=3))
    assert _ingest(env, contract).returncode == 0
    second = publish(kafka_cluster, contract, _records(450, seed=4))
    committed = _committed(kafka_cluster, contract)
    cut = {p: o + 25 for p, o in committed.items()}  # 25 unread records per partition deleted
    admin = _admin(kafka_cluster)
    futures = admin.delete_records([TopicPartition(contract.topic, p, o) for p, o in cut.items()])
    for f in futures.values():
        f.result(30)
    marks = _watermarks(kafka_cluster, contract)
    assert all(marks[p][0] == cut[p] > committed[p] for p in cut), (marks, committed)
    deleted = {(p.partition, p.offset) for p in second if p.offset < cut[p.partition]}
    assert len(deleted) == 75

    before = _snapshot(env.lake)
    stopped = _ingest(env, contract)
    _assert_stopped(stopped, "retention_gap", f"gdx ingest {contract.id} --accept-gap")
    for p in cut:
        assert f"[{committed[p]}, {cut[p]}) were deleted before they were read" in stopped.stderr
    _assert_unchanged(env.lake, before)
    assert _committed(kafka_cluster, contract) == committed  # and the group did not move

    done = _ingest(env, contract, "--accept-gap")
    assert done.returncode == 0, done.stderr[-3000:]
    gaps = _resolutions(env.lake, contract)
    assert sorted((g["partition"], g["first_offset"], g["end_offset"], g["problem"]) for g in gaps) == sorted(
        (p, committed[p], cut[p], "retention_gap") for p in cut
    )
    assert len({g["resolution_id"] for g in gaps}) == 1 and all(g["kind"] == "accept_gap" for g in gaps)
    again = _ingest(env, contract)  # the accepted gap does not stop a later run
    assert again.returncode == 0, again.stderr[-3000:]

    kept = [p for p in first + second if (p.partition, p.offset) not in deleted]
    assert_exact(kept, env.lake, contract)
    figures = reconcile(Lake(str(env.lake)), contract, first + second)
    assert figures.lost == len(deleted) and figures.duplicated == 0
    record(
        "retention deleting unread segments", 1, figures,
        f"delete_records moved the log start {len(deleted) // 3} past the group's committed offset on each of 3"
        f" partitions; the run stopped (exit 4, lake unchanged, group unmoved); --accept-gap recorded the exact"
        f" ranges and landed the rest: the {figures.lost} 'lost' are the {len(deleted)} records retention deleted,"
        " accepted as a gap",
    )  # fmt: skip
    verify = env.run_cli("audit", "verify")
    assert verify.returncode == 0, verify.stderr[-2000:]


# -- (c) group ahead of the ledger -----------------------------------------------------------------
def test_group_ahead_of_the_ledger_stops_and_nothing_is_skipped(tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract(CONTRACT)
    first = publish(kafka_cluster, contract, _records(300, seed=5))
    assert _ingest(env, contract).returncode == 0
    second = publish(kafka_cluster, contract, _records(300, seed=6))
    committed = _committed(kafka_cluster, contract)
    ahead = {p: o + 40 for p, o in committed.items()}  # e.g. another lake consumed these
    _commit(kafka_cluster, contract, ahead)

    before = _snapshot(env.lake)
    stopped = _ingest(env, contract)
    _assert_stopped(stopped, "group_ahead", "--rewind-group", "--accept-gap")
    for p in ahead:
        assert f"the group committed {ahead[p]} but the ledger ends at {committed[p]}" in stopped.stderr
    _assert_unchanged(env.lake, before)

    # the lake is the source of truth: read the skipped range again
    done = _ingest(env, contract, "--rewind-group")
    assert done.returncode == 0, done.stderr[-3000:]
    (rewind,) = {r["resolution_id"] for r in _resolutions(env.lake, contract)}
    assert sorted(
        (r["partition"], r["first_offset"], r["end_offset"]) for r in _resolutions(env.lake, contract)
    ) == sorted((p, committed[p], ahead[p]) for p in ahead)
    assert_exact(first + second, env.lake, contract)
    figures = reconcile(Lake(str(env.lake)), contract, first + second)
    record(
        "committed group offset ahead of the ledger", 1, figures,
        f"the ingestion group was committed 40 past the ledger on 3 partitions; the run stopped (exit 4, lake"
        f" unchanged) instead of skipping; --rewind-group (resolution {rewind}) read the 120 records again",
    )  # fmt: skip
    assert figures.lost == 0 and figures.duplicated == 0

    # a wiped ledger (lake re-pointed) with the group at the end: stops too
    import shutil

    shutil.rmtree(env.lake)
    wiped = _ingest(env, contract)
    _assert_stopped(wiped, "group_ahead", "the ledger is empty")
    assert not (env.lake / "bronze").exists()


# -- (d) group behind the ledger -------------------------------------------------------------------
def test_group_behind_the_ledger_rolls_forward_without_duplicates(tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract(CONTRACT)
    first = publish(kafka_cluster, contract, _records(300, seed=7))
    assert _ingest(env, contract).returncode == 0
    committed = _committed(kafka_cluster, contract)
    behind = {p: o - 60 for p, o in committed.items()}  # a crash between ledger write and commit
    _commit(kafka_cluster, contract, behind)
    second = publish(kafka_cluster, contract, _records(150, seed=8))
    done = _ingest(env, contract)
    assert done.returncode == 0, done.stderr[-3000:]
    marks = _watermarks(kafka_cluster, contract)
    assert _committed(kafka_cluster, contract) == {p: marks[p][1] for p in marks}
    assert not _resolutions(env.lake, contract)
    assert_exact(first + second, env.lake, contract)
    figures = reconcile(Lake(str(env.lake)), contract, first + second)
    record(
        "committed group offset behind the ledger", 1, figures,
        "the group was set 60 behind the ledger on 3 partitions (as a crash between ledger and commit leaves it);"
        " the run resumed at the ledger, rolled the commit forward and landed only the new records",
    )  # fmt: skip
    assert figures.lost == 0 and figures.duplicated == 0
