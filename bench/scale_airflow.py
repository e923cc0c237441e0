"""Scale bench of the orchestration (issue #13): what Airflow pays for N datasets.

- `dagbag_parse_s`: `gdx contracts generate` into the scale world, then one `DagBag` over its
  dags/ in a fresh interpreter (what a dag-processor loop costs); budget 30 s at 8,000. Also the
  share of the files this workstream generates (`gdx_dispatch` + `ingest_<agency>`).
- `idle_plan_cpu_s`: CPU-seconds of one `gdx_dispatch` `plan` execution (a child process: user +
  sys from getrusage, plus the broker JVM's CPU delta from /proc) over N topics on a throwaway
  broker where every topic has a record that its ingest group has already committed — an idle
  minute; budget 10 cpu_s.
- `trigger_idle_cpu_s_per_min`: the activity trigger's own CPU (and the broker's) per minute of
  watching N idle topics at its adaptive pace (`PollPace`: backing off while idle), beside
  `trigger_idle_cpu_s_per_min_fixed_2s` — the same trigger held at the former fixed 2 s pace.
- `trigger_wake_s`: after that idle minute (the pace at its slowest), one record on one of the N
  topics → seconds until the trigger's event (its share of the 1-minute event-driven budget).
- `burst_trigger_events` / `burst_watcher_lag`: 10,000 records on one of the N topics → events the
  `KafkaActivityTrigger` fires (a handful, ≤ 3) and the watcher group's lag afterwards (0).

Run standalone: `python -m bench.scale_airflow --n 100`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gdx.testing.scale_world import ScaleWorld, build_scale_world

PARSE_BUDGET_S = 30.0
IDLE_BUDGET_CPU_S = 10.0
TRIGGER_IDLE_S = 60.0
WAKE_BUDGET_S = 30.0
"""Of the 1-minute event-driven budget, what the trigger may take; the dispatcher's plan and the
ingest run need the rest."""
BURST = 10_000
BURST_EVENTS_BUDGET = 3

_PARSE = """
import json, sys, time
t = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
total = time.perf_counter() - t
stats = [{"file": s.file, "s": s.duration.total_seconds(), "dags": s.dag_num, "tasks": s.task_num} for s in bag.dagbag_stats]
print("GDX_PARSE " + json.dumps({"total_s": total, "dags": len(bag.dags), "errors": sorted(bag.import_errors), "stats": stats}))
"""

_PLAN = """
import json, sys
from gdx.orchestration.dispatch_dag import plan_incoming
from gdx.orchestration.registry import load_registry
from gdx.security.kafka_conn import KafkaConnection
incoming = plan_incoming(load_registry(sys.argv[1]), KafkaConnection.load(sys.argv[2]))
print("GDX_PLAN " + json.dumps({"agencies": len(incoming), "datasets": sum(len(e["datasets"]) for e in incoming.values())}))
"""


def _row(metric: str, value: float, unit: str, budget: float | None, note: str) -> dict[str, Any]:
    return {"metric": metric, "value": round(value, 3), "unit": unit, "budget": budget, "note": note}


def _airflow_env(work_dir: Path, world: ScaleWorld) -> dict[str, str]:
    home = work_dir / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(world.root / "dags"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
        "GDX_CONTRACTS_DIR": str(world.contracts_dir),
    }


DAG_EXPORTERS = ("dag", "airflow_pools", "dag_registry")


def generate_dags_only(world: ScaleWorld) -> None:
    """Only the Airflow side of `gdx contracts generate` (the project's exporters, merged and
    rendered the same way), for quick standalone runs at large N where the full generate (dbt
    sources, GX suites, …) is the contracts bench's subject, not this one's."""
    from gdx.contracts.exporters import EXPORTERS
    from gdx.contracts.model import load_all

    contracts = load_all(world.contracts_dir)
    for stale in (world.root / "dags").glob("ingest_*.py"):
        stale.unlink()
    for name in DAG_EXPORTERS:
        exporter = EXPORTERS[name]
        grouped: dict[str, list[Any]] = {}
        for cid in sorted(contracts):
            if exporter.applies(contracts[cid]):
                grouped.setdefault(exporter.path(contracts[cid]), []).append(exporter.func(contracts[cid]))
        for rel, values in grouped.items():
            text = exporter.render(exporter.merge(values) if exporter.merge else values[0])
            (world.root / rel).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def measure_parse(world: ScaleWorld, n: int, work_dir: Path, dags_only: bool = False) -> list[dict[str, Any]]:
    from gdx.contracts.generate import generate

    t = time.perf_counter()
    if dags_only:
        generate_dags_only(world)
    else:
        generate(root=world.root, contracts_dir=world.contracts_dir)
    generate_s = time.perf_counter() - t
    dags = world.root / "dags"
    done = subprocess.run(
        [sys.executable, "-c", _PARSE, str(dags)], env=_airflow_env(work_dir, world),
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    line = next((x for x in done.stdout.splitlines() if x.startswith("GDX_PARSE ")), None)
    if line is None:
        raise RuntimeError(f"DagBag parse failed: {(done.stdout + done.stderr)[-3000:]}")
    parsed = json.loads(line.removeprefix("GDX_PARSE "))
    ours = [s for s in parsed["stats"] if Path(s["file"]).name.startswith(("ingest_", "gdx_dispatch"))]
    ours_s = sum(s["s"] for s in ours)
    slowest = max(parsed["stats"], key=lambda s: s["s"])
    agencies = len(list(dags.glob("ingest_*.py")))
    note = (
        f"{parsed['dags']} DAGs ({agencies} ingest_<agency>), {sum(s['tasks'] for s in parsed['stats'])} tasks, "
        f"import errors: {parsed['errors'] or 'none'}; slowest file {Path(slowest['file']).name} "
        f"{slowest['s']:.1f}s; {'DAG exporters only' if dags_only else 'generate'} {generate_s:.1f}s"
    )
    return [
        _row("dagbag_parse_s", parsed["total_s"], "s", PARSE_BUDGET_S, note),
        _row(
            "dagbag_parse_dispatch_and_agency_dags_s", ours_s, "s", None,
            f"sum of per-file parse time of gdx_dispatch + {agencies} ingest_<agency> files",
        ),
    ]  # fmt: skip


# -- broker side ----------------------------------------------------------------------------------


def _jvm_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(futures: dict[Any, Any]) -> None:
    for future in futures.values():
        future.result()


def _prepare_topics(admin: Any, conn: Any, entries: list[Any]) -> None:
    """N one-partition topics, one record each, committed by each dataset's ingest group: idle."""
    from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
    from confluent_kafka.admin import NewTopic

    from gdx.ingest.consumer import group_id

    topics = [e.topic for e in entries]
    for start in range(0, len(topics), 500):
        _wait(
            admin.create_topics(
                [NewTopic(t, 1, 1) for t in topics[start : start + 500]], operation_timeout=60
            )
        )
    producer = Producer({**conn.librdkafka(), "linger.ms": 50})
    for topic in topics:
        producer.produce(topic, b'{"idle": true}')
        producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("records not delivered")
    for start in range(0, len(entries), 500):
        futures = {}
        for e in entries[start : start + 500]:
            request = ConsumerGroupTopicPartitions(group_id(e.id), [TopicPartition(e.topic, 0, 1)])
            futures[e.id] = admin.alter_consumer_group_offsets([request])[group_id(e.id)]
        _wait(futures)


def _plan_cpu(registry: Path, client_file: Path, broker_pid: int) -> tuple[float, float, dict[str, Any]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    jvm = _jvm_cpu_s(broker_pid)
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PLAN, str(registry), str(client_file)], capture_output=True, text=True
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    jvm_delta = _jvm_cpu_s(broker_pid) - jvm
    line = next((x for x in done.stdout.splitlines() if x.startswith("GDX_PLAN ")), None)
    if line is None:
        raise RuntimeError(f"plan failed: {(done.stdout + done.stderr)[-3000:]}")
    child = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return child, jvm_delta, {**json.loads(line.removeprefix("GDX_PLAN ")), "wall_s": wall}


def _watcher_lag(admin: Any, group: str, ends: dict[tuple[str, int], int]) -> int:
    from confluent_kafka import ConsumerGroupTopicPartitions

    result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result()
    seen = {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions if tp.offset >= 0}
    return sum(max(0, end - seen.get(key, 0)) for key, end in ends.items())


async def _watch(
    trigger: Any, seconds: float, action: Any = None, settle_s: float = 0.0
) -> list[dict[str, Any]]:
    """Run the trigger for `seconds` (after `action`), or until `settle_s` after its last event."""
    events: list[tuple[float, dict[str, Any]]] = []

    async def consume() -> None:
        async for event in trigger.run():
            events.append((time.monotonic(), event.payload))

    task = asyncio.create_task(consume())
    try:
        await asyncio.sleep(0.5)
        if action is not None:
            await asyncio.to_thread(action)
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            await asyncio.sleep(0.2)
            if settle_s and events and time.monotonic() - events[-1][0] >= settle_s:
                break
    finally:
        await _cancelled(task)
    return [payload for _, payload in events]


async def _cancelled(task: asyncio.Task[Any]) -> None:
    """Cancel the trigger's consuming task and wait until it has stopped."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


def _produce_one(conn: Any, topic: str) -> float:
    """One record on `topic`; returns the monotonic time it was acknowledged."""
    from confluent_kafka import Producer

    producer = Producer({**conn.librdkafka(), "linger.ms": 0})
    producer.produce(topic, b'{"wake": true}')
    if producer.flush(30):
        raise RuntimeError("record not delivered")
    return time.monotonic()


async def _idle_then_one(trigger: Any, idle_s: float, produce: Any, broker_pid: int) -> dict[str, Any]:
    """Watch for `idle_s` (CPU of this process and the broker measured), then `produce` one record
    and wait for the trigger's event: {cpu, jvm, rounds, idle_events, wake_s, event}."""
    events: list[tuple[float, dict[str, Any]]] = []

    async def consume() -> None:
        async for event in trigger.run():
            events.append((time.monotonic(), event.payload))

    cpu0, jvm0 = time.process_time(), _jvm_cpu_s(broker_pid)
    task = asyncio.create_task(consume())
    try:
        await asyncio.sleep(idle_s)
        cpu, jvm, rounds = time.process_time() - cpu0, _jvm_cpu_s(broker_pid) - jvm0, trigger.rounds
        idle_events = len(events)
        sent = await asyncio.to_thread(produce)
        while len(events) == idle_events and time.monotonic() - sent < 120:
            await asyncio.sleep(0.1)
    finally:
        await _cancelled(task)
    woke = events[idle_events] if len(events) > idle_events else None
    return {
        "cpu": cpu, "jvm": jvm, "rounds": rounds, "idle_events": idle_events,
        "wake_s": (woke[0] - sent) if woke else float("inf"), "event": woke[1] if woke else None,
    }  # fmt: skip


def measure_broker(world: ScaleWorld, n: int, work_dir: Path) -> list[dict[str, Any]]:
    from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition

    from gdx.kafka_local import throwaway_broker
    from gdx.orchestration import kafka_activity
    from gdx.orchestration.offsets_probe import admin_client, list_offsets, topic_partitions
    from gdx.orchestration.registry import load_registry

    registry = world.root / "dags" / "gdx_datasets.json"
    entries = list(load_registry(registry))
    rows: list[dict[str, Any]] = []
    # Provisioned from the repo's contracts (platform principals); the bench connects as gdx-admin,
    # the super user, so N topics need no N ACLs — the admin calls are the same as gdx-ingest's.
    with throwaway_broker(work_dir / "kafka") as broker:
        conn = broker.connection()
        client_file = work_dir / "gdx-admin.properties"
        conn.write(client_file)
        pid = broker.running_pid()
        admin = admin_client(conn)
        t = time.perf_counter()
        _prepare_topics(admin, conn, entries)
        setup_s = time.perf_counter() - t

        child, jvm, plan = _plan_cpu(registry, client_file, pid)
        rows.append(
            _row(
                "idle_plan_cpu_s", child + jvm, "cpu_s", IDLE_BUDGET_CPU_S,
                f"{n} topics, all committed: plan found {plan['datasets']} datasets with new data "
                f"(expected 0); child process {child:.2f} cpu_s (incl. interpreter start and imports) + broker JVM "
                f"{jvm:.2f} cpu_s; wall {plan['wall_s']:.1f}s; topic setup {setup_s:.0f}s",
            )
        )  # fmt: skip

        # the activity trigger over all N topics, starting from a marker at the current end offsets
        group = "gdx.watch.bench"
        parts = topic_partitions(admin, [e.topic for e in entries])
        ends = list_offsets(admin, [(t, p) for t, ps in parts.items() for p in ps])
        marker = [TopicPartition(t, p, o) for (t, p), o in sorted(ends.items())]
        admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, marker)])[group].result()

        class BenchTrigger(kafka_activity.KafkaActivityTrigger):
            def _admin(self) -> Any:  # the bench's broker as gdx-admin, not gdx settings
                return admin_client(conn)

        target = entries[0].topic
        jvm0 = _jvm_cpu_s(pid)
        time.sleep(20.0)  # the broker's own idle cost, no watcher: part of both figures below
        baseline = (_jvm_cpu_s(pid) - jvm0) * 3
        fixed = BenchTrigger(registry_path=str(registry), group=group, max_poll_s=2.0)
        cpu0, jvm0 = time.process_time(), _jvm_cpu_s(pid)
        idle_events = asyncio.run(_watch(fixed, 20.0))
        idle_cpu, idle_jvm = time.process_time() - cpu0, _jvm_cpu_s(pid) - jvm0
        rows.append(
            _row(
                "trigger_idle_cpu_s_per_min_fixed_2s", (idle_cpu + idle_jvm) * 3, "cpu_s", None,
                f"before: 20 s of watching {n} idle topics at a fixed 2 s pace, {fixed.rounds} rounds: trigger "
                f"{idle_cpu:.2f} + broker {idle_jvm:.2f} cpu_s ({fixed.rounds * 3} rounds/min; broker with no watcher "
                f"{baseline:.2f} cpu_s/min included), {len(idle_events)} events (expected 0)",
            )
        )  # fmt: skip

        trigger = BenchTrigger(registry_path=str(registry), group=group)
        idle = asyncio.run(_idle_then_one(trigger, TRIGGER_IDLE_S, lambda: _produce_one(conn, target), pid))
        rows.append(
            _row(
                "trigger_idle_cpu_s_per_min", (idle["cpu"] + idle["jvm"]) * 60 / TRIGGER_IDLE_S, "cpu_s", None,
                f"{TRIGGER_IDLE_S:.0f} s of watching {n} idle topics at the adaptive pace (from its fast start), "
                f"{idle['rounds']} rounds: trigger {idle['cpu']:.2f} + broker {idle['jvm']:.2f} cpu_s (broker with no "
                f"watcher {baseline:.2f} cpu_s/min included), {idle['idle_events']} events (expected 0)",
            )
        )  # fmt: skip
        rows.append(
            _row(
                "trigger_wake_s", idle["wake_s"], "s", WAKE_BUDGET_S,
                f"1 record on 1 of {n} topics after {TRIGGER_IDLE_S:.0f} s idle → the trigger's event "
                f"{idle['event']} (pace cap {trigger.max_poll_s:.0f} s + quiet {trigger.quiet_s:.0f} s)",
            )
        )  # fmt: skip

        def burst() -> None:
            producer = Producer({**conn.librdkafka(), "linger.ms": 20})
            for i in range(BURST):
                producer.produce(target, f'{{"i": {i}}}'.encode())
                if i % 1000 == 0:
                    producer.poll(0)
            producer.flush(60)

        events = asyncio.run(_watch(trigger, 60.0, action=burst, settle_s=8.0))
        ends = list_offsets(
            admin,
            [(t, p) for t, ps in topic_partitions(admin, [e.topic for e in entries]).items() for p in ps],
        )
        lag = _watcher_lag(admin, group, ends)
        rows.append(
            _row(
                "burst_trigger_events", len(events), "count", BURST_EVENTS_BUDGET,
                f"{BURST} records on 1 of {n} topics; events {events}",
            )
        )  # fmt: skip
        rows.append(
            _row(
                "burst_watcher_lag",
                lag,
                "count",
                0,
                "records the watcher group has not marked seen after the burst",
            )
        )
    return rows


def measure(world: ScaleWorld, n: int, work_dir: Path) -> list[dict[str, Any]]:
    work_dir.mkdir(parents=True, exist_ok=True)
    return [*measure_parse(world, n, work_dir), *measure_broker(world, n, work_dir)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--parse-only", action="store_true", help="skip the broker part")
    parser.add_argument(
        "--dags-only", action="store_true", help="run only the Airflow exporters, not all of generate"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gdx-scale-airflow-") as tmp:
        world = build_scale_world(Path(tmp) / "world", args.n)
        work = Path(tmp) / "work"
        work.mkdir()
        rows = measure_parse(world, args.n, work, args.dags_only)
        if not args.parse_only:
            rows += measure_broker(world, args.n, work)
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
