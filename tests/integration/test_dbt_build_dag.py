"""The `build_onedata_marts` DAG as cosmos renders it from the real dbt project (no run: see
gdx/orchestration/build_dag.py for how `dag.test()` was verified)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def dag():
    from gdx.orchestration.build_dag import build_marts_dag

    return build_marts_dag()


def test_schedule_is_any_bronze_asset(dag) -> None:
    from airflow.sdk import AssetAny

    from gdx.orchestration.build_dag import bronze_asset_uris

    condition = dag.timetable.asset_condition
    assert isinstance(condition, AssetAny)
    assert sorted(a.uri for a in condition.objects) == bronze_asset_uris()
    assert dag.max_active_tasks == 1 and dag.max_active_runs == 1, "one DuckDB writer at a time"


def test_one_task_per_dbt_node_between_prepare_and_publish(dag) -> None:
    from gdx.build import ensure_manifest
    from gdx.orchestration.build_dag import mart_asset_uri, mart_models

    manifest = json.loads(ensure_manifest().read_text())
    nodes = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] in {"model", "seed"}}
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt.")]
    rendered = {
        t.task_id.split(".", 1)[1].rsplit("_", 2)[0] for t in dbt_tasks if t.task_id.endswith("_build")
    }
    assert rendered == nodes
    assert any("relationships" in t.task_id for t in dbt_tasks), "multi-parent tests run detached"
    prepare, publish = dag.get_task("prepare_warehouse"), dag.get_task("publish_marts")
    for task in dbt_tasks:
        assert prepare.task_id in task.get_flat_relative_ids(upstream=True)
        assert publish.task_id in task.get_flat_relative_ids(upstream=False)
        assert task.retries >= 1 and task.owner == "gdx-data-engineering"
    assert sorted(a.uri for a in publish.outlets) == sorted(mart_asset_uri(m) for m in mart_models())
