"""gdx.build paths/helpers, the bronze fixture writer and the build DAG's pure helpers (no dbt run)."""

from __future__ import annotations

import dataclasses
import os
import re
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from gdx.build import BuildPaths, manifest_is_stale
from gdx.contracts.exporters import to_arrow_schema
from gdx.contracts.model import load_all
from gdx.settings import REPO_ROOT, Settings
from gdx.testing import bronze_fixtures as fx

BRONZE = re.compile(
    r"^bronze/(?P<agency>[a-z]+)/(?P<dataset>[a-z_]+)/v1/ingest_date=\d{4}-\d{2}-\d{2}/"
    r"gdx\.(?P=agency)\.(?P=dataset)\.v1\+0\+(?P<first>\d+)-(?P<last>\d+)\.parquet$"
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, fx.LakeSummary]:
    root = tmp_path_factory.mktemp("lake")
    return root, fx.write_fixture_lake(root)


def test_build_paths_are_absolute_and_exports_sit_beside_the_warehouse(tmp_path: Path) -> None:
    settings = dataclasses.replace(
        Settings.from_env(), lake_root="relative/lake", warehouse=Path("wh/x.duckdb")
    )
    paths = BuildPaths.from_settings(settings, target_dir=tmp_path / "target")
    env = paths.env()
    for key in ("GDX_WAREHOUSE", "GDX_LAKE_ROOT", "GDX_CONTRACTS_DIR", "GDX_EXPORT_DIR", "DBT_PROFILES_DIR"):
        assert os.path.isabs(env[key]), key
    assert Path(env["GDX_EXPORT_DIR"]) == Path(env["GDX_WAREHOUSE"]).parent / "exports"
    assert Path(env["DBT_PROFILES_DIR"]) == REPO_ROOT / "dbt_project"
    assert paths.log_dir == tmp_path / "logs"
    s3 = BuildPaths.from_settings(dataclasses.replace(settings, lake_root="s3://bucket/lake"))
    assert s3.env()["GDX_LAKE_ROOT"] == "s3://bucket/lake"


def test_manifest_staleness(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    manifest = tmp_path / "target" / "manifest.json"
    assert manifest_is_stale(manifest, tmp_path)
    manifest.parent.mkdir()
    manifest.write_text("{}")
    later = time.time() + 10
    os.utime(manifest, (later, later))
    assert not manifest_is_stale(manifest, tmp_path)
    model = tmp_path / "models" / "m.sql"
    model.write_text("select 1")
    os.utime(model, (later + 10, later + 10))
    assert manifest_is_stale(manifest, tmp_path)


def test_fixture_lake_layout_schema_and_ledger(lake: tuple[Path, fx.LakeSummary]) -> None:
    root, summary = lake
    contracts = load_all()
    kafka = {cid for cid, c in contracts.items() if not c.is_seed}
    assert set(summary.bronze_files) == kafka, "a fixture for every Kafka contract"
    for cid, files in summary.bronze_files.items():
        contract = contracts[cid]
        offsets = []
        for path in files:
            rel = path.relative_to(root).as_posix()
            match = BRONZE.match(rel)
            assert match, rel
            table = pq.read_table(path)
            assert table.schema.equals(to_arrow_schema(contract), check_metadata=False), rel
            offsets.append((int(match["first"]), int(match["last"])))
            ledger = pq.read_table(
                root / "ledger" / contract.agency / contract.dataset / path.name
            ).to_pylist()
            assert len(ledger) == 1
            row = ledger[0]
            assert (row["first_offset"], row["last_offset"]) == offsets[-1]
            assert (
                row["rows_in"]
                == row["rows_landed"] + row["rows_quarantined"]
                == row["last_offset"] - row["first_offset"] + 1
            )
            assert row["rows_landed"] == table.num_rows and row["bronze_path"] == rel
            assert (row["quarantine_path"] is not None) == (row["rows_quarantined"] > 0)
        assert offsets == sorted(offsets) and all(
            b[0] == a[1] + 1 for a, b in zip(offsets, offsets[1:], strict=False)
        )
        assert summary.rows_quarantined[cid] > 0


def test_fixture_event_ids_and_pseudonyms(lake: tuple[Path, fx.LakeSummary]) -> None:
    from gdx.events import canonical_json, event_id

    root, summary = lake
    contract = load_all()["moi.informal_debt_cases"]
    events = fx.fixture_events(contract.id)
    expected = {event_id(contract, canonical_json(e.value)) for e in events}
    landed = [r for p in summary.bronze_files[contract.id] for r in pq.read_table(p).to_pylist()]
    assert {r["_event_id"] for r in landed} == expected
    assert "citizen_id" not in landed[0]
    assert all(re.fullmatch(r"k1:[0-9a-f]{64}", r["citizen_id_hmac"]) for r in landed)
    clear = {e.value["citizen_id"] for e in events}
    assert not any(r["citizen_id_hmac"] in clear for r in landed)


def test_fixture_lake_is_deterministic(tmp_path: Path) -> None:
    only = ["dla.municipal_waste_monthly"]
    fx.write_fixture_lake(tmp_path / "a", only=only)
    fx.write_fixture_lake(tmp_path / "b", only=only)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.parquet"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.parquet"))
    assert files_a == files_b and files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_replay_lands_the_same_events_under_new_offsets(tmp_path: Path) -> None:
    only = ["gistda.fire_hotspots"]
    first = fx.write_fixture_lake(tmp_path, only=only)
    replay = fx.write_replay(tmp_path, only=only)
    cid = only[0]
    a = [r for p in first.bronze_files[cid] for r in pq.read_table(p).to_pylist()]
    b = [r for p in replay.bronze_files[cid] for r in pq.read_table(p).to_pylist()]
    assert sorted(r["_event_id"] for r in a) == sorted(r["_event_id"] for r in b)
    assert min(r["_kafka_offset"] for r in b) >= fx.REPLAY_OFFSET_SHIFT
    assert min(r["_ingested_at"] for r in b) > max(r["_ingested_at"] for r in a)
    assert not set(first.bronze_files[cid]) & set(replay.bronze_files[cid]), "new file names"


def test_build_dag_helpers() -> None:
    from gdx.orchestration.build_dag import bronze_asset_uris, mart_asset_uri, mart_models

    uris = bronze_asset_uris()
    assert "gdx://bronze/pcd/air_quality_hourly" in uris and len(uris) == 6
    assert not any("/ref/" in u for u in uris), "seeds are not ingested"
    marts = mart_models()
    assert {
        "mart_provincial_kpi",
        "mart_data_quality",
        "mart_open_data_catalog",
        "dim_province",
        "dim_date",
    } <= set(marts)
    assert mart_asset_uri("mart_provincial_kpi") == "gdx://marts/mart_provincial_kpi"


def test_cli_kpi_validates_options(tmp_path: Path) -> None:
    from gdx.cli import app

    runner = CliRunner()
    env = {"GDX_WAREHOUSE": str(tmp_path / "none.duckdb")}
    result = runner.invoke(app, ["kpi", "--period", "week"], env=env)
    assert result.exit_code == 1 and "month or fiscal_year" in result.output
    result = runner.invoke(app, ["kpi", "--province", "Atlantis"], env=env)
    assert result.exit_code == 1 and "unknown province" in result.output
    result = runner.invoke(app, ["kpi"], env=env)
    assert result.exit_code == 1 and "gdx build" in result.output
    assert runner.invoke(app, ["build", "--help"]).exit_code == 0
