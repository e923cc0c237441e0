"""The Airflow settings of a GDX deployment, sized for the machine, as environment variables.

One function so `make`, `gdx demo`, the real-scheduler test harness and docker-compose agree.
"""

from __future__ import annotations

import os
from pathlib import Path

from gdx.settings import REPO_ROOT


def airflow_env(
    airflow_home: Path,
    *,
    executor: str = "LocalExecutor",
    sql_alchemy_conn: str | None = None,
    cores: int | None = None,
) -> dict[str, str]:
    """AIRFLOW__* variables for this machine (`cores` defaults to the CPUs this process may use)."""
    cores = cores or len(os.sched_getaffinity(0))
    env = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        # Airflow's default of 32 forks 32 workers (4.5 GB) on a 2-core box.
        "AIRFLOW__CORE__PARALLELISM": str(max(2, cores * 2)),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    }
    if sql_alchemy_conn:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = sql_alchemy_conn
    return env
