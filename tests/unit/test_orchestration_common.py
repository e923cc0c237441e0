"""`gdx.orchestration.common`: the callbacks, the pause after repeated failures and the deadline
alert land in a real Airflow DAG and survive its serialization (what the scheduler and the
triggerer work from)."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta

from gdx.orchestration import alerts
from gdx.orchestration.common import (
    MAX_CONSECUTIVE_FAILED_RUNS,
    agency_dag_kwargs,
    build_dag_kwargs,
    dag_kwargs,
    default_args,
    dispatch_dag_kwargs,
)


def test_default_args_alert_on_failure_and_retry() -> None:
    args = default_args(retries=3)
    assert args["retries"] == 3 and args["owner"] == "gdx-data-engineering"
    assert args["on_failure_callback"] is alerts.on_task_failure
    assert args["on_retry_callback"] is alerts.on_task_retry


def test_dag_kwargs_in_a_serialized_dag() -> None:
    from airflow.sdk import DAG, task
    from airflow.sdk._shared.module_loading import import_string
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG(
        "gdx_ops_probe", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC),
        default_args=default_args(), **dag_kwargs(deadline_minutes=10),
    ) as dag:  # fmt: skip

        @task
        def work() -> int:
            return 1

        work()
    data = DagSerialization.to_dict(dag)["dag"]
    assert data["max_consecutive_failed_dag_runs"] == MAX_CONSECUTIVE_FAILED_RUNS
    assert data["has_on_failure_callback"] is True
    (deadline,) = data["deadline"]
    assert deadline["reference"]["reference_type"] == "DagRunQueuedAtDeadline"
    assert deadline["interval"]["__data__"] == timedelta(minutes=10).total_seconds()
    callback = deadline["callback"]
    assert callback["__classname__"].endswith("AsyncCallback")  # runs in the triggerer
    assert callback["__data__"]["kwargs"] == {"minutes": 10}
    # the path the triggerer imports is our awaitable alert
    target = import_string(callback["__data__"]["path"])
    assert target is alerts.on_deadline_missed and inspect.iscoroutinefunction(target)
    task_vars = data["tasks"][0]["__var"]
    assert task_vars["has_on_failure_callback"] and task_vars["has_on_retry_callback"]
    assert "deadline" not in dag_kwargs(deadline_minutes=None)


def test_presets() -> None:
    dispatch, agency, build = dispatch_dag_kwargs(), agency_dag_kwargs(), build_dag_kwargs()
    assert dispatch["max_consecutive_failed_dag_runs"] == build["max_consecutive_failed_dag_runs"] == 5
    # one dataset waiting for an operator must not pause its agency's other datasets
    assert agency["max_consecutive_failed_dag_runs"] == 0
    minutes = [kw["deadline"].interval.total_seconds() / 60 for kw in (dispatch, agency, build)]
    assert minutes == [10, 60, 30]
    assert all(kw["on_failure_callback"] is alerts.on_dag_failure for kw in (dispatch, agency, build))
