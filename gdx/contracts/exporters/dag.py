"""Airflow DAG file of an agency: `dags/ingest_<agency>.py`, one per agency, its Kafka-bound
datasets inline (so parsing reads no file), and the one-slot pool of each dataset's ingest task,
all datasets in `dags/ingest_pools.json` (the file format of `airflow pools import`).

One DAG per agency, not per dataset: at 8,000 datasets, 8,000 DAG files cost the dag-processor
minutes per loop and the scheduler one timetable per dataset; ~1,300 agency DAGs with one task per
dataset keep each dataset's own task history (`ingest__<dataset>`) and pool.
"""

from __future__ import annotations

import json
from typing import Any

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
    return f"dags/ingest_{contract.agency}.py"


def to_dag_entry(contract: Contract) -> dict[str, Any]:
    """The dataset's inline entry in its agency's DAG file; seeds have none (ValueError)."""
    if contract.is_seed:
        raise ValueError(f"{contract.id} is reference data (seed: true): it has no ingestion DAG")
    return {
        "id": contract.id,
        "dataset": contract.dataset,
        "topic": contract.topic,
        "pool": ingest_pool(contract),
        "title_en": contract.title_en,
        "provinces": list(contract.pilot_provinces),
    }


def merge_dag_entries(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(values, key=lambda e: e["id"])


def render_dag_file(value: dict[str, Any] | list[dict[str, Any]]) -> str:
    """Python source of `dags/ingest_<agency>.py` from the agency's entries (or one entry)."""
    values = [value] if isinstance(value, dict) else value
    agency = values[0]["id"].partition(".")[0]
    lines = [
        f'"""Airflow DAG ingest_{agency}: lands the {len(values)} Kafka dataset(s) of {agency} in bronze. '
        f'{GENERATED_NOTE}."""',
        "",
        "from gdx.orchestration.agency_dag import build_agency_dag",
        "",
        "dag = build_agency_dag(",
        f"    {json.dumps(agency)},",
        "    datasets=[",
        *(
            f"        {json.dumps(entry, ensure_ascii=False)},"
            for entry in sorted(values, key=lambda e: e["id"])
        ),
        "    ],",
        ")",
    ]
    return "\n".join(lines) + "\n"
