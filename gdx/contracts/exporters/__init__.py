"""Everything a contract generates, as pure functions `to_<format>(contract)` plus a registry.

`EXPORTERS` maps a format name to an `Exporter`: the pure function, the repo-relative path of its
generated file (docs/conventions.md), how to render the value as file text, which contracts it
applies to (seeds get no Arrow schema, dbt source or DAG) and, for files shared by several
contracts (one dbt sources file per agency), how to merge the values. Runtime code calls the
functions (cached per contract); `gdx contracts generate` writes the files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gdx.contracts.exporters._common import GENERATED_NOTE, dump_json
from gdx.contracts.exporters.arrow import METADATA_COLUMNS, arrow_schema_json, to_arrow_schema
from gdx.contracts.exporters.catalog import to_catalog
from gdx.contracts.exporters.dag import (
    POOLS_PATH,
    dag_path,
    merge_dag_entries,
    merge_pools,
    render_dag_file,
    to_dag_entry,
    to_pool,
)
from gdx.contracts.exporters.dbt import merge_sources, render_yaml, sources_path, to_dbt_sources
from gdx.contracts.exporters.dbt_staging import (
    merge_models,
    model_path,
    models_yml_path,
    to_staging_models,
    to_staging_sql,
)
from gdx.contracts.exporters.gx import to_gx_suite
from gdx.contracts.exporters.json_schema import to_jsonschema
from gdx.contracts.exporters.registry import REGISTRY_PATH, merge_registry, to_registry_entry
from gdx.contracts.model import Contract

__all__ = [
    "EXPORTERS",
    "GENERATED_NOTE",
    "METADATA_COLUMNS",
    "Exporter",
    "arrow_schema_json",
    "generated_dir",
    "to_arrow_schema",
    "to_catalog",
    "to_dag_entry",
    "to_dbt_sources",
    "to_gx_suite",
    "to_jsonschema",
]


@dataclass(frozen=True)
class Exporter:
    name: str
    func: Callable[[Contract], Any]
    """The pure `to_<format>(contract)` (for arrow: its JSON form)."""
    path: Callable[[Contract], str]
    """Repo-relative path of the generated file."""
    render: Callable[[Any], str] = dump_json
    applies: Callable[[Contract], bool] = lambda contract: True
    merge: Callable[[list[Any]], Any] | None = None
    """Joins the values of contracts that share one file, in contract-id order."""


def generated_dir(contract: Contract) -> str:
    return f"contracts/_generated/{contract.agency}/{contract.dataset}"


def _not_seed(contract: Contract) -> bool:
    return not contract.is_seed


EXPORTERS: dict[str, Exporter] = {
    "jsonschema": Exporter("jsonschema", to_jsonschema, lambda c: f"{generated_dir(c)}/jsonschema.json"),
    "gx_suite": Exporter("gx_suite", to_gx_suite, lambda c: f"{generated_dir(c)}/gx_suite.json"),
    "arrow_schema": Exporter(
        "arrow_schema",
        arrow_schema_json,
        lambda c: f"{generated_dir(c)}/arrow_schema.json",
        applies=_not_seed,
    ),
    "catalog": Exporter("catalog", to_catalog, lambda c: f"{generated_dir(c)}/catalog.json"),
    "dbt_sources": Exporter(
        "dbt_sources",
        to_dbt_sources,
        sources_path,
        render=render_yaml,
        applies=_not_seed,
        merge=merge_sources,
    ),
    "dbt_staging_sql": Exporter("dbt_staging_sql", to_staging_sql, model_path, render=str, applies=_not_seed),
    "dbt_staging_models": Exporter(
        "dbt_staging_models",
        to_staging_models,
        models_yml_path,
        render=render_yaml,
        applies=_not_seed,
        merge=merge_models,
    ),
    "dag": Exporter(
        "dag", to_dag_entry, dag_path, render=render_dag_file, applies=_not_seed, merge=merge_dag_entries
    ),
    "airflow_pools": Exporter(
        "airflow_pools", to_pool, lambda c: POOLS_PATH, applies=_not_seed, merge=merge_pools
    ),
    "dag_registry": Exporter(
        "dag_registry", to_registry_entry, lambda c: REGISTRY_PATH, applies=_not_seed, merge=merge_registry
    ),
}
