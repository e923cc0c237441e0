"""Defaults every GDX DAG shares, so the DAG-integrity test has one thing to check.

* `default_args()` — task defaults: owner, retries, and the failure/retry alerts.
* `dag_kwargs(deadline_minutes=…)` — DAG-level settings: the DAG failure alert, a pause after
  `MAX_CONSECUTIVE_FAILED_RUNS` failed runs in a row (a DAG that fails every run stops burning
  worker slots and alerting every minute), and a deadline alert when a run is not done `deadline_minutes` after
  it was queued. Use as `DAG(dag_id=…, **dispatch_dag_kwargs(), default_args=default_args())`;
  the presets `dispatch_dag_kwargs` / `agency_dag_kwargs` / `build_dag_kwargs` say why each
  DAG gets what it gets.

Callbacks are referenced by function (Airflow stores their import path): `gdx.orchestration.alerts`
must be importable where they run — the task's worker, the dag-processor and the triggerer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gdx.orchestration import alerts

OWNER = "gdx-data-engineering"
MAX_CONSECUTIVE_FAILED_RUNS = 5
"""A DAG that failed 5 runs in a row is broken, not unlucky: Airflow pauses it (alerts went out)."""
DISPATCH_DEADLINE_MINUTES = 10
"""A dispatcher run (one admin round) normally takes seconds; 10 minutes means it is stuck."""
AGENCY_DEADLINE_MINUTES = 60
"""An agency run lands its datasets in minutes; an hour after being queued it is stuck or starved."""
BUILD_DEADLINE_MINUTES = 30
"""An incremental dbt build takes about a minute; a full one a few."""


def default_args(retries: int = 2) -> dict[str, Any]:
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": timedelta(minutes=1),
        "on_failure_callback": alerts.on_task_failure,
        "on_retry_callback": alerts.on_task_retry,
    }


def deadline_alert(minutes: float) -> Any:
    """A `DeadlineAlert`: alert (`deadline_missed`) when a run is not finished `minutes` after it
    was queued. Its callback runs in the triggerer (`AsyncCallback`), so it fires even when every
    worker slot is taken — the situation it is most likely to report. A fraction of a minute is
    for a test that watches one fire (`0.1` is 6 s)."""
    from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference

    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(alerts.on_deadline_missed, kwargs={"minutes": minutes}),
        name=f"not finished {minutes} min after queued",
    )


def dag_kwargs(
    deadline_minutes: float | None = AGENCY_DEADLINE_MINUTES,
    max_consecutive_failed_runs: int = MAX_CONSECUTIVE_FAILED_RUNS,
) -> dict[str, Any]:
    """DAG-level keyword arguments (see the module docstring); 0 failed runs = never pause."""
    kwargs: dict[str, Any] = {
        "on_failure_callback": alerts.on_dag_failure,
        "max_consecutive_failed_dag_runs": max_consecutive_failed_runs,
    }
    if deadline_minutes is not None:
        kwargs["deadline"] = deadline_alert(deadline_minutes)
    return kwargs


def dispatch_dag_kwargs() -> dict[str, Any]:
    """`gdx_dispatch`: paused after 5 failed runs in a row (a dispatcher failing every minute —
    broker unreachable, credentials revoked — would otherwise alert every minute), deadline 10 min."""
    return dag_kwargs(DISPATCH_DEADLINE_MINUTES)


def agency_dag_kwargs() -> dict[str, Any]:
    """`ingest_<agency>`: never paused by failures — one dataset's stop (an offsets disagreement
    waits for an operator) fails its agency's runs, and pausing the DAG would stop the agency's
    other datasets too; the task and DAG alerts say what failed. Deadline 60 min after queued."""
    return dag_kwargs(AGENCY_DEADLINE_MINUTES, max_consecutive_failed_runs=0)


def build_dag_kwargs() -> dict[str, Any]:
    """`build_onedata_marts`: paused after 5 failed builds (a broken model fails every build; the
    plan catches up from the ledger once it is fixed and unpaused), deadline 30 min."""
    return dag_kwargs(BUILD_DEADLINE_MINUTES)
