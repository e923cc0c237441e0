"""The Airflow task body (`task_runtime.run_dataset`) on the real secured broker: a plain run
logs our summary and none of the clients' INFO chatter (which the engine alone does produce);
`replay_quarantine` re-validates the quarantine; a group ahead of the lake fails the task for
good with the params that resolve it, and `reset_offsets`/`rewind_group` resolves it — recorded
in the lake's resolutions like `gdx ingest --rewind-group` — landing every record exactly once."""

from __future__ import annotations

import logging
from typing import Any

import pytest

# Imported before the test starts: importing Airflow configures logging (dictConfig replaces the
# root handlers), which would drop pytest's capture handler mid-test.
from airflow.sdk.exceptions import AirflowFailException

from gdx.orchestration.task_runtime import NOISY_LOGGERS, run_dataset
from gdx.sample import valid_records
from tests.integration.ingest_fixtures import assert_exact, make_env, publish

pytestmark = [pytest.mark.integration]

CID = "pcd.air_quality_hourly"


def _records(n: int, seed: int) -> list[dict[str, Any]]:
    records = list(valid_records(CID, n, seed=seed))
    for i in range(0, n, 20):  # quarantined, so dead letters go out through the DLQ producer too
        records[i]["pm25"] = 9999.0
    return records


def _client_info(records: list[logging.LogRecord]) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.levelno == logging.INFO and r.name.split(".")[0] in NOISY_LOGGERS
    ]


def _group_ahead(cluster: Any, contract: Any, by: int) -> dict[int, tuple[int, int]]:
    """Commit the ingestion group `by` offsets past where it is (as if another lake read them):
    {partition: (committed before, committed now)}."""
    from confluent_kafka import Consumer, TopicPartition

    from gdx.ingest.consumer import group_id

    c = Consumer(
        {**cluster.ingest.librdkafka(), "group.id": group_id(contract.id), "enable.auto.commit": False}
    )
    try:
        now = c.committed([TopicPartition(contract.topic, p) for p in range(3)], timeout=15)
        moved = {tp.partition: (tp.offset, tp.offset + by) for tp in now}
        c.commit(
            offsets=[TopicPartition(contract.topic, p, o) for p, (_, o) in moved.items()], asynchronous=False
        )
    finally:
        c.close()
    return moved


def test_run_dataset_modes_and_quiet_logs(tmp_path, kafka_cluster, monkeypatch, caplog) -> None:
    from gdx.ingest import resolutions
    from gdx.ingest.lakefs import Lake
    from gdx.ingest.runner import run_ingest

    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    contract = env.contract(CID)
    caplog.set_level(logging.INFO)

    # the engine called directly: the kafka-python DLQ producer talks at INFO (what tasks used to show)
    first = publish(kafka_cluster, contract, _records(200, seed=1))
    run_ingest(CID)
    assert _client_info(caplog.records), "no client INFO lines to hold back: this test would prove nothing"

    caplog.clear()
    second = publish(kafka_cluster, contract, _records(200, seed=2))
    got = run_dataset(CID, {"mode": "ingest"})
    assert _client_info(caplog.records) == []
    assert (got["rows_in"], got["rows_landed"], got["rows_quarantined"]) == (200, 190, 10)
    ours = [r.getMessage() for r in caplog.records if r.name == "gdx.orchestration.task_runtime"]
    assert any(m.startswith(f"{CID}: in=200 landed=190 quarantined=10 batches=") for m in ours), ours
    assert logging.getLogger("kafka").level == logging.NOTSET  # restored after the task

    replay = run_dataset(CID, {"mode": "replay_quarantine"})
    assert replay["rows_considered"] == 20 and replay["rows_landed"] == 0  # still out of range
    assert replay["still_failing"] == {"pm25.range": 20}

    third = publish(kafka_cluster, contract, _records(60, seed=3))
    moved = _group_ahead(kafka_cluster, contract, by=5)
    with pytest.raises(AirflowFailException) as failed:
        run_dataset(CID, {})
    text = str(failed.value)
    for p, (ledger_next, ahead) in moved.items():
        assert (
            f"partition {p}: group_ahead: the group committed {ahead} but the ledger ends at {ledger_next}"
            in text
        )
    assert '{"datasets": ["air_quality_hourly"], "mode": "reset_offsets", "reset": "rewind_group"}' in text
    assert any(
        r.getMessage().startswith("gdx alert ") and "offsets_disagree" in r.getMessage()
        for r in caplog.records
    )

    monkeypatch.setenv("GDX_OPERATOR", "ops-test")
    done = run_dataset(CID, {"mode": "reset_offsets", "reset": "rewind_group"})
    assert done["reset"] == "rewind_group" and done["rows_in"] == 60
    (decision,) = {(r.kind, r.decided_by) for r in resolutions.read(Lake(str(env.lake)), contract)}
    assert decision == ("rewind_group", "ops-test")
    ranges = sorted(
        (r.partition, r.first_offset, r.end_offset) for r in resolutions.read(Lake(str(env.lake)), contract)
    )
    assert ranges == sorted((p, a, b) for p, (a, b) in moved.items())
    assert_exact(first + second + third, env.lake, contract)
