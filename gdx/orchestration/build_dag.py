"""`build_onedata_marts`: rebuild the One Data warehouse whenever ingestion lands data.

Data-aware schedule: the DAG runs when ANY bronze Asset `gdx://bronze/<agency>/<dataset>` (one per
Kafka contract, emitted by the ingest DAGs) gets an event. Each dbt node is an Airflow task, rendered
by astronomer-cosmos (DbtTaskGroup, ExecutionMode.LOCAL, the venv's dbt, the project's own
profiles.yml, TestBehavior.BUILD: one `dbt build --select <node>` per task, so a model's unit and
data tests run with it, as in `gdx build`). When every node succeeded, `publish_marts` emits one
Asset `gdx://marts/<model>` per mart for downstream consumers.

The warehouse is a single DuckDB file and DuckDB allows one writer: the DAG runs one task at a time
(max_active_tasks=1) and one run at a time (max_active_runs=1). Paths are resolved from
gdx.settings when the DAG is parsed and handed to dbt as absolute env vars (gdx.build.BuildPaths).

The dbt graph is rendered from dbt_project/target/manifest.json (LoadMode.DBT_MANIFEST), which
`gdx.build.ensure_manifest` refreshes with `dbt parse` only when a project file is newer (a few
seconds, once). Not LoadMode.DBT_LS: it runs `dbt ls` on every parse and cosmos caches its output in
Airflow Variables, which needs the metadata database at parse time (DAG-integrity tests have none).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from gdx.orchestration.common import default_args

DAG_ID = "build_onedata_marts"
TASK_GROUP_ID = "dbt"


def bronze_asset_uri(agency: str, dataset: str) -> str:
    return f"gdx://bronze/{agency}/{dataset}"


def mart_asset_uri(model: str) -> str:
    return f"gdx://marts/{model}"


def bronze_asset_uris(contracts_dir: Path | None = None) -> list[str]:
    """One Asset URI per Kafka-bound (non-seed) contract, sorted."""
    from gdx.contracts.model import load_all

    contracts = load_all(contracts_dir)
    return sorted(bronze_asset_uri(c.agency, c.dataset) for c in contracts.values() if not c.is_seed)


def mart_models(project_dir: Path | None = None) -> list[str]:
    """Models under models/marts/ (what is exported and announced as `gdx://marts/<model>`)."""
    from gdx.build import PROJECT_DIR

    root = (project_dir or PROJECT_DIR) / "models" / "marts"
    return sorted(p.stem for p in root.rglob("*.sql"))


def _no_telemetry() -> None:
    """Cosmos reports usage to an external service by default; this platform has no internet access
    and must not phone home. The deployment should also set AIRFLOW__COSMOS__ENABLE_TELEMETRY=False."""
    import os

    os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    import cosmos.settings

    cosmos.settings.enable_telemetry = False  # read at call time by cosmos.telemetry.should_emit


def _cosmos_configs(paths: Any) -> dict[str, Any]:
    _no_telemetry()
    from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    from gdx.build import dbt_executable, ensure_manifest

    dbt = dbt_executable()
    manifest = ensure_manifest(paths)
    env = {k: v for k, v in paths.env().items() if k != "DBT_PROFILES_DIR"}
    project = ProjectConfig(
        dbt_project_path=paths.project_dir,
        manifest_path=manifest,
        env_vars=env,
        partial_parse=True,  # cosmos reuses dbt's partial_parse.msgpack across tasks (seconds per task)
    )
    profile = ProfileConfig(
        profile_name="gdx_onedata",
        target_name="local",
        profiles_yml_filepath=paths.project_dir / "profiles.yml",
    )
    execution = ExecutionConfig(
        execution_mode=ExecutionMode.LOCAL,
        invocation_mode=InvocationMode.SUBPROCESS,
        dbt_executable_path=dbt,
    )
    render = RenderConfig(
        load_method=LoadMode.DBT_MANIFEST,
        test_behavior=TestBehavior.BUILD,
        emit_datasets=False,  # we announce gdx://marts/<model> ourselves, cosmos' URIs name DuckDB paths
        # `dbt build --select <model>` would also run a relationships test whose other parent is
        # not built yet; such tests get their own task after all their parents instead.
        should_detach_multiple_parents_tests=True,
        enable_mock_profile=False,
    )
    return {
        "project_config": project,
        "profile_config": profile,
        "execution_config": execution,
        "render_config": render,
    }


def build_marts_dag(settings: Any = None) -> Any:
    """The `build_onedata_marts` DAG (imports Airflow and cosmos only when called)."""
    from airflow.sdk import DAG, Asset, AssetAny, task
    from cosmos import DbtTaskGroup

    from gdx.build import BuildPaths
    from gdx.settings import Settings

    settings = settings or Settings.from_env()
    paths = BuildPaths.from_settings(settings)
    inlets = [Asset(uri) for uri in bronze_asset_uris(settings.contracts_dir)]
    outlets = [Asset(mart_asset_uri(m)) for m in mart_models(paths.project_dir)]

    with DAG(
        dag_id=DAG_ID,
        description="dbt build of the One Data marts (provincial KPIs, data quality, open-data catalog) on new bronze data.",
        schedule=AssetAny(*inlets),
        start_date=datetime(2024, 1, 1),
        catchup=False,
        max_active_runs=1,
        max_active_tasks=1,  # one DuckDB writer at a time
        default_args=default_args(retries=1),
        tags=["gdx", "dbt", "marts", "kpi"],
        doc_md=__doc__,
    ) as dag:

        @task
        def prepare_warehouse() -> str:
            """Create the warehouse and export folders (neither DuckDB nor COPY creates parents)."""
            paths.prepare()
            return str(paths.warehouse)

        dbt_group = DbtTaskGroup(
            group_id=TASK_GROUP_ID, operator_args={"install_deps": False}, **_cosmos_configs(paths)
        )

        @task(outlets=outlets)
        def publish_marts() -> list[str]:
            """Announce the rebuilt marts; their Parquet exports are in place (post-hooks)."""
            missing = [
                m
                for m in mart_models(paths.project_dir)
                if m != "fct_informal_debt_cases" and not (paths.export_dir / f"{m}.parquet").exists()
            ]
            if missing:
                raise RuntimeError(f"marts not exported to {paths.export_dir}: {', '.join(missing)}")
            return [mart_asset_uri(m) for m in mart_models(paths.project_dir)]

        prepare_warehouse() >> dbt_group >> publish_marts()
    return dag
