"""dbt staging models generated from a contract: one view per Kafka-bound dataset.

`dbt_project/models/staging/<agency>/stg_<agency>__<dataset>.sql` selects the dataset's bronze
source (committed rows only, an empty relation before the first landing: the view the
`on-run-start` hook creates, macros/bronze_views.sql), casts every property by its logicalType,
keeps the lake metadata columns and keeps the current row per primary key:

1. Replays: a replayed record carries the same _event_id (a hash of the canonical value), so
   rows are first reduced to one per _event_id, keeping the copy landed last (_ingested_at).
   Its place in history is when the event was first published (min _kafka_timestamp over all
   copies), so re-landing old events can never make them "newer" than a correction.
2. Revisions: a producer re-sends a key with new values as a new event (new _event_id); the
   event first published last wins (ties: lower Kafka offset of the first copy, then id).

gdx/serve/downloads.py computes the same current state for downloads. Columns keep their landed
names: a pseudonymised property is `<name>_hmac` (its HMAC pseudonym; the clear value never
lands, so no model can select it). Renames and derived columns are meaning, and live in the
hand-written `int_<agency>__<dataset>` models that ref these.

The SQL is plain SQL around one `{{ source() }}` — no project macro — so dbt's static parser
reads it without rendering Jinja; `_<agency>__models.yml` carries the models' descriptions only.
bench/scale_dbt.py measures `dbt parse` at 8,000 of them. The contract's checks are the source's
test (exporters/dbt.py): the staging model only casts those columns, and its primary key is
unique by construction (the `qualify` below), so a test of its own could not fail.
"""

from __future__ import annotations

from typing import Any

from gdx.contracts.exporters._common import GENERATED_NOTE, per_contract
from gdx.contracts.exporters.dbt import source_name
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

_METADATA_CASTS = (
    ("_event_id", "varchar"),
    ("_kafka_topic", "varchar"),
    ("_kafka_partition", "integer"),
    ("_kafka_offset", "bigint"),
    ("_kafka_timestamp", "timestamptz"),
    ("_batch_id", "varchar"),
    ("_contract_version", "varchar"),
    ("_ingested_at", "timestamptz"),
    ("ingest_date", "date"),
)
"""The lake metadata columns every staging model carries (docs/conventions.md, "Lake")."""


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
    metadata = ",\n".join(f"        cast({name} as {kind}) as {name}" for name, kind in _METADATA_CASTS)
    # no primary key: every event is its own current state
    key = ", ".join(_quoted(p.landed_name) for p in _pk(contract)) or "_event_id"
    # dbt model text built from validated contract names, not a query run here
    return (
        f"-- {GENERATED_NOTE} (contract {contract.id} {contract.version})\n"  # noqa: S608
        "with\n\n"
        "source as (\n\n"
        f"    select * from {{{{ source('{source_name(contract)}', '{contract.dataset}') }}}}\n\n"
        "),\n\n"
        "typed as (\n\n"
        "    select\n"
        f"{casts}"
        f"{metadata}\n"
        "    from source\n\n"
        "),\n\n"
        "-- one row per _event_id (the copy landed last), placed at the event's first publication\n"
        "copies as (\n\n"
        "    select\n"
        "        *,\n"
        "        row_number() over (partition by _event_id order by _ingested_at desc, _batch_id desc) as _copy_rank,\n"
        "        min(_kafka_timestamp) over (partition by _event_id) as _first_published_at,\n"
        "        arg_min(_kafka_offset, _kafka_timestamp) over (partition by _event_id) as _first_offset\n"
        "    from typed\n\n"
        "),\n\n"
        "-- one row per primary key: the event first published last\n"
        "deduplicated as (\n\n"
        "    select * exclude (_copy_rank)\n"
        "    from copies\n"
        "    where _copy_rank = 1\n"
        "    qualify row_number() over (\n"
        f"        partition by {key}\n"
        "        order by _first_published_at desc, _first_offset desc, _event_id desc\n"
        "    ) = 1\n\n"
        ")\n\n"
        "select * from deduplicated\n"
    )


@per_contract
def to_staging_models(contract: Contract) -> dict[str, Any]:
    """The model's entry in its agency's `_<agency>__models.yml` (a one-model document): its
    description only. Column documentation is the contract's (the catalog serves it); a column
    list, a config or a test here would make dbt patch, validate and render each model again."""
    model: dict[str, Any] = {
        "name": model_name(contract),
        "description": (
            f"{contract.title_en or contract.title_th}: current state per primary key of "
            f"{source_name(contract)}.{contract.dataset} (contract {contract.id} {contract.version}), "
            "typed from the contract. Deduplicated twice: one row per `_event_id` (the copy landed "
            "last), then one row per primary key (the event first published last wins)."
        ),
    }
    return {"version": 2, "models": [model]}


def _pk(contract: Contract) -> list[Property]:
    return [contract.prop(name) for name in contract.primary_key]


def merge_models(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the one-model documents of one agency (models sorted by name)."""
    if not docs:
        raise ValueError("nothing to merge")
    models = sorted((m for d in docs for m in d["models"]), key=lambda m: m["name"])
    return {"version": 2, "models": models}
