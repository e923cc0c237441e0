"""Airflow DAG file of a (non-seed) contract: `dags/ingest_<agency>__<dataset>.py`, and the
one-slot pool of its ingest task, all datasets in `dags/ingest_pools.json` (the file format of
`airflow pools import`)."""

from __future__ import annotations

from gdx.contracts.exporters._common import GENERATED_NOTE
from gdx.contracts.model import Contract

POOLS_PATH = "dags/ingest_pools.json"


def ingest_pool(contract: Contract) -> str:
    """The Airflow pool of the dataset's ingest task: one slot, so Airflow never runs two copies
    (a retry next to a zombie, a manual trigger next to the schedule) even across DAG runs."""
    return f"gdx_ingest_{contract.slug}"


def to_pool(contract: Contract) -> dict[str, dict[str, object]]:
    return {
        ingest_pool(contract): {
            "slots": 1,
            "description": f"one ingestion of {contract.id} at a time (gdx contracts generate)",
            "include_deferred": False,
        }
    }


def merge_pools(values: list[dict[str, dict[str, object]]]) -> dict[str, dict[str, object]]:
    return {name: pool for value in values for name, pool in value.items()}


def dag_path(contract: Contract) -> str:
    return f"dags/ingest_{contract.slug}.py"


def to_dag_file(contract: Contract) -> str:
    """Python source of the ingestion DAG; seeds have none (ValueError)."""
    if contract.is_seed:
        raise ValueError(f"{contract.id} is reference data (seed: true): it has no ingestion DAG")
    return (
        f'"""Airflow DAG ingest_{contract.slug}: lands {contract.topic} in bronze ({contract.title_en}). {GENERATED_NOTE}."""\n'
        "\n"
        "from gdx.orchestration.ingest_dag import build_ingest_dag\n"
        "\n"
        f'dag = build_ingest_dag("{contract.id}")\n'
    )
