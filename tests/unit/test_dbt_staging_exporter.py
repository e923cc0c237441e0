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
    assert "select * from {{ source('bronze_pcd', 'air_quality_hourly') }}" in sql
    assert "cast(_ingested_at as timestamptz) as _ingested_at," in sql
    assert 'partition by "station_id", "measured_at"' in sql
    dga = to_staging_sql(CONTRACTS["dga.eservice_transactions_daily"])
    assert 'cast("fully_digital" as boolean) as "fully_digital",' in dga
    assert 'cast("txn_date" as date) as "txn_date",' in dga


def test_a_pseudonymised_property_is_only_ever_its_hmac_column() -> None:
    sql = to_staging_sql(CONTRACTS["moi.informal_debt_cases"])
    assert 'cast("citizen_id_hmac" as varchar) as "citizen_id_hmac",' in sql
    assert '"citizen_id"' not in sql


def test_staging_sql_calls_no_project_macro_so_the_static_parser_takes_it() -> None:
    """dbt's static parser reads a model only when its Jinja is ref/source/config calls: one
    project macro call and the model is rendered at parse time (bench/scale_dbt.py)."""
    import re

    for contract in CONTRACTS.values():
        if contract.is_seed:
            continue
        calls = re.findall(r"\{\{\s*(\w+)\(", to_staging_sql(contract))
        assert calls == ["source"], contract.id
        assert "{%" not in to_staging_sql(contract)


def test_model_yaml_is_the_description_only() -> None:
    contract = CONTRACTS["customs.border_trade_daily"]
    model = to_staging_models(contract)["models"][0]
    assert set(model) == {"name", "description"}
    assert "customs.border_trade_daily 1.0.0" in model["description"]


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
