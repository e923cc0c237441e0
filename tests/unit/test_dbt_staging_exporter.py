"""The generated dbt staging models (gdx.contracts.exporters.dbt_staging) and gdx.build.selector_for."""

from __future__ import annotations

import dataclasses

import yaml

from gdx.build import selector_for
from gdx.contracts.exporters import EXPORTERS
from gdx.contracts.exporters.dbt_staging import merge_models, to_staging_models, to_staging_sql
from gdx.contracts.generate import OWNED_GLOBS, expected_files
from gdx.contracts.model import load_all
from gdx.settings import REPO_ROOT

CONTRACTS = load_all(REPO_ROOT / "contracts")


def test_every_property_is_cast_by_its_logical_type_under_its_landed_name() -> None:
    sql = to_staging_sql(CONTRACTS["pcd.air_quality_hourly"])
    assert 'cast("station_id" as varchar) as "station_id",' in sql
    assert 'cast("measured_at" as timestamptz) as "measured_at",' in sql
    assert 'cast("pm25" as double) as "pm25",' in sql
    assert 'cast("aqi" as bigint) as "aqi",' in sql
    assert "{{ lake_source('bronze_pcd', 'air_quality_hourly') }}" in sql
    assert "{{ lake_metadata_columns() }}" in sql
    assert """{{ current_state('typed', ['"station_id"', '"measured_at"']) }}""" in sql
    dga = to_staging_sql(CONTRACTS["dga.eservice_transactions_daily"])
    assert 'cast("fully_digital" as boolean) as "fully_digital",' in dga
    assert 'cast("txn_date" as date) as "txn_date",' in dga


def test_a_pseudonymised_property_is_only_ever_its_hmac_column() -> None:
    contract = CONTRACTS["moi.informal_debt_cases"]
    sql = to_staging_sql(contract)
    assert 'cast("citizen_id_hmac" as varchar) as "citizen_id_hmac",' in sql
    assert '"citizen_id"' not in sql
    doc = to_staging_models(contract)
    names = [c["name"] for c in doc["models"][0]["columns"]]
    assert "citizen_id_hmac" in names and "citizen_id" not in names
    hmac = next(c for c in doc["models"][0]["columns"] if c["name"] == "citizen_id_hmac")
    assert hmac["description"].startswith("HMAC-SHA256 pseudonym of citizen_id")


def test_model_yaml_has_one_test_for_required_columns_and_the_primary_key() -> None:
    contract = CONTRACTS["customs.border_trade_daily"]
    model = to_staging_models(contract)["models"][0]
    assert not any("data_tests" in c for c in model["columns"])
    (checks,) = model["data_tests"]
    arguments = checks["contract_columns"]["arguments"]
    assert arguments["not_null"] == [p.name for p in contract.properties if p.required] + ["_event_id"]
    assert arguments["unique_key"] == list(contract.primary_key)
    described = {c["name"]: c["description"] for c in model["columns"]}
    assert described["value_thb"].endswith("Unit: THB.")


def test_models_of_one_agency_share_one_yaml_sorted_by_name() -> None:
    pcd = CONTRACTS["pcd.air_quality_hourly"]
    other = dataclasses.replace(pcd, id="pcd.water_quality_daily", dataset="water_quality_daily")
    merged = merge_models([to_staging_models(other), to_staging_models(pcd)])
    assert [m["name"] for m in merged["models"]] == [
        "stg_pcd__air_quality_hourly",
        "stg_pcd__water_quality_daily",
    ]


def test_generated_files_are_owned_and_seeds_get_none() -> None:
    files = expected_files(CONTRACTS)
    staging = sorted(p for p in files if p.startswith("dbt_project/models/staging/") and p.endswith(".sql"))
    kafka = [c for c in CONTRACTS.values() if not c.is_seed]
    assert staging == sorted(
        f"dbt_project/models/staging/{c.agency}/stg_{c.agency}__{c.dataset}.sql" for c in kafka
    )
    assert {
        "dbt_project/models/staging/*/stg_*__*.sql",
        "dbt_project/models/staging/*/_*__models.yml",
    } <= set(OWNED_GLOBS)
    assert EXPORTERS["dbt_staging_models"].merge is merge_models
    doc = yaml.safe_load(files["dbt_project/models/staging/moi/_moi__models.yml"])
    assert [m["name"] for m in doc["models"]] == ["stg_moi__informal_debt_cases"]


def test_selector_for_names_each_bronze_source_and_its_descendants_once() -> None:
    assert selector_for([("pcd", "air_quality_hourly"), ("dga", "x"), ("pcd", "air_quality_hourly")]) == (
        "source:bronze_dga.x+ source:bronze_pcd.air_quality_hourly+"
    )
    assert selector_for([]) == ""
