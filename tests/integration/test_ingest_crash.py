"""SIGKILL the ingestion at every seam of the landing protocol (and at random moments), run it
again, and compare the lake with what was published: every offset exactly once, with its content.
Two runs started at once must not duplicate either."""

from __future__ import annotations

import random
import signal
import time

import pytest

from gdx.ingest.faults import POINTS
from gdx.sample import valid_records
from tests.integration.ingest_fixtures import assert_exact, ledger_rows, make_env, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 4000
BATCH = "700"
INGEST_POINTS = [p for p in POINTS if p != "after_replay_write"]
ONCE_PER_RUN = {"after_orphan_cleanup"}


def _records(seed: int) -> list[dict]:
    records = list(valid_records("pcd.air_quality_hourly", N, seed=seed))
    for i in range(0, N, 37):
        records[i]["pm25"] = 9999.0 if i % 2 else "n/a"
    return records


def _finish(env, contract, published) -> None:
    done = env.run_cli("ingest", contract.id, "--batch-records", BATCH)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_exact(published, env.lake, contract)
    ledger = ledger_rows(env.lake, contract)
    assert sum(r["rows_in"] for r in ledger) == len(published)
    leftovers = [p for p in env.lake.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers
    # every committed batch is on the audit chain, whatever the crash interrupted
    verify = env.run_cli("audit", "verify")
    assert verify.returncode == 0, verify.stderr[-2000:]


@pytest.mark.parametrize("point", INGEST_POINTS)
def test_sigkill_at_each_point_then_rerun(point: str, tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    published = publish(kafka_cluster, contract, _records(seed=len(point)))
    # points reached once per run are hit on the first; per-batch points on a random later batch
    nth = 1 if point in ONCE_PER_RUN else random.Random(point).randint(1, 3)
    crashed = env.run_cli("ingest", contract.id, "--batch-records", BATCH, extra_env={"GDX_FAULT": f"{point}@{nth}"})
    assert crashed.returncode == -signal.SIGKILL, f"{point}@{nth} was not reached: {crashed.stderr[-2000:]}"
    # a second crash on top of the first, at the same point: recovery itself must be crash-safe
    again = env.run_cli("ingest", contract.id, "--batch-records", BATCH, extra_env={"GDX_FAULT": f"{point}@1"})
    assert again.returncode in (0, -signal.SIGKILL), again.stderr[-2000:]
    _finish(env, contract, published)


def test_sigkill_at_random_moments(tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    published = publish(kafka_cluster, contract, _records(seed=99) * 3)
    rng = random.Random(2024)
    for _ in range(5):
        proc = env.popen_cli("ingest", contract.id, "--batch-records", "500")
        time.sleep(rng.uniform(3.0, 12.0))  # import + recovery take a few seconds: kill anywhere after
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    _finish(env, contract, published)


def test_two_runs_at_once_do_not_duplicate(tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    published = publish(kafka_cluster, contract, _records(seed=5))
    procs = [env.popen_cli("ingest", contract.id, "--batch-records", BATCH) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [r[1][-2000:] for r in results]
    # they really ran at once: one of them reached the dataset lock while the other held it (the
    # waiter logs the holder's pid), so the second started before the first had finished
    waited = [
        (i, line)
        for i, (_, err) in enumerate(results)
        for line in err.splitlines()
        if "waiting for the dataset lock" in line
    ]
    assert len(waited) == 1, f"the runs did not overlap: {[r[1][-1500:] for r in results]}"
    waiter, line = waited[0]
    assert line.rstrip().split("held by pid ")[1].split()[0] == str(procs[1 - waiter].pid), line
    assert_exact(published, env.lake, contract)
    assert sum(r["rows_in"] for r in ledger_rows(env.lake, contract)) == len(published)


def test_partition_workers_land_exactly_once_even_when_one_dies(tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    published = publish(kafka_cluster, contract, _records(seed=77))
    # a worker is SIGKILLed mid-protocol: the run fails loudly, the other worker's batches stay
    crashed = env.run_cli("ingest", contract.id, "--batch-records", BATCH, "--workers", "2",
                          extra_env={"GDX_FAULT": "after_quarantine_write@2"})  # fmt: skip
    assert crashed.returncode != 0
    assert "worker(s) failed" in crashed.stderr or crashed.returncode == -signal.SIGKILL
    done = env.run_cli("ingest", contract.id, "--batch-records", BATCH, "--workers", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert_exact(published, env.lake, contract)
    assert sum(r["rows_in"] for r in ledger_rows(env.lake, contract)) == len(published)
