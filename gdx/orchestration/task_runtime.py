"""What an ingestion task runs inside Airflow: one dataset, with the run's params.

Kept apart from the DAG builders so the dispatcher, the per-agency DAGs and tests share one task
body. `params` (Airflow run params / conf) select the mode: `ingest` (default).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def run_dataset(contract_id: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Ingest one dataset and return counts and ids for XCom (never data)."""
    from gdx.orchestration.ingest_dag import run_ingest_task

    mode = (params or {}).get("mode", "ingest")
    if mode != "ingest":
        raise ValueError(f"unknown mode {mode!r}")
    return run_ingest_task(contract_id)
