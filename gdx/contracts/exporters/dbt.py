"""dbt sources (dbt-duckdb) for a contract's bronze Parquet files.

One source per agency, `bronze_<agency>`, one table per dataset, written to
`dbt_project/models/staging/<agency>/_<agency>__sources.yml` (`merge_sources` joins the tables of
one agency). A model's `{{ source('bronze_<agency>', '<dataset>') }}` compiles to the warehouse view
`bronze_<agency>.<dataset>`, which the `on-run-start` hook (macro `create_bronze_views`) creates
for the sources a run reads: the committed rows of
`read_parquet('<lake>/bronze/<agency>/<dataset>/v<major>/*/*.parquet', hive_partitioning = true,
union_by_name = true)` (so `ingest_date` is a column), or an empty relation named after
`meta.columns` before the first landing. `meta.bronze_major` marks a generated bronze source.

The YAML is kept lean because `dbt parse` renders every string value of it with Jinja (a new
template per distinct string) and every column and test is a node or a doc block to process:
bench/scale_dbt.py measures it at 8,000 datasets. So no `env_var` (the lake root is read at run
time by the hook), one string listing the columns instead of a documented column list (the
columns' documentation is the contract's, served by the catalog), and one test per table through
dbt's builtin `not_null`, the only generic tests dbt parses without rendering.

Why not `datacontract export dbt-sources`: it names the source after the contract id, has no
external location or freshness, tests clear-text names of pseudonymised columns and relies on the
dbt_expectations package, which this project does not install.
"""

from __future__ import annotations

from typing import Any

from gdx.contracts.exporters._common import GENERATED_NOTE, one_line, per_contract
from gdx.contracts.exporters.arrow import METADATA_COLUMNS
from gdx.contracts.model import Contract


def source_name(contract: Contract) -> str:
    return f"bronze_{contract.agency}"


def sources_path(contract: Contract) -> str:
    return f"dbt_project/models/staging/{contract.agency}/_{contract.agency}__sources.yml"


def landed_columns(contract: Contract) -> list[str]:
    """Every column of the dataset's bronze files, in order: properties under their landed names,
    the Hive partition `ingest_date`, then the lake metadata."""
    return [
        *(p.landed_name for p in contract.properties),
        "ingest_date",
        *(name for name, _ in METADATA_COLUMNS),
    ]


def _sql_string(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def contract_check(contract: Contract) -> str:
    """A SQL expression that is NULL exactly on a row breaking the contract: a required property
    (or `_event_id`) null, or an enumerated property outside its values (nulls pass, as in dbt's
    accepted_values). The table's one test is dbt's `not_null` of it."""
    rules = [f'when "{p.landed_name}" is null then null' for p in contract.properties if p.required]
    rules.append('when "_event_id" is null then null')
    for prop in contract.properties:
        if prop.enum is not None:
            listed = ", ".join(_sql_string(v) for v in prop.enum)
            rules.append(f'when cast("{prop.landed_name}" as varchar) not in ({listed}) then null')
    return "(case " + " ".join(rules) + " else true end)"


def _period(duration_s: float) -> dict[str, Any]:
    hours = duration_s / 3600
    if hours >= 24 and hours % 24 == 0:
        return {"count": int(hours // 24), "period": "day"}
    if hours == int(hours):
        return {"count": int(hours), "period": "hour"}
    return {"count": max(1, round(duration_s / 60)), "period": "minute"}


def _table(contract: Contract) -> dict[str, Any]:
    config: dict[str, Any] = {
        # ints and booleans are not rendered by dbt; the one string is the column list
        "meta": {"bronze_major": contract.major, "columns": ",".join(landed_columns(contract))},
    }
    if contract.freshness is not None:
        config["loaded_at_field"] = "_ingested_at"
        config["freshness"] = {"error_after": _period(contract.freshness.total_seconds())}
    return {
        "name": contract.dataset,
        "description": (
            f"{contract.title_th} — {contract.title_en}. {one_line(contract.description.get('purpose'))} "
            f"Contract {contract.id} {contract.version}, topic {contract.topic}."
        ).strip(),
        "config": config,
        # One test per table, dbt's builtin not_null of contract_check(): dbt skips the Jinja
        # rendering of not_null and unique only, and a rendered test per dataset was most of
        # `dbt parse` at 8,000 (bench/scale_dbt.py).
        "data_tests": [
            {
                "not_null": {
                    "name": f"contract_columns_{source_name(contract)}__{contract.dataset}",
                    "column_name": contract_check(contract),
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
