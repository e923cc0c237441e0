"""`KafkaActivityTrigger`: ONE event-driven trigger for every dataset topic (AssetWatcher of
`gdx://kafka/activity`, which schedules `gdx_dispatch` in event-driven mode).

Why not the apache-kafka provider's `KafkaMessageQueueTrigger`: it consumes messages (one consumer
and one group per topic, 8,000 of them at national scale, each reading payloads into the
triggerer) and fires per message. This trigger reads no record: it makes admin rounds —
`list_topics()` plus batched `list_offsets(latest)` over every topic of the registry
(`gdx.orchestration.offsets_probe`), the blocking librdkafka calls in a thread so the triggerer's
event loop keeps running — and compares the end offsets with its own "seen" marker.

How often (`PollPace`): every `poll_s` (2 s) while a burst is pending or right after one, then
backing off (doubling) while idle up to `max_poll_s` (15 s), and never more often than 1/`DUTY`
of the last round's own duration — so at 8,000 topics, where one round costs the broker most of a
CPU-second, an idle watcher costs a few cpu·s a minute instead of ~26, and at any N the wake-up
after a first record is at most `max_poll_s` + `quiet_s` late: well inside the 1-minute
event-driven budget (the minute schedule is the backstop anyway).

The seen marker is the committed offsets of the consumer group `gdx.watch.activity` (no consumer
ever joins it; the trigger writes it with `alter_consumer_group_offsets`). A partition the marker
does not know counts from 0. When end offsets differ from the marker the trigger waits for the
burst to end — fires once when the end offsets have been quiet for `quiet_s` (3 s) or `max_wait_s`
(20 s) passed since it first saw the change — then commits the end offsets it has seen and yields
one `TriggerEvent` with counts only. So a burst of 10,000 records is one event, a restart does not
refire for data already seen, and the watcher group has no backlog. The commit happens BEFORE the
yield: if the triggerer dies in between, that event is lost, and the dispatcher's every-minute
schedule (AssetOrTimeSchedule) picks the data up — a lost wake-up costs latency, never data,
because `plan` decides from the ingest groups' lag, not from this event.

Kafka settings come from gdx settings (`connection_for(INGEST)`) in the triggerer process: no
Airflow connection, and no password in the trigger's serialized kwargs (they are stored in the
Airflow DB).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

log = logging.getLogger(__name__)

WATCH_GROUP = "gdx.watch.activity"
CLASSPATH = "gdx.orchestration.kafka_activity.KafkaActivityTrigger"
DUTY = 0.05
"""At most this share of wall time is spent in admin rounds: a round that took 1 s waits 20 s
(capped at `max_poll_s`). What makes the idle pace follow the topic count without a constant per
topic that would be wrong on another broker."""


@dataclass
class PollPace:
    """The wait before the next admin round: fast while something is happening, backing off while
    idle (see the module docstring). `next()` is called once per round."""

    fast_s: float
    max_s: float
    duty: float = DUTY
    idle_rounds: int = 0

    def next(self, *, busy: bool, round_s: float) -> float:
        """`busy`: a change is pending or was just reported; `round_s`: the round's wall time."""
        if busy:
            self.idle_rounds = 0
            return self.fast_s
        self.idle_rounds += 1
        backoff = self.fast_s * 2.0 ** min(self.idle_rounds, 16)
        return max(self.fast_s, min(self.max_s, max(backoff, round_s / self.duty)))


class KafkaActivityTrigger(BaseEventTrigger):
    """Fires once per burst of new records on any watched topic (see the module docstring).

    `topics`: the topics to watch; None = every topic of the registry (`registry_path`, or
    `dags/gdx_datasets.json`), re-read each round so a newly generated contract is watched without
    a restart. `poll_s`: the fast pace; `max_poll_s`: the slowest idle pace (`PollPace`).
    """

    def __init__(
        self, *, topics: list[str] | None = None, registry_path: str | None = None, group: str = WATCH_GROUP,
        poll_s: float = 2.0, quiet_s: float = 3.0, max_wait_s: float = 20.0, max_poll_s: float = 15.0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.topics = list(topics) if topics is not None else None
        self.registry_path = registry_path
        self.group = group
        self.poll_s = poll_s
        self.quiet_s = quiet_s
        self.max_wait_s = max_wait_s
        self.max_poll_s = max(poll_s, max_poll_s)
        self.rounds = 0
        """Admin rounds made by `run()` (the bench and the tests read it)."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            CLASSPATH,
            {
                "topics": self.topics, "registry_path": self.registry_path, "group": self.group,
                "poll_s": self.poll_s, "quiet_s": self.quiet_s, "max_wait_s": self.max_wait_s,
                "max_poll_s": self.max_poll_s,
            },
        )  # fmt: skip

    # -- blocking helpers, run in a thread ---------------------------------------------------------

    def _admin(self) -> Any:
        """An AdminClient as gdx-ingest, from gdx settings (the bench points it elsewhere)."""
        from gdx.orchestration.offsets_probe import admin_client

        return admin_client()

    def _watched(self) -> list[str]:
        if self.topics is not None:
            return self.topics
        from gdx.orchestration.registry import load_registry

        return sorted({e.topic for e in load_registry(self.registry_path)})

    def _end_offsets(self, admin: Any) -> dict[tuple[str, int], int]:
        from gdx.orchestration.offsets_probe import list_offsets, topic_partitions

        parts = topic_partitions(admin, self._watched())
        return list_offsets(admin, [(t, p) for t, ps in parts.items() for p in ps])

    def _seen(self, admin: Any) -> dict[tuple[str, int], int]:
        """The marker: what the watcher group has committed (whole group, one request)."""
        from confluent_kafka import ConsumerGroupTopicPartitions

        future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(self.group)])[self.group]
        result = future.result()
        return {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions if tp.offset >= 0}

    def _commit(self, admin: Any, offsets: dict[tuple[str, int], int]) -> None:
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

        request = ConsumerGroupTopicPartitions(
            self.group, [TopicPartition(t, p, o) for (t, p), o in sorted(offsets.items())]
        )
        admin.alter_consumer_group_offsets([request])[self.group].result()

    # -- the event loop ----------------------------------------------------------------------------

    async def run(self) -> AsyncIterator[TriggerEvent]:
        admin = await asyncio.to_thread(self._admin)
        seen = await asyncio.to_thread(self._seen, admin)
        pace = PollPace(self.poll_s, self.max_poll_s)
        first_change: float | None = None
        last_change = 0.0
        last_end: dict[tuple[str, int], int] | None = None
        while True:
            started = time.monotonic()
            self.rounds += 1
            try:
                end = await asyncio.to_thread(self._end_offsets, admin)
            except Exception as exc:  # broker away: keep watching; the minute schedule still runs
                log.warning("activity watch: %s", exc)
                await asyncio.sleep(pace.next(busy=False, round_s=time.monotonic() - started))
                continue
            now = time.monotonic()
            changed = {k: v for k, v in end.items() if seen.get(k, 0) != v}
            if changed:
                if first_change is None:
                    first_change = last_change = now
                elif end != last_end:
                    last_change = now
                if now - last_change >= self.quiet_s or now - first_change >= self.max_wait_s:
                    records = sum(max(0, v - seen.get(k, 0)) for k, v in changed.items())
                    await asyncio.to_thread(self._commit, admin, changed)
                    seen.update(changed)
                    first_change = None
                    log.info("activity: %d records on %d topics", records, len({t for t, _ in changed}))
                    yield TriggerEvent({"topics": len({t for t, _ in changed}), "records": records})
            else:
                first_change = None
            last_end = end
            # busy while a burst is pending, and for the round right after one (more may follow)
            await asyncio.sleep(pace.next(busy=bool(changed), round_s=now - started))
