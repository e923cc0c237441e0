"""`build_onedata_marts`: build the One Data warehouse with ONE `dbt build` when ingestion lands data.

Schedule: any bronze Asset `gdx://bronze/<agency>/<dataset>` (one per Kafka-bound dataset, from
the registry `dags/gdx_datasets.json`). Tasks (bodies in gdx.orchestration.build_tasks):

- `plan`: the changed datasets = the triggering Asset events ∪ every dataset whose lake ledger
  changed since the last successful build (gdx.orchestration.build_watermark) ∪ `params.datasets`.
  So rows landed while this DAG was paused, whose event was lost, or that `gdx ingest` landed from
  the CLI are built by the next run. Nothing changed → skipped (no build, no mart events). No
  watermark yet, a changed dbt project/contract catalog, or `params.full` → a full build.
- `dbt_build`: one `dbt build --select source:bronze_<agency>.<dataset>+ … source:lake_ops+`
  subprocess through gdx.build (the paths, env and profile of `gdx build`); the models upstream of
  the selection are read from the warehouse as the last build left them. On success only, the
  watermark advances.
- `publish_marts`: an Asset event `gdx://marts/<model>` (through the AssetAlias `gdx-marts`) for
  each mart that build produced, extras with counts only.

Parsing reads the registry and globs models/marts/*.sql: no dbt, no contract YAML, no writes (a
read-only bundle works). The warehouse is one DuckDB file with one writer: one task and one run at
a time. Cosmos' task-per-node rendering is gone: at ~6 s of dbt start-up per task it made a full
build ~6 minutes, where one `dbt build` shares a single parse and connection.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gdx.orchestration.common import build_dag_kwargs, default_args
from gdx.settings import REPO_ROOT

DAG_ID = "build_onedata_marts"
MARTS_ALIAS = "gdx-marts"
PROJECT_DIR = REPO_ROOT / "dbt_project"


def mart_asset_uri(model: str) -> str:
    return f"gdx://marts/{model}"


def mart_models(project_dir: Path | None = None) -> list[str]:
    """Models under models/marts/ (what is exported and announced as `gdx://marts/<model>`)."""
    return sorted(p.stem for p in ((project_dir or PROJECT_DIR) / "models" / "marts").rglob("*.sql"))


def bronze_asset_uris(registry_path: Path | None = None) -> list[str]:
    """One bronze Asset URI per Kafka-bound dataset of the registry, sorted."""
    from gdx.orchestration.registry import load_registry

    return sorted(entry.bronze_uri for entry in load_registry(registry_path))


def build_marts_dag(dag_file: str | Path | None = None) -> Any:
    """The `build_onedata_marts` DAG over the registry next to `dag_file` (the bundle's own
    datasets, whatever checkout gdx is imported from). Settings (lake, warehouse) are read by the
    tasks at run time, so no environment variable of the parsing process changes the DAG."""
    from airflow.sdk import DAG, Asset, AssetAlias, AssetAny, Param, task

    from gdx.orchestration import build_tasks

    beside = Path(dag_file).with_name("gdx_datasets.json") if dag_file else None
    registry = beside if beside is not None and beside.is_file() else None
    inlets = [Asset(uri) for uri in bronze_asset_uris(registry)]
    with DAG(
        dag_id=DAG_ID,
        description="One dbt build of the One Data marts downstream of the bronze datasets that changed.",
        schedule=AssetAny(*inlets),
        start_date=datetime(2024, 1, 1),
        catchup=False,
        max_active_runs=1,
        max_active_tasks=1,  # one DuckDB writer at a time
        dagrun_timeout=timedelta(hours=2),
        default_args=default_args(retries=1),
        **build_dag_kwargs(),
        params={
            "full": Param(False, type="boolean", description="Build every model (ignore the watermark)."),
            "datasets": Param(
                [],
                type="array",
                items={"type": "string", "pattern": r"^[a-z0-9_]+\.[a-z0-9_]+$"},
                description="Contract ids <agency>.<dataset> to build in addition to what changed.",
            ),
        },  # fmt: skip
        tags=["gdx", "dbt", "marts", "kpi"],
        doc_md=__doc__,
    ) as dag:

        @task
        def plan(**context: Any) -> dict[str, Any]:
            return build_tasks.plan(context.get("triggering_asset_events"), context["params"])

        @task(execution_timeout=timedelta(hours=1))
        def dbt_build(planned: dict[str, Any]) -> dict[str, Any]:
            return build_tasks.dbt_build(planned)

        @task(outlets=[AssetAlias(MARTS_ALIAS)])
        def publish_marts(built: dict[str, Any], **context: Any) -> list[str]:
            announced = []
            for uri, extra in build_tasks.mart_events(built):
                context["outlet_events"][AssetAlias(MARTS_ALIAS)].add(Asset(uri), extra=extra)
                announced.append(uri)
            return announced

        publish_marts(dbt_build(plan()))
    return dag
