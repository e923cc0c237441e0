"""Lake paths, atomic writes, the ledger and restart recovery (no broker needed)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from gdx.contracts.model import get_contract
from gdx.ingest import faults, ledger, recovery
from gdx.ingest.config import IngestConfig
from gdx.ingest.lakefs import Lake
from gdx.ingest.locking import LockTimeout, dataset_lock
from gdx.ingest.paths import BatchName, bronze_path, ingest_date, quarantine_path

AIR = get_contract("pcd.air_quality_hourly")


def test_batch_names_and_ingest_date() -> None:
    name = BatchName(AIR.topic, 2, 100, 199)
    assert name.file_name == "gdx.pcd.air_quality_hourly.v1+2+100-199.parquet"
    assert BatchName.parse("x/y/" + name.file_name) == name
    replay = BatchName(AIR.topic, 2, 100, 199, ".replay2")
    assert BatchName.parse(replay.file_name) == replay
    assert BatchName.parse(".gdx.x+1+2-3.parquet.123.tmp") is None
    # 2024-02-29 17:30 UTC is already 1 March in Bangkok
    ms = int(datetime(2024, 2, 29, 17, 30, tzinfo=UTC).timestamp() * 1000)
    assert ingest_date(ms) == "2024-03-01"
    assert bronze_path(AIR, "2024-03-01", name) == (
        "bronze/pcd/air_quality_hourly/v1/ingest_date=2024-03-01/gdx.pcd.air_quality_hourly.v1+2+100-199.parquet"
    )
    assert quarantine_path(AIR, "2024-03-01", name).startswith("quarantine/pcd/air_quality_hourly/v1/")


def test_atomic_write_leaves_no_temp(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    lake.write_parquet("a/b/c.parquet", pa.table({"x": [1, 2]}))
    assert lake.read_parquet("a/b/c.parquet").num_rows == 2
    assert [f.path for f in lake.list("a")] == ["a/b/c.parquet"]


def _entry(name: BatchName) -> ledger.LedgerEntry:
    now = datetime.now(UTC)
    return ledger.LedgerEntry(
        batch_id=name.stem, contract_id=AIR.id, contract_version=AIR.version, agency=AIR.agency,
        dataset=AIR.dataset, topic=name.topic, partition=name.partition, first_offset=name.first,
        last_offset=name.last, rows_in=name.last - name.first + 1, rows_landed=name.last - name.first + 1,
        rows_quarantined=0, gx_success=True, gx_evaluated_expectations=1, gx_successful_expectations=1,
        started_at=now, finished_at=now, duration_s=0.0, bronze_path=None, quarantine_path=None,
    )  # fmt: skip


def test_ledger_entry_reconciles() -> None:
    with pytest.raises(ValueError, match="rows_in"):
        ledger.LedgerEntry(**{**_entry(BatchName(AIR.topic, 0, 0, 9)).__dict__, "rows_quarantined": 1})


def test_recovery_deletes_orphans_and_resumes_after_the_ledger(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path))
    table = pa.table({"x": [1]})
    done = BatchName(AIR.topic, 0, 0, 99)
    orphan = BatchName(AIR.topic, 0, 100, 180)
    other = BatchName(AIR.topic, 1, 0, 49)
    for name in (done, orphan):
        lake.write_parquet(bronze_path(AIR, "2024-03-01", name), table)
    lake.write_parquet(quarantine_path(AIR, "2024-03-01", orphan), table)
    ledger.write(lake, AIR, done, _entry(done))
    ledger.write(lake, AIR, other, _entry(other))
    temp = tmp_path / "bronze/pcd/air_quality_hourly/v1/ingest_date=2024-03-01/.x.parquet.1.tmp"
    temp.write_bytes(b"half")
    plan = recovery.scan(lake, AIR)
    assert sorted(plan.orphans) == sorted(
        [bronze_path(AIR, "2024-03-01", orphan), quarantine_path(AIR, "2024-03-01", orphan)]
    )
    assert len(plan.temp_files) == 1
    assert recovery.clean(lake, plan) == 3
    assert not temp.exists() and lake.exists(bronze_path(AIR, "2024-03-01", done))
    # the ledger wins over a lagging group; a group ahead of the ledger is a problem, not a start
    from gdx.ingest import offsets

    marks = {0: (0, 500), 1: (0, 500), 2: (0, 500)}
    decisions = offsets.plan(plan.facts([0, 1, 2], {0: 40, 1: 70, 2: None}, marks), topic_id=None)
    assert {p: d.start for p, d in decisions.items()} == {0: 100, 1: None, 2: 0}
    assert [(pr.kind, pr.first, pr.end) for pr in decisions[1].problems] == [("group_ahead", 50, 70)]


def test_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    with dataset_lock(tmp_path, AIR.id, 1.0):
        pid = os.fork()
        if pid == 0:  # child: must time out
            try:
                with dataset_lock(tmp_path, AIR.id, 0.3):
                    os._exit(1)
            except LockTimeout:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
    with dataset_lock(tmp_path, AIR.id, 0.3):
        pass


def test_fault_hook_is_inert_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GDX_FAULT", raising=False)
    faults.reload()
    faults.fault("after_rename")  # no-op
    monkeypatch.setenv("GDX_FAULT", "nonsense")
    with pytest.raises(ValueError, match="unknown point"):
        faults.reload()
    monkeypatch.delenv("GDX_FAULT")
    faults.reload()


def test_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GDX_INGEST_BATCH_MAX_RECORDS", "1234")
    monkeypatch.setenv("GDX_INGEST_DLQ", "false")
    config = IngestConfig.from_env(max_records=10)
    assert (config.batch_max_records, config.dlq, config.max_records) == (1234, False, 10)


def test_object_store_lake_writes_final_keys_directly() -> None:
    """The non-local branch (S3): no temp object, no rename; listing and recovery work the same."""
    from pyarrow.fs import _MockFileSystem

    lake = Lake.on(_MockFileSystem(), "bucket/prefix")
    name = BatchName(AIR.topic, 0, 0, 9)
    orphan = BatchName(AIR.topic, 0, 10, 19)
    lake.write_parquet(bronze_path(AIR, "2024-03-01", name), pa.table({"x": [1]}))
    lake.write_parquet(bronze_path(AIR, "2024-03-01", orphan), pa.table({"x": [2]}))
    ledger.write(lake, AIR, name, _entry(name))
    assert [f.path for f in lake.list("bronze")] == [
        bronze_path(AIR, "2024-03-01", name), bronze_path(AIR, "2024-03-01", orphan)
    ]
    plan = recovery.scan(lake, AIR)
    assert plan.orphans == [bronze_path(AIR, "2024-03-01", orphan)] and plan.ledger_next == {0: 10}
    recovery.clean(lake, plan)
    assert not lake.exists(bronze_path(AIR, "2024-03-01", orphan))
    assert lake.read_parquet(bronze_path(AIR, "2024-03-01", name)).num_rows == 1
