"""dbt staging models generated from a contract: one view per Kafka-bound dataset.

`dbt_project/models/staging/<agency>/stg_<agency>__<dataset>.sql` selects the dataset's bronze
source through macro `lake_source` (committed rows only, an empty relation before the first
landing), casts every property by its logicalType, keeps the lake metadata columns (macro
`lake_metadata_columns`) and keeps the current row per primary key (macro `current_state`).
Columns keep their landed names: a pseudonymised property is `<name>_hmac` (its HMAC pseudonym;
the clear value never lands, so no model can select it). Renames and derived columns are meaning,
and live in the hand-written `int_<agency>__<dataset>` models that ref these.

`dbt_project/models/staging/<agency>/_<agency>__models.yml` documents the agency's models
(`merge_models` joins them): column descriptions from the contract and ONE test,
`contract_columns` (dbt_project/tests/generic/): required properties and `_event_id` not null,
the primary key unique.

The SQL is kept flat (one call of each macro, no loops) because dbt renders every model at parse
time: bench/scale_dbt.py measures `dbt parse` at 8,000 of them.
"""

from __future__ import annotations

from typing import Any

from gdx.contracts.exporters._common import GENERATED_NOTE, one_line, per_contract
from gdx.contracts.exporters.arrow import METADATA_COLUMNS
from gdx.contracts.exporters.dbt import _METADATA_DESCRIPTIONS, source_name
from gdx.contracts.model import Contract, Property

SQL_TYPES = {
    "string": "varchar",
    "integer": "bigint",
    "number": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamptz",
}
"""DuckDB type per logicalType; integers land as int64 (exporters/arrow.py), so bigint."""

_DEDUP_DESCRIPTIONS = {
    "ingest_date": "Bronze partition (Asia/Bangkok date of the batch's first Kafka record).",
    "_first_published_at": "Earliest Kafka timestamp of any copy of the event: its place in the key's history.",
    "_first_offset": "Kafka offset of the earliest copy (tie-breaker).",
}


def model_name(contract: Contract) -> str:
    return f"stg_{contract.agency}__{contract.dataset}"


def model_path(contract: Contract) -> str:
    return f"dbt_project/models/staging/{contract.agency}/{model_name(contract)}.sql"


def models_yml_path(contract: Contract) -> str:
    return f"dbt_project/models/staging/{contract.agency}/_{contract.agency}__models.yml"


def sql_type(prop: Property) -> str:
    if prop.pii == "pseudonymise":
        return "varchar"  # the pseudonym `k<keyversion>:<hex>`, whatever the clear type was
    try:
        return SQL_TYPES[prop.logical_type]
    except KeyError:
        raise ValueError(
            f"property {prop.name!r}: no SQL type for logicalType {prop.logical_type!r}"
        ) from None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@per_contract
def to_staging_sql(contract: Contract) -> str:
    """The model's SQL text."""
    casts = "".join(
        f"        cast({_quoted(p.landed_name)} as {sql_type(p)}) as {_quoted(p.landed_name)},\n"
        for p in contract.properties
    )
    # no primary key: every event is its own current state
    key_columns = [p.landed_name for p in _pk(contract)] or ["_event_id"]
    key = ", ".join(f"'{_quoted(name)}'" for name in key_columns)
    # dbt model text built from validated contract names, not a query run here
    return (
        f"{{#- {GENERATED_NOTE} (contract {contract.id} {contract.version}) -#}}\n"  # noqa: S608
        "with\n\n"
        "source as (\n\n"
        f"    select * from {{{{ lake_source('{source_name(contract)}', '{contract.dataset}') }}}}\n\n"
        "),\n\n"
        "typed as (\n\n"
        "    select\n"
        f"{casts}"
        "        {{ lake_metadata_columns() }}\n"
        "    from source\n\n"
        "),\n\n"
        "deduplicated as (\n\n"
        f"    {{{{ current_state('typed', [{key}]) }}}}\n\n"
        ")\n\n"
        "select * from deduplicated\n"
    )


def _column(prop: Property) -> dict[str, Any]:
    description = one_line(prop.description)
    if prop.unit:
        description += f" Unit: {prop.unit}."
    if prop.pii == "pseudonymise":
        description = (
            f"HMAC-SHA256 pseudonym of {prop.name} (k<keyversion>:<hex>); the clear value never lands. "
            + description
        )
    return {"name": prop.landed_name, "description": description}


@per_contract
def to_staging_models(contract: Contract) -> dict[str, Any]:
    """The model's entry in its agency's `_<agency>__models.yml` (a one-model document)."""
    columns = [_column(p) for p in contract.properties]
    for name, _ in METADATA_COLUMNS:
        columns.append({"name": name, "description": _METADATA_DESCRIPTIONS[name]})
    columns += [{"name": name, "description": text} for name, text in _DEDUP_DESCRIPTIONS.items()]
    model: dict[str, Any] = {
        "name": model_name(contract),
        "description": (
            f"{contract.title_en or contract.title_th}: current state per primary key of "
            f"{source_name(contract)}.{contract.dataset} (contract {contract.id} {contract.version}), "
            "typed from the contract. Deduplicated twice (macro current_state): one row per `_event_id` "
            "(the copy landed last), then one row per primary key (the event first published last wins)."
        ),
        "config": {"meta": {"contract_id": contract.id, "generated": True}},
        "columns": columns,
    }
    # One test node per model (tests/generic/contract_columns.sql): per-column tests made most of
    # `dbt parse` at scale (bench/scale_dbt.py).
    checks: dict[str, Any] = {
        "not_null": [p.landed_name for p in contract.properties if p.required] + ["_event_id"],
        "unique_key": [p.landed_name for p in _pk(contract)] or ["_event_id"],
    }
    model["data_tests"] = [{"contract_columns": {"arguments": checks}}]
    return {"version": 2, "models": [model]}


def _pk(contract: Contract) -> list[Property]:
    return [contract.prop(name) for name in contract.primary_key]


def merge_models(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the one-model documents of one agency (models sorted by name)."""
    if not docs:
        raise ValueError("nothing to merge")
    models = sorted((m for d in docs for m in d["models"]), key=lambda m: m["name"])
    return {"version": 2, "models": models}
