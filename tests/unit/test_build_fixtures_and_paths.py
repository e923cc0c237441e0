"""gdx.build paths/helpers, the fixture lake (landed by the engine) and the build DAG's pure helpers (no dbt run)."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from gdx.build import BuildPaths
from gdx.contracts.exporters import to_arrow_schema
from gdx.contracts.model import load_all
from gdx.settings import REPO_ROOT, Settings
from gdx.testing import bronze_fixtures as fx

BRONZE = re.compile(
    r"^bronze/(?P<agency>[a-z]+)/(?P<dataset>[a-z_]+)/v1/ingest_date=\d{4}-\d{2}-\d{2}/"
    r"gdx\.(?P=agency)\.(?P=dataset)\.v1\+0\+(?P<first>\d+)-(?P<last>\d+)\.parquet$"
)
PERSONAL = "moi.informal_debt_cases"
PLAIN = "gistda.fire_hotspots"
# The malformed copies the fixture adds, as the engine names their failures.
BAD_RULES = {"record.unknown_property", "rule.province_code_known"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, fx.LakeSummary]:
    """The engine-landed lake of one contract with personal data and one without (~10 s: every
    batch goes through the GX gate)."""
    root = tmp_path_factory.mktemp("lake")
    return root, fx.write_fixture_lake(root, only=[PERSONAL, PLAIN])


def _rows(root: Path, zone: str, contract: object) -> list[dict]:
    base = root / zone / contract.agency / contract.dataset  # type: ignore[attr-defined]
    return [r for p in sorted(base.rglob("*.parquet")) for r in pq.read_table(p).to_pylist()]


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


def test_every_kafka_contract_has_fixture_events() -> None:
    contracts = load_all()
    kafka = {cid for cid, c in contracts.items() if not c.is_seed}
    assert {c.id for c in fx.kafka_contracts()} == kafka, "a fixture for every Kafka contract"
    assert all(fx.fixture_events(cid) for cid in kafka)


def test_fixture_lake_layout_schema_and_ledger(lake: tuple[Path, fx.LakeSummary]) -> None:
    from gdx.audit import AuditLog
    from gdx.ingest import recovery
    from gdx.ingest.lakefs import Lake

    root, summary = lake
    contracts = load_all()
    assert set(summary.bronze_files) == {PERSONAL, PLAIN}
    for cid, files in summary.bronze_files.items():
        contract = contracts[cid]
        events = fx.fixture_events(cid)
        assert summary.rows_landed[cid] == len(events), "every fixture event lands"
        assert summary.rows_quarantined[cid] > 0
        offsets = []
        for path in files:
            rel = path.relative_to(root).as_posix()
            match = BRONZE.match(rel)
            assert match, rel
            table = pq.read_table(path)
            assert table.schema.equals(to_arrow_schema(contract), check_metadata=False), rel
            assert set(table.column("_batch_id").to_pylist()) == {path.stem}
            offsets.append((int(match["first"]), int(match["last"])))
            ledger = pq.read_table(
                root / "ledger" / contract.agency / contract.dataset / path.name
            ).to_pylist()
            assert len(ledger) == 1
            row = ledger[0]
            assert row["batch_id"] == path.stem and row["contract_id"] == cid
            assert (row["first_offset"], row["last_offset"]) == offsets[-1]
            assert (
                row["rows_in"]
                == row["rows_landed"] + row["rows_quarantined"]
                == row["last_offset"] - row["first_offset"] + 1
            )
            assert row["rows_landed"] == table.num_rows and row["bronze_path"] == rel
            assert (row["quarantine_path"] is not None) == (row["rows_quarantined"] > 0)
            if row["quarantine_path"]:
                quarantined = pq.read_table(root / row["quarantine_path"])
                assert quarantined.num_rows == row["rows_quarantined"]
                assert row["gx_evaluated_expectations"] > 0
        assert offsets[0][0] == 0 and all(
            b[0] == a[1] + 1 for a, b in zip(offsets, offsets[1:], strict=False)
        )
        total = summary.rows_landed[cid] + summary.rows_quarantined[cid]
        assert offsets[-1][1] == total - 1
        # the engine's own recovery sees a clean, fully committed lake; the audit chain holds
        plan = recovery.scan(Lake(str(root)), contract)
        assert plan.ledger_next == {0: total} and not plan.orphans and not plan.unchained
    report = AuditLog(Lake(str(root))).verify()
    assert report.ok, report.problem
    assert report.ledger_files == sum(len(f) for f in summary.bronze_files.values())


def test_quarantine_holds_the_malformed_copies_as_the_engine_names_them(
    lake: tuple[Path, fx.LakeSummary],
) -> None:
    root, summary = lake
    contracts = load_all()
    for cid in (PERSONAL, PLAIN):
        rows = _rows(root, "quarantine", contracts[cid])
        assert len(rows) == summary.rows_quarantined[cid]
        assert {r["rule_id"] for r in rows} == BAD_RULES
        for r in rows:
            if r["rule_id"] == "record.unknown_property":
                assert r["column"] == "fixture_undeclared" and '"fixture_undeclared":1' in r["raw_value"]
            else:
                assert r["column"] == "province_code" and '"province_code":"TH-99"' in r["raw_value"]
    clear = {e.value["citizen_id"] for e in fx.fixture_events(PERSONAL)}
    for r in _rows(root, "quarantine", contracts[PERSONAL]):
        assert re.fullmatch(r"k1:[0-9a-f]{64}", r["_event_id"])
        assert re.search(r'"citizen_id":"gdxenc:v1:k1:', r["raw_value"]), "sealed as it came"
        assert not any(c in r["raw_value"] for c in clear)


def test_personal_data_is_pseudonymised_and_event_ids_keyed(lake: tuple[Path, fx.LakeSummary]) -> None:
    from gdx.events import canonical_json, event_id
    from gdx.ingest.pii import Pseudonymiser, key_for

    root, _ = lake
    contract = load_all()[PERSONAL]
    events = fx.fixture_events(PERSONAL)
    landed = _rows(root, "bronze", contract)
    assert "citizen_id" not in landed[0]
    token = Pseudonymiser(key_for(contract, fx.FIXTURE_PII_KEY)).token
    # every event once, its citizen id only as the engine's token
    expected = sorted((e.value["case_id"], e.value["status"], token(e.value["citizen_id"])) for e in events)
    assert sorted((r["case_id"], r["status"], r["citizen_id_hmac"]) for r in landed) == expected
    clear = {e.value["citizen_id"] for e in events}
    assert not any(r["citizen_id_hmac"] in clear for r in landed)
    plain_ids = {event_id(contract, canonical_json(e.value)) for e in events}
    ids = [r["_event_id"] for r in landed]
    assert all(re.fullmatch(r"k1:[0-9a-f]{64}", i) for i in ids) and len(set(ids)) == len(events)
    assert not set(ids) & plain_ids, "a personal-data contract's _event_id is keyed"


def test_plain_event_ids_are_the_producers(lake: tuple[Path, fx.LakeSummary]) -> None:
    from gdx.events import canonical_json, event_id

    root, _ = lake
    contract = load_all()[PLAIN]
    events = fx.fixture_events(PLAIN)
    landed = _rows(root, "bronze", contract)
    assert sorted(r["_event_id"] for r in landed) == sorted(
        event_id(contract, canonical_json(e.value)) for e in events
    )
    by_id = {event_id(contract, canonical_json(e.value)): e for e in events}
    for r in landed:
        event = by_id[r["_event_id"]]
        assert r["hotspot_id"] == event.value["hotspot_id"] and r["frp"] == event.value["frp"]
        assert r["_kafka_timestamp"] == event.published_at


def test_fixture_lake_is_deterministic(lake: tuple[Path, fx.LakeSummary], tmp_path: Path) -> None:
    root, _ = lake
    fx.write_fixture_lake(tmp_path, only=[PLAIN])
    contract = load_all()[PLAIN]
    parts = ("bronze", "quarantine", "ledger")
    files = sorted(
        p.relative_to(tmp_path)
        for zone in parts
        for p in (tmp_path / zone / contract.agency / contract.dataset).rglob("*.parquet")
    )
    assert files and {f.parts[0] for f in files} == set(parts)
    for rel in files:
        assert (tmp_path / rel).read_bytes() == (root / rel).read_bytes(), rel


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
