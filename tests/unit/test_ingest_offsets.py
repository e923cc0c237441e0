"""Where a partition resumes (`gdx.ingest.offsets`), the resolutions that let a stopped dataset go on
(`gdx.ingest.resolutions`), topic generations in batch names, the ledger's `topic_id` column (old
files without it), retries of retriable Kafka errors and the consumer's end-of-partition memory.
No broker: the pure functions and the lake on a temp folder."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from confluent_kafka import KafkaError, KafkaException

from gdx.contracts.model import get_contract
from gdx.ingest import ledger, offsets, recovery, resolutions
from gdx.ingest.consumer import BatchConsumer, retrying
from gdx.ingest.lakefs import Lake
from gdx.ingest.offsets import PartitionFacts, plan_partition
from gdx.ingest.paths import BatchName, ledger_path

AIR = get_contract("pcd.air_quality_hourly")
OLD, NEW = "AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBB"


def facts(ranges=(), committed=None, low=0, high=1000, ledger_topic_id=OLD, accepted=()) -> PartitionFacts:
    return PartitionFacts(list(ranges), committed, low, high, ledger_topic_id, list(accepted))


def kinds(decision: offsets.Decision) -> list[tuple[str, int | None, int | None]]:
    return [(p.kind, p.first, p.end) for p in decision.problems]


# -- the checks ------------------------------------------------------------------------------------
def test_contiguous_ledger_resumes_after_its_last_range() -> None:
    d = plan_partition(0, facts([(0, 99), (100, 249)], committed=250), topic_id=OLD)
    assert (d.start, d.problems) == (250, [])


def test_group_behind_the_ledger_rolls_forward() -> None:
    """A crash between the ledger write and the offset commit: the ledger wins, no problem."""
    d = plan_partition(0, facts([(0, 99), (100, 249)], committed=100), topic_id=OLD)
    assert (d.start, d.problems) == (250, [])
    assert plan_partition(0, facts([(0, 99)], committed=None), topic_id=OLD).start == 100


def test_group_ahead_of_the_ledger_is_an_error() -> None:
    d = plan_partition(3, facts([(0, 99)], committed=180), topic_id=OLD)
    assert d.start is None and kinds(d) == [("group_ahead", 100, 180)]
    assert "committed 180" in d.problems[0].detail and d.problems[0].acceptable


def test_group_ahead_of_an_empty_ledger_is_an_error() -> None:
    """The lake was wiped or GDX_LAKE_ROOT re-pointed while the group kept its offsets."""
    d = plan_partition(0, facts([], committed=500, ledger_topic_id=None), topic_id=OLD)
    assert kinds(d) == [("group_ahead", 0, 500)]


def test_empty_ledger_and_no_group_start_at_the_log_start() -> None:
    d = plan_partition(0, facts([], committed=None, low=40, ledger_topic_id=None), topic_id=OLD)
    assert (d.start, d.problems) == (40, [])


def test_retention_past_the_ledger_is_a_gap() -> None:
    d = plan_partition(1, facts([(0, 99)], committed=100, low=300), topic_id=OLD)
    assert kinds(d) == [("retention_gap", 100, 300)]


def test_ledger_beyond_the_log_end_is_an_error() -> None:
    d = plan_partition(0, facts([(0, 99)], committed=100, high=40), topic_id=OLD)
    assert kinds(d) == [("beyond_log_end", None, None)] and not d.problems[0].acceptable


def test_a_recreated_topic_is_noticed_by_its_id() -> None:
    # the new topic was republished past the old ledger: only the id tells
    d = plan_partition(0, facts([(0, 99)], committed=None, high=5000), topic_id=NEW)
    assert kinds(d) == [("topic_recreated", None, None)]
    assert OLD in d.problems[0].detail and NEW in d.problems[0].detail


def test_unknown_topic_ids_are_not_a_mismatch() -> None:
    """Ledger files written before the column existed (None), or a broker that reports no id."""
    assert plan_partition(0, facts([(0, 99)], ledger_topic_id=None), topic_id=NEW).start == 100
    assert plan_partition(0, facts([(0, 99)]), topic_id=None).start == 100


def test_the_generations_recorded_id_counts_before_any_entry() -> None:
    d = plan_partition(
        0, facts([], ledger_topic_id=None), topic_id=NEW, generation_topic_id=OLD, generation_start=0
    )
    assert kinds(d) == [("topic_recreated", None, None)]


def test_gaps_between_ledger_ranges() -> None:
    d = plan_partition(0, facts([(0, 99), (150, 199), (200, 210), (300, 310)], committed=311), topic_id=OLD)
    assert kinds(d) == [("ledger_gap", 100, 150), ("ledger_gap", 211, 300)]


def test_overlapping_ledger_ranges() -> None:
    # the old behaviour on a recreated topic: t+p+0-k landed again next to the earlier batches
    d = plan_partition(0, facts([(0, 99), (100, 199), (0, 49)], committed=200), topic_id=OLD)
    assert kinds(d) == [("ledger_overlap", 0, 50)] and not d.problems[0].acceptable


def test_accepted_gaps_count_like_ledger_ranges() -> None:
    between = facts([(0, 99), (150, 199)], committed=200, accepted=[(100, 150)])
    assert plan_partition(0, between, topic_id=OLD).start == 200
    retention = facts([(0, 99)], committed=100, low=300, accepted=[(100, 300)])
    assert plan_partition(0, retention, topic_id=OLD).start == 300
    ahead = facts([(0, 99)], committed=180, accepted=[(100, 180)])
    assert plan_partition(0, ahead, topic_id=OLD).start == 180
    # …and only the gap accepted: retention that moves on later stops again
    later = replace(retention, log_start=400, committed=300)
    assert kinds(plan_partition(0, later, topic_id=OLD)) == [("retention_gap", 300, 400)]


def test_a_new_generation_starts_at_zero_and_checks_from_there() -> None:
    fresh = facts([], committed=None, ledger_topic_id=None)
    assert plan_partition(0, fresh, topic_id=NEW, generation_topic_id=NEW, generation_start=0).start == 0
    holed = facts([(10, 19)], committed=20, ledger_topic_id=NEW)
    d = plan_partition(0, holed, topic_id=NEW, generation_topic_id=NEW, generation_start=0)
    assert kinds(d) == [("ledger_gap", 0, 10)]


def test_operator_message_names_numbers_and_commands() -> None:
    d = offsets.plan(
        {
            0: facts([(0, 99)], committed=180),
            1: facts([(0, 9)], low=50),
            2: facts([(0, 9)], ledger_topic_id=OLD),
        },
        topic_id=OLD,
    )
    problems = [p for x in d.values() for p in x.problems]
    text = offsets.operator_message(AIR.id, AIR.topic, 0, problems)
    assert "partition 0: group_ahead" in text and "[100, 180)" in text
    assert "partition 1: retention_gap" in text and "[10, 50)" in text
    assert f"gdx ingest {AIR.id} --accept-gap" in text and "--new-topic-generation" not in text
    assert f"gdx ingest {AIR.id} --rewind-group" in text  # group ahead: the lake may be right
    recreated = plan_partition(0, facts([(0, 9)]), topic_id=NEW).problems
    assert f"gdx ingest {AIR.id} --new-topic-generation" in offsets.operator_message(
        AIR.id, AIR.topic, 0, recreated
    )


# -- generations in names, topic ids in the ledger, resolutions in the lake ------------------------
def test_generation_names_parse_and_old_names_stay_generation_zero() -> None:
    old = BatchName.parse("gdx.pcd.air_quality_hourly.v1+2+100-199.parquet")
    assert old == BatchName(AIR.topic, 2, 100, 199) and old.generation == 0
    gen = BatchName(AIR.topic, 2, 100, 199, generation=3)
    assert gen.file_name == "gdx.pcd.air_quality_hourly.v1+g3+2+100-199.parquet"
    assert BatchName.parse("x/" + gen.file_name) == gen
    rep = BatchName(AIR.topic, 2, 100, 199, ".replay1", 3)
    assert BatchName.parse(rep.file_name) == rep and rep.stem.startswith(gen.stem)


def _entry(name: BatchName, topic_id: str | None) -> ledger.LedgerEntry:
    now = datetime.now(UTC)
    return ledger.LedgerEntry(
        batch_id=name.stem, contract_id=AIR.id, contract_version=AIR.version, agency=AIR.agency,
        dataset=AIR.dataset, topic=name.topic, partition=name.partition, first_offset=name.first,
        last_offset=name.last, rows_in=1, rows_landed=1, rows_quarantined=0, gx_success=True,
        gx_evaluated_expectations=1, gx_successful_expectations=1, started_at=now, finished_at=now,
        duration_s=0.0, bronze_path=None, quarantine_path=None, topic_id=topic_id,
    )  # fmt: skip


def test_ledger_files_without_topic_id_read_as_unknown(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    legacy = BatchName(AIR.topic, 0, 0, 9)
    row = {k: v for k, v in _entry(legacy, None).__dict__.items() if k != "topic_id"}
    old_schema = pa.schema([f for f in ledger.schema() if f.name != "topic_id"])
    lake.write_parquet(ledger_path(AIR, legacy), pa.Table.from_pylist([row], schema=old_schema))
    newer = BatchName(AIR.topic, 1, 0, 9)
    ledger.write(lake, AIR, newer, _entry(newer, OLD))
    plan = recovery.scan(lake, AIR)
    assert plan.ledger_topic_ids == {0: None, 1: OLD}
    rows = ledger.read_all(lake, AIR)
    assert [r.get("topic_id") for r in rows] == [None, OLD]


def test_resolutions_are_recorded_audited_and_steer_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gdx.audit import AuditLog

    monkeypatch.setenv("GDX_OPERATOR", "somchai.ops")
    lake = Lake(str(tmp_path))
    old = BatchName(AIR.topic, 0, 0, 99)
    ledger.write(lake, AIR, old, _entry(old, OLD))
    gap = resolutions.new(
        AIR,
        resolutions.ACCEPT_GAP,
        0,
        topic_id=OLD,
        partition=0,
        first_offset=100,
        end_offset=300,
        problem="retention_gap",
    )
    path = resolutions.record(lake, AIR, [gap])
    assert path.startswith("ledger/pcd/air_quality_hourly/_resolutions/") and lake.exists(path)
    plan = recovery.scan(lake, AIR)
    assert plan.accepted == {0: [(100, 300)]} and plan.generation == 0
    assert plan_partition(0, plan.facts([0], {0: 100}, {0: (300, 400)})[0], topic_id=OLD).start == 300

    resolutions.record(lake, AIR, [resolutions.new(AIR, resolutions.NEW_TOPIC_GENERATION, 1, topic_id=NEW)])
    plan = recovery.scan(lake, AIR)
    # generation 1 starts empty at 0: generation 0's ledger and accepted gaps no longer apply
    assert (plan.generation, plan.generation_topic_id, plan.generation_start) == (1, NEW, 0)
    assert plan.ranges == {} and plan.accepted == {}
    f = plan.facts([0], {0: None}, {0: (0, 50)})
    assert offsets.plan(f, topic_id=NEW, generation_topic_id=NEW, generation_start=0)[0].start == 0
    # its batches do not collide with generation 0's names, and recovery keeps both
    new = BatchName(AIR.topic, 0, 0, 99, generation=1)
    ledger.write(lake, AIR, new, _entry(new, NEW))
    assert ledger_path(AIR, new) != ledger_path(AIR, old)
    assert {n.stem for n in ledger.committed_names(lake, AIR)} == {old.stem, new.stem}
    assert recovery.scan(lake, AIR).ranges == {0: [(0, 99)]}
    assert len(ledger.read_all(lake, AIR)) == 2  # the resolutions sub-folder is not read as batches

    decided = resolutions.read(lake, AIR)
    assert [r.kind for r in decided] == ["accept_gap", "new_topic_generation"]
    assert all(r.decided_by == "somchai.ops" for r in decided)
    entries = [e for e in AuditLog(lake).entries() if e.action == "ingest.offsets_resolved"]
    assert [e.detail["kind"] for e in entries] == ["accept_gap", "new_topic_generation"]
    assert entries[0].detail["ranges"] == [[0, 100, 300, "retention_gap"]]
    assert AuditLog(lake).verify().ok


# -- retries ---------------------------------------------------------------------------------------
def _failing(errors: list[KafkaError], result: str = "ok"):
    calls = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise KafkaException(errors[len(calls) - 1])
        return result

    return call, calls


def test_retriable_kafka_errors_are_retried_with_bounded_backoff() -> None:
    sleeps: list[float] = []
    errs = [
        KafkaError(KafkaError.NOT_COORDINATOR),
        KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS),
        KafkaError(KafkaError._TIMED_OUT),
    ]
    call, calls = _failing(errs)
    assert retrying(call, "committed", sleep=sleeps.append) == "ok"
    assert len(calls) == 4 and sleeps == [0.25, 0.5, 1.0]
    call, calls = _failing([KafkaError(KafkaError.NOT_COORDINATOR)] * 20)
    with pytest.raises(KafkaException):
        retrying(call, "committed", attempts=5, sleep=sleeps.append)
    assert len(calls) == 5 and max(sleeps) <= 4.0


def test_non_retriable_errors_raise_at_once() -> None:
    call, calls = _failing([KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)])
    with pytest.raises(KafkaException):
        retrying(call, "committed", sleep=lambda s: pytest.fail("slept"))
    assert len(calls) == 1
    with pytest.raises(ValueError):
        retrying(lambda: (_ for _ in ()).throw(ValueError("no")), "x", sleep=lambda s: pytest.fail("slept"))


# -- end of partitions across poll_batch calls -----------------------------------------------------
class _Msg:
    def __init__(self, partition: int, offset: int | None) -> None:
        self._p, self._o = partition, offset

    def error(self):
        return None if self._o is not None else KafkaError(KafkaError._PARTITION_EOF)

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def timestamp(self):
        return (1, 1_700_000_000_000)

    def key(self):
        return None

    def value(self):
        return b"{}"

    def headers(self):
        return None


class _FakeConsumer:
    def __init__(self, script: list[list[_Msg]]) -> None:
        self.script, self.calls = script, 0

    def consume(self, num_messages: int, timeout: float) -> list[_Msg]:
        self.calls += 1
        return self.script.pop(0) if self.script else []

    def assign(self, tps) -> None:
        pass


def _consumer(script: list[list[_Msg]]) -> BatchConsumer:
    c = BatchConsumer.__new__(BatchConsumer)
    c.topic, c.group, c.generation, c.topic_id = AIR.topic, "g", 2, NEW
    c._consumer = _FakeConsumer(script)
    c._assigned, c._at_end = [], set()
    return c


def test_partitions_at_their_end_stay_there_across_batches() -> None:
    """Partition 1 reports its end during the first batch; the second batch ends when partition 0
    does, without waiting out the idle timeout for a second EOF of partition 1."""
    c = _consumer([[_Msg(1, 0), _Msg(1, None), _Msg(0, 0), _Msg(0, 1)], [_Msg(0, 2), _Msg(0, None)]])
    c.assign({0: 0, 1: 0})
    batch, caught_up = c.poll_batch(3, 1 << 30, 30.0, idle_timeout_s=5.0)
    assert (len(batch), caught_up) == (3, False)
    assert (batch.generation, batch.topic_id) == (2, NEW)
    started = time.monotonic()
    batch, caught_up = c.poll_batch(10, 1 << 30, 30.0, idle_timeout_s=5.0)
    assert caught_up and batch.offsets == [2] and time.monotonic() - started < 1.0
    assert c._consumer.calls == 2
    c.assign({0: 3, 1: 1})  # a new assignment knows nothing about ends yet
    assert c._at_end == set()


def test_out_of_range_stops_loudly_instead_of_resetting() -> None:
    from gdx.ingest.runner import IngestError, OffsetOutOfRange

    class _Err(_Msg):
        def error(self):
            return KafkaError(KafkaError._AUTO_OFFSET_RESET)

    c = _consumer([[_Err(0, 5)]])
    c.assign({0: 5})
    with pytest.raises(OffsetOutOfRange, match=r"no longer has the offset") as info:
        c.poll_batch(10, 1 << 30, 30.0, idle_timeout_s=5.0)
    assert isinstance(info.value, IngestError)


def test_replays_of_a_new_generation_are_kept_apart_from_the_old_ones(tmp_path: Path) -> None:
    """Offsets restart on a recreated topic: a row replayed from generation 0 at (p, o) must not
    make generation 1's quarantined row at (p, o) look replayed already."""
    from gdx.ingest.paths import replay_ledger_path

    lake = Lake(str(tmp_path))
    for gen in (0, 1):
        name = BatchName(AIR.topic, 0, 0, 9, ".replay1", gen)
        row = {
            "replay_batch_id": name.stem, "quarantine_batch_id": replace(name, suffix="").stem,
            "_kafka_topic": AIR.topic, "_kafka_partition": 0, "_kafka_offset": 5 + gen,
            "contract_version": AIR.version, "replayed_at": datetime.now(UTC), "bronze_path": "x",
        }  # fmt: skip
        lake.write_parquet(
            replay_ledger_path(AIR, name), pa.Table.from_pylist([row], schema=ledger.replay_schema())
        )
    done, batches = ledger.replayed_offsets(lake, AIR)
    assert done == {(AIR.topic, 0, 5, 0), (AIR.topic, 0, 6, 1)}
    assert batches == {f"{AIR.topic}+0+0-9.replay1", f"{AIR.topic}+g1+0+0-9.replay1"}
