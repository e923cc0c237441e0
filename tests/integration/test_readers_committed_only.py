"""Readers of the lake see committed batches only: a bronze file that a crash left behind (written,
not yet in the ledger) is in neither the dbt models nor `gdx serve` downloads, and after the next
ingestion run every published record is there exactly once.

The orphan is produced by the engine itself: `gdx ingest` SIGKILLed right after its bronze write
(`GDX_FAULT=after_bronze_write`), before the ledger commit.
"""

from __future__ import annotations

import dataclasses
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from gdx.build import BuildPaths, run_dbt
from gdx.ingest.paths import BatchName
from gdx.sample import valid_records
from gdx.serve.downloads import load_table
from gdx.settings import Settings
from tests.integration.ingest_fixtures import REPO, assert_exact, ledger_rows, make_env, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONTRACT = "pcd.air_quality_hourly"
COMMITTED, LATER = 300, 200


def _keys(records: list[dict[str, Any]]) -> set[tuple[str, datetime]]:
    return {(r["station_id"], datetime.fromisoformat(r["measured_at"])) for r in records}


def _orphans(lake: Path, contract: Any) -> list[Path]:
    committed = {p.stem for p in (lake / "ledger" / contract.agency / contract.dataset).glob("*.parquet")}
    files = (lake / "bronze" / contract.agency / contract.dataset).rglob("*.parquet")
    return [p for p in files if p.stem not in committed]


def _download_keys(contract: Any, lake: Path) -> set[tuple[str, datetime]]:
    table = load_table(contract, str(lake), REPO).to_pylist()
    keys = {(r["station_id"], r["measured_at"]) for r in table}
    assert len(keys) == len(table), "one row per primary key"
    return keys


def _dbt(root: Path, lake: Path) -> dict[str, Any]:
    settings = dataclasses.replace(
        Settings.from_env(), lake_root=str(lake), warehouse=root / "wh" / "onedata.duckdb"
    )
    paths = BuildPaths.from_settings(settings, target_dir=root / "target")
    # models only (their data tests are the dbt suite's job): staging, the data-quality mart, the daily fact
    select = [
        "--select",
        "+mart_data_quality +fct_air_quality_daily",
        "--exclude-resource-type",
        "test",
        "unit_test",
    ]
    result = run_dbt(["build", *select], paths)
    assert result.ok, result.output[-6000:]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        staged = con.execute(
            "select count(*), count(distinct _kafka_offset), min(_kafka_offset), max(_kafka_offset) "
            "from staging.stg_pcd__air_quality_hourly"
        ).fetchone()
        quality = con.execute(
            "select bronze_rows, rows_landed, current_rows from marts.mart_data_quality where contract_id = ?",
            [CONTRACT],
        ).fetchone()
        station_days = con.execute("select sum(hours_reported) from marts.fct_air_quality_daily").fetchone()[
            0
        ]
    return {"staged": staged, "quality": quality, "station_days": station_days}


def test_a_crash_leftover_is_invisible_until_the_next_run_lands_it_once(
    tmp_path: Path, kafka_cluster: Any
) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract(CONTRACT)
    records = list(valid_records(CONTRACT, COMMITTED + LATER, seed=12))
    assert len(_keys(records)) == len(records), "sample keys are unique: one current row per record"
    first = publish(kafka_cluster, contract, records[:COMMITTED], partitions=1)
    ok = env.run_cli("ingest", contract.id)
    assert ok.returncode == 0, ok.stderr[-3000:]
    later = publish(kafka_cluster, contract, records[COMMITTED:], partitions=1)
    crashed = env.run_cli("ingest", contract.id, extra_env={"GDX_FAULT": "after_bronze_write@1"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]

    # the crash left exactly one bronze file with no ledger entry, holding the later records
    orphans = _orphans(env.lake, contract)
    assert len(orphans) == 1, orphans
    name = BatchName.parse(orphans[0].name)
    assert name is not None and (name.first, name.last) == (later[0].offset, later[-1].offset)
    assert sum(r["rows_landed"] for r in ledger_rows(env.lake, contract)) == COMMITTED

    assert _download_keys(contract, env.lake) == _keys(records[:COMMITTED])
    seen = _dbt(tmp_path / "dbt", env.lake)
    assert seen["staged"] == (COMMITTED, COMMITTED, first[0].offset, first[-1].offset)
    assert seen["quality"] == (COMMITTED, COMMITTED, COMMITTED)
    assert seen["station_days"] == COMMITTED, "every committed hourly reading counted once in the daily fact"

    done = env.run_cli("ingest", contract.id)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not _orphans(env.lake, contract)
    assert_exact(first + later, env.lake, contract)
    total = COMMITTED + LATER
    assert _download_keys(contract, env.lake) == _keys(records)
    seen = _dbt(tmp_path / "dbt", env.lake)
    assert seen["staged"] == (total, total, first[0].offset, later[-1].offset)
    assert seen["quality"] == (total, total, total)
    assert seen["station_days"] == total
