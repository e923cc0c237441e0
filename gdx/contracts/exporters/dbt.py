"""dbt sources (dbt-duckdb) for a contract's bronze Parquet files.

One source per agency, `bronze_<agency>`, one table per dataset, written to
`dbt_project/models/staging/<agency>/_<agency>__sources.yml` (`merge_sources` joins the tables of
one agency). dbt-duckdb turns `meta.external_location` into the relation a model's
`{{ source(...) }}` compiles to: dbt renders the Jinja (`env_var`) when it parses the YAML, then
dbt-duckdb applies `str.format_map` with the source's fields, and — because the result contains
"(" — uses it verbatim, so the model reads
`read_parquet('<lake>/bronze/<agency>/<dataset>/v<major>/*/*.parquet', hive_partitioning = true,
union_by_name = true)` and sees `ingest_date` as a column. `meta.committed_by` names the
dataset's ledger folder: macro `lake_source` shows only rows of committed batches.

Why not `datacontract export dbt-sources`: it names the source after the contract id, has no
external location or freshness, tests clear-text names of pseudonymised columns and relies on the
dbt_expectations package, which this project does not install.
"""

from __future__ import annotations

from typing import Any

from gdx.contracts.exporters._common import GENERATED_NOTE, one_line, per_contract
from gdx.contracts.exporters.arrow import METADATA_COLUMNS
from gdx.contracts.model import Contract

_METADATA_DESCRIPTIONS = {
    "_event_id": "Deterministic event id (sha256 of contract id, major version and canonical value).",
    "_kafka_topic": "Kafka topic the record was read from.",
    "_kafka_partition": "Kafka partition of the record.",
    "_kafka_offset": "Kafka offset of the record.",
    "_kafka_timestamp": "Kafka record timestamp (UTC).",
    "_batch_id": "Ingestion batch that landed the record (see the ledger).",
    "_contract_version": "Contract version the producer published under.",
    "_ingested_at": "When the record was landed in bronze (UTC).",
}


def source_name(contract: Contract) -> str:
    return f"bronze_{contract.agency}"


def sources_path(contract: Contract) -> str:
    return f"dbt_project/models/staging/{contract.agency}/_{contract.agency}__sources.yml"


def external_location(contract: Contract) -> str:
    return (
        'read_parquet(\'{{ env_var("GDX_LAKE_ROOT", "../lake") }}'
        f"/bronze/{contract.agency}/{contract.dataset}/v{contract.major}/*/*.parquet', "
        "hive_partitioning = true, union_by_name = true)"
    )


def committed_by(contract: Contract) -> str:
    """The ledger folder whose file names commit this dataset's bronze files: macro `lake_source`
    keeps only rows whose `_batch_id` has a ledger file there (a crash's leftovers stay hidden)."""
    return f'{{{{ env_var("GDX_LAKE_ROOT", "../lake") }}}}/ledger/{contract.agency}/{contract.dataset}'


def _period(duration_s: float) -> dict[str, Any]:
    hours = duration_s / 3600
    if hours >= 24 and hours % 24 == 0:
        return {"count": int(hours // 24), "period": "day"}
    if hours == int(hours):
        return {"count": int(hours), "period": "hour"}
    return {"count": max(1, round(duration_s / 60)), "period": "minute"}


def _table(contract: Contract) -> dict[str, Any]:
    columns: list[dict[str, Any]] = []
    not_null: list[str] = []
    accepted: dict[str, list[Any]] = {}
    for prop in contract.properties:
        description = one_line(prop.description)
        if prop.unit:
            description += f" Unit: {prop.unit}."
        if prop.pii == "pseudonymise":
            description = (
                f"HMAC-SHA256 pseudonym of {prop.name} (k<keyversion>:<hex>); the clear value never lands. "
                + description
            )
        columns.append({"name": prop.landed_name, "description": description})
        if prop.required:
            not_null.append(prop.landed_name)
        if prop.enum is not None:
            accepted[prop.landed_name] = list(prop.enum)
    columns.append(
        {
            "name": "ingest_date",
            "description": "Hive partition: Asia/Bangkok date of the batch's first Kafka record.",
        }
    )
    for name, _ in METADATA_COLUMNS:
        columns.append({"name": name, "description": _METADATA_DESCRIPTIONS[name]})
    config: dict[str, Any] = {
        "meta": {
            "external_location": external_location(contract),
            "committed_by": committed_by(contract),
            "contract_id": contract.id,
            "contract_version": contract.version,
            "kafka_topic": contract.topic,
        },
    }
    if contract.freshness is not None:
        config["loaded_at_field"] = "_ingested_at"
        config["freshness"] = {"error_after": _period(contract.freshness.total_seconds())}
    return {
        "name": contract.dataset,
        "description": f"{contract.title_th} — {contract.title_en}. {one_line(contract.description.get('purpose'))}".strip(),
        "config": config,
        "columns": columns,
        # One test node per table (tests/generic/contract_columns.sql), not one per column: at
        # 8,000 datasets per-column tests made most of `dbt parse` (bench/scale_dbt.py).
        "data_tests": [
            {
                "contract_columns": {
                    "arguments": {"not_null": [*not_null, "_event_id"], "accepted_values": accepted}
                }
            }
        ],
    }


@per_contract
def to_dbt_sources(contract: Contract) -> dict[str, Any]:
    """dbt `sources.yml` content (dict) with this contract's bronze table as the only table."""
    return {
        "version": 2,
        "sources": [
            {
                "name": source_name(contract),
                "description": f"Bronze Parquet of {contract.owner_agency.get('name_en') or contract.agency} "
                f"({contract.owner_agency.get('name_th') or contract.agency}), landed from Kafka.",
                "tables": [_table(contract)],
            }
        ],
    }


def merge_sources(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the one-table documents of one agency into one `sources.yml` (tables sorted by name)."""
    if not docs:
        raise ValueError("nothing to merge")
    first = docs[0]["sources"][0]
    tables = sorted((t for d in docs for t in d["sources"][0]["tables"]), key=lambda t: t["name"])
    return {"version": 2, "sources": [{**first, "tables": tables}]}


def render_yaml(doc: dict[str, Any]) -> str:
    import yaml

    # libyaml's emitter: the same bytes as PyYAML's (test_contracts_generate), ~6x less CPU
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    body = yaml.dump(doc, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100)
    return f"# {GENERATED_NOTE}\n{body}"
