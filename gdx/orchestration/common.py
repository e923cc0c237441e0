"""Defaults every GDX DAG shares, so the DAG-integrity test has one thing to check.

* `default_args()` — task defaults: owner, retries, and the failure/retry alerts.
* `dag_kwargs(deadline_minutes=…)` — DAG-level settings: the DAG failure alert, a pause after
  `MAX_CONSECUTIVE_FAILED_RUNS` failed runs in a row (a broken dataset stops burning worker slots
  every minute and says so), and a deadline alert when a run is not done `deadline_minutes` after
  it was queued. Use as `DAG(dag_id=…, **dag_kwargs(deadline_minutes=30), default_args=default_args())`.

Callbacks are referenced by function (Airflow stores their import path): `gdx.orchestration.alerts`
must be importable where they run — the task's worker, the dag-processor and the triggerer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gdx.orchestration import alerts

OWNER = "gdx-data-engineering"
MAX_CONSECUTIVE_FAILED_RUNS = 5
"""A dispatcher running every minute that fails 5 times in a row is broken, not unlucky."""
DISPATCH_DEADLINE_MINUTES = 10
"""A dispatcher run (one admin round) normally takes seconds; 10 minutes means it is stuck."""
AGENCY_DEADLINE_MINUTES = 60
"""An agency run lands its datasets in minutes; an hour after being queued it is stuck or starved."""


def default_args(retries: int = 2) -> dict[str, Any]:
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": alerts.on_task_failure,
        "on_retry_callback": alerts.on_task_retry,
    }


def deadline_alert(minutes: int) -> Any:
    """A `DeadlineAlert`: alert (`deadline_missed`) when a run is not finished `minutes` after it
    was queued. Its callback runs in the triggerer (`AsyncCallback`), so it fires even when every
    worker slot is taken — the situation it is most likely to report."""
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(alerts.on_deadline_missed, kwargs={"minutes": minutes}),
        name=f"not finished {minutes} min after queued",
    )


def dag_kwargs(deadline_minutes: int | None = AGENCY_DEADLINE_MINUTES) -> dict[str, Any]:
    """DAG-level keyword arguments every GDX DAG passes (see the module docstring)."""
    kwargs: dict[str, Any] = {
        "on_failure_callback": alerts.on_dag_failure,
        "max_consecutive_failed_dag_runs": MAX_CONSECUTIVE_FAILED_RUNS,
    }
    if deadline_minutes is not None:
        kwargs["deadline"] = deadline_alert(deadline_minutes)
    return kwargs
