"""The agency DAGs `ingest_<agency>` and the dispatcher `gdx_dispatch`: shape, pools, params, the
`select` branch, the trigger's serialized form, and cheap imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gdx.contracts.exporters import EXPORTERS
from gdx.contracts.model import load_all
from gdx.orchestration.registry import by_agency, load_registry

DAGS = Path(__file__).resolve().parents[2] / "dags"
CONTRACTS = load_all()
AGENCIES = by_agency(load_registry())


def _assets(condition: Any) -> list[Any]:
    """The Assets of a schedule's condition (an Asset, or AssetAll/AssetAny of them)."""
    if hasattr(condition, "objects"):
        return [a for obj in condition.objects for a in _assets(obj)]
    return [condition]


def _agency_dag(agency: str) -> Any:
    """Build the DAG exactly as its generated file does (exec of the file's own source)."""
    scope: dict[str, Any] = {}
    exec(compile((DAGS / f"ingest_{agency}.py").read_text(), f"ingest_{agency}.py", "exec"), scope)
    return scope["dag"]


@pytest.mark.parametrize("agency", sorted(AGENCIES))
def test_agency_dag_shape(agency: str) -> None:
    dag = _agency_dag(agency)
    entries = AGENCIES[agency]
    assert dag.dag_id == f"ingest_{agency}"
    assert dag.owner == "gdx-data-engineering" and dag.default_args["retries"] == 2
    assert dag.catchup is False and dag.max_active_runs == 1
    assert [a.uri for a in _assets(dag.timetable.asset_condition)] == [f"gdx://incoming/{agency}"]
    assert {"gdx", "ingest", agency} <= set(dag.tags)
    select = dag.get_task("select")
    pools = json.loads((DAGS / "ingest_pools.json").read_text())
    assert set(select.downstream_task_ids) == {f"ingest__{e.dataset}" for e in entries}
    for entry in entries:
        task = dag.get_task(f"ingest__{entry.dataset}")
        assert task.upstream_task_ids == {"select"}
        assert (task.pool, task.pool_slots) == (entry.pool, 1) and pools[entry.pool]["slots"] == 1
        assert [a.uri for a in task.outlets] == [entry.bronze_uri]
        assert task.map_index_template is None or not task.is_mapped
    params = dag.params.dump()
    assert params == {"datasets": [], "mode": "ingest", "reset": None, "batch": None}


def test_params_are_validated() -> None:
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    dag = _agency_dag("pcd")
    good = ParamsDict(dag.params)
    good.update({"mode": "replay_quarantine", "datasets": ["air_quality_hourly"], "batch": "b-1"})
    good.validate()
    for bad in ({"mode": "drop_everything"}, {"reset": "yolo"}, {"datasets": "air_quality_hourly"}):
        params = ParamsDict(dag.params)
        with pytest.raises(ParamValidationError, match="Invalid input"):
            params.update(bad)


class _Event:
    def __init__(self, extra: dict[str, Any]) -> None:
        self.extra = extra


def test_select_params_then_events_then_all() -> None:
    from gdx.orchestration.agency_dag import selected_datasets

    known = ["a", "b", "c"]
    events = {
        "gdx://incoming/x": [
            _Event({"datasets": ["c"], "lag": {"c": 4}}),
            _Event({"datasets": ["a", "gone"]}),
        ]
    }
    assert selected_datasets(known, {"datasets": ["b"]}, events) == ["b"]
    assert selected_datasets(known, {"datasets": []}, events) == ["a", "c"]  # removed dataset dropped
    assert selected_datasets(known, {}, {}) == known  # a manual run without datasets: all
    assert selected_datasets(known, {}, {"gdx://incoming/x": [_Event({})]}) == known
    with pytest.raises(ValueError, match="typo"):
        selected_datasets(known, {"datasets": ["typo"]}, None)


def test_generated_agency_files_match_the_registry() -> None:
    """One `dags/ingest_<agency>.py` per agency with Kafka datasets, its entries inline; no
    per-dataset DAG file is left."""
    present = {p.name for p in DAGS.glob("ingest_*.py")}
    assert present == {f"ingest_{a}.py" for a in AGENCIES}
    assert not [p for p in present if "__" in p]
    text = (DAGS / "ingest_pcd.py").read_text()
    assert '"id": "pcd.air_quality_hourly"' in text and "open(" not in text and "json" not in text
    assert EXPORTERS["dag"].path(CONTRACTS["pcd.air_quality_hourly"]) == "dags/ingest_pcd.py"
    with pytest.raises(ValueError, match="seed"):
        EXPORTERS["dag"].func(CONTRACTS["ref.provinces"])


def test_dispatch_dag_shape() -> None:
    from airflow.sdk import AssetAlias

    from gdx.orchestration.dispatch_dag import build_dispatch_dag
    from gdx.orchestration.kafka_activity import KafkaActivityTrigger

    dag = build_dispatch_dag(event_driven=True)
    assert dag.dag_id == "gdx_dispatch" and dag.max_active_runs == 1 and dag.catchup is False
    assert dag.timetable.timetable.expression == "* * * * *"
    assets = _assets(dag.timetable.asset_condition)
    assert [a.uri for a in assets] == ["gdx://kafka/activity"]
    [watcher] = assets[0].watchers
    assert isinstance(watcher.trigger, KafkaActivityTrigger)
    plan = dag.get_task("plan")
    assert plan.outlets == [AssetAlias("gdx-incoming")]
    plain = build_dispatch_dag(event_driven=False)
    assert (
        type(plain.timetable).__name__ == "CronTriggerTimetable" and plain.timetable.asset_condition is None
    )


def test_dispatch_file_states_the_mode_without_an_environment_variable() -> None:
    text = (DAGS / "gdx_dispatch.py").read_text()
    assert (
        "build_dispatch_dag(event_driven=True)" in text and "os.environ" not in text and "getenv" not in text
    )


def test_trigger_serialization_round_trips() -> None:
    from airflow.sdk.module_loading import import_string

    from gdx.orchestration.kafka_activity import KafkaActivityTrigger

    trigger = KafkaActivityTrigger(topics=["t1", "t2"], quiet_s=1.0, max_wait_s=7.0)
    classpath, kwargs = trigger.serialize()
    again = import_string(classpath)(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert kwargs["group"] == "gdx.watch.activity" and "password" not in json.dumps(kwargs)


def test_dag_modules_import_nothing_heavy() -> None:
    code = (
        "import sys; import gdx.orchestration.agency_dag, gdx.orchestration.dispatch_dag, "
        "gdx.orchestration.kafka_activity; "
        "heavy = [x for x in ('great_expectations', 'pyarrow', 'confluent_kafka', 'pandas', 'kafka') if x in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_select_reads_airflows_own_triggering_events_accessor() -> None:
    """What `context["triggering_asset_events"]` is at run time: Airflow's accessor, which lists
    an alias-emitted event under the Asset and under the alias."""
    from datetime import UTC, datetime

    from airflow.sdk.api.datamodels._generated import (
        AssetAliasReferenceAssetEventDagRun,
        AssetReferenceAssetEventDagRun,
    )
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    from gdx.orchestration.agency_dag import selected_datasets

    def event(extra: dict[str, Any]) -> AssetEventDagRunReferenceResult:
        return AssetEventDagRunReferenceResult(
            asset=AssetReferenceAssetEventDagRun(name="gdx://incoming/pcd", uri="gdx://incoming/pcd", extra={}),
            extra=extra, source_task_id="plan", source_dag_id="gdx_dispatch", source_run_id="r1",
            source_map_index=-1, source_aliases=[AssetAliasReferenceAssetEventDagRun(name="gdx-incoming")],
            timestamp=datetime.now(UTC),
        )  # fmt: skip

    accessor = TriggeringAssetEventsAccessor.build(
        [event({"datasets": ["b"], "lag": {"b": 7}}), event({"datasets": ["c"], "lag": {"c": 1}})]
    )
    assert selected_datasets(["a", "b", "c"], {"datasets": []}, accessor) == ["b", "c"]
