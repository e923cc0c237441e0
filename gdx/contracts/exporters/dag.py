"""Airflow DAG file of a (non-seed) contract: `dags/ingest_<agency>__<dataset>.py`."""

from __future__ import annotations

from gdx.contracts.exporters._common import GENERATED_NOTE
from gdx.contracts.model import Contract


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
