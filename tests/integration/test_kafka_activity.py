"""The dispatcher's broker side on the real secured broker, without Airflow's scheduler:
`offsets_probe.probe` (one admin round → lag per dataset) and `KafkaActivityTrigger` run as a
plain asyncio generator (one event per burst, its seen marker committed, no refire after restart)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from gdx.contracts.exporters.registry import to_registry_entry
from gdx.orchestration.kafka_activity import KafkaActivityTrigger
from gdx.orchestration.offsets_probe import admin_client, list_offsets, probe, topic_partitions
from gdx.orchestration.registry import DatasetEntry
from gdx.sample import valid_records
from tests.integration.ingest_fixtures import make_env, publish

pytestmark = pytest.mark.integration


def _entry(contract: Any, **changes: Any) -> DatasetEntry:
    raw = {**to_registry_entry(contract), **changes}
    return DatasetEntry(**{**raw, "provinces": tuple(raw["provinces"])})


def _group_offsets(admin: Any, group: str) -> dict[tuple[str, int], int]:
    from confluent_kafka import ConsumerGroupTopicPartitions

    result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result()
    return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions if tp.offset >= 0}


def _end_offsets(admin: Any, topic: str) -> dict[tuple[str, int], int]:
    parts = topic_partitions(admin, [topic])
    return list_offsets(admin, [(topic, p) for p in parts[topic]])


class Watch:
    """Drive the trigger's async generator on an event loop; collect (time, payload) of its events."""

    def __init__(self, trigger: KafkaActivityTrigger) -> None:
        self.trigger = trigger
        self.events: list[tuple[float, dict[str, Any]]] = []

    async def _consume(self) -> None:
        async for event in self.trigger.run():
            self.events.append((time.monotonic(), event.payload))

    async def run_for(self, seconds: float, during: Any = None) -> None:
        task = asyncio.create_task(self._consume())
        try:
            if during is not None:
                await asyncio.to_thread(during)
            await asyncio.sleep(seconds)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    async def until_quiet(self, after: Any, quiet_s: float, limit_s: float) -> None:
        """Run `after` (blocking), then keep watching until `quiet_s` passed since the last event
        (at least one event expected) or `limit_s`."""
        task = asyncio.create_task(self._consume())
        try:
            before = len(self.events)
            await asyncio.to_thread(after)
            started = time.monotonic()
            while time.monotonic() - started < limit_s:
                await asyncio.sleep(0.2)
                last = self.events[-1][0] if len(self.events) > before else None
                if last is not None and time.monotonic() - last >= quiet_s:
                    break
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


def test_probe_counts_lag_per_dataset_in_one_round(tmp_path, kafka_cluster, monkeypatch) -> None:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    from gdx.ingest.consumer import group_id

    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    contract = env.contract("pcd.air_quality_hourly")
    published = publish(kafka_cluster, contract, list(valid_records(contract.id, 300, seed=3)))
    entry = _entry(contract)
    ghost = _entry(
        contract,
        id="pcd.not_published_yet",
        dataset="not_published_yet",
        topic=f"gdx.pcd.ghost.t{env.suffix}",
    )

    first = probe([entry, ghost])
    assert first.lag == {entry.id: 300, ghost.id: 0}  # never committed: counted from the log start
    assert first.missing_topics == (ghost.topic,)  # no topic yet = no data, not an error

    # the ingest group commits one partition to its end: only the others' records remain
    admin = admin_client()
    by_partition = {p: sum(1 for r in published if r.partition == p) for p in range(3)}
    done = max(by_partition, key=by_partition.get)
    request = ConsumerGroupTopicPartitions(
        group_id(contract.id), [TopicPartition(contract.topic, done, by_partition[done])]
    )
    admin.alter_consumer_group_offsets([request])[group_id(contract.id)].result()
    assert probe([entry, ghost]).lag == {entry.id: 300 - by_partition[done], ghost.id: 0}
    assert probe([entry]).with_new_data() == {entry.id: 300 - by_partition[done]}


def test_trigger_fires_once_per_burst_and_keeps_its_marker(tmp_path, kafka_cluster, monkeypatch) -> None:
    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    contract = env.contract("pcd.air_quality_hourly")
    group = f"gdx.watch.test-{uuid.uuid4().hex[:8]}"
    settings = {
        "topics": [contract.topic], "group": group, "poll_s": 0.5, "quiet_s": 1.5, "max_wait_s": 10.0,
        "max_poll_s": 2.0,
    }  # fmt: skip
    trigger = KafkaActivityTrigger(**settings)
    admin = admin_client()

    async def scenario() -> tuple[Watch, Watch]:
        watch = Watch(trigger)
        await watch.run_for(2.0)  # the topic does not exist yet: nothing to report
        assert watch.events == []
        records = list(valid_records(contract.id, 10_000, seed=5))
        await watch.until_quiet(lambda: publish(kafka_cluster, contract, records), quiet_s=4.0, limit_s=40.0)
        burst = list(watch.events)
        assert 1 <= len(burst) <= 3, burst
        assert sum(e["records"] for _, e in burst) == 10_000 and all(e["topics"] == 1 for _, e in burst)
        # no backlog: the watcher group has committed exactly the end offsets
        ends = _end_offsets(admin, contract.topic)
        assert sum(ends.values()) == 10_000 and _group_offsets(admin, group) == ends

        one = list(valid_records(contract.id, 1, seed=6))
        await watch.until_quiet(lambda: publish(kafka_cluster, contract, one), quiet_s=3.0, limit_s=20.0)
        assert [e for _, e in watch.events[len(burst) :]] == [{"topics": 1, "records": 1}]
        assert sum(_group_offsets(admin, group).values()) == 10_001

        # a restarted trigger (new instance from the serialized form) does not refire for seen data
        classpath, kwargs = trigger.serialize()
        assert classpath == "gdx.orchestration.kafka_activity.KafkaActivityTrigger" and kwargs == {
            **settings,
            "registry_path": None,
        }
        restarted = Watch(KafkaActivityTrigger(**kwargs))
        await restarted.run_for(6.0)
        return watch, restarted

    _, restarted = asyncio.run(scenario())
    assert restarted.events == []
    # idle, it backed off (0.5 → 1 → 2 → 2 s: rounds at 0, 1, 3, 5 s), where the fast pace makes 12
    assert 2 <= restarted.trigger.rounds <= 5, restarted.trigger.rounds
