"""`dags/gdx_datasets.json`: the datasets the orchestration knows, one compact entry per Kafka-bound
contract, so DAG files, the dispatcher and the dbt DAG never parse contract YAML at parse time.

At 8,000 contracts, reading and validating every YAML on each DAG-parsing loop costs minutes; this
file is written by `gdx contracts generate` and checked by `generate --check` like every other
generated file, so it cannot drift from the contracts. Load it with
`gdx.orchestration.registry.load_registry()`.
"""

from __future__ import annotations

from typing import Any

from gdx.contracts.exporters._common import GENERATED_NOTE
from gdx.contracts.exporters.dag import ingest_pool
from gdx.contracts.model import Contract

REGISTRY_PATH = "dags/gdx_datasets.json"


def to_registry_entry(contract: Contract) -> dict[str, Any]:
    return {
        "id": contract.id,
        "agency": contract.agency,
        "dataset": contract.dataset,
        "version": contract.version,
        "major": contract.major,
        "topic": contract.topic,
        "dlq_topic": contract.dlq_topic,
        "pool": ingest_pool(contract),
        "title_th": contract.title_th,
        "title_en": contract.title_en,
        "provinces": list(contract.pilot_provinces),
        "personal_data": bool(contract.pii_properties),
    }


def merge_registry(values: list[dict[str, Any]]) -> dict[str, Any]:
    return {"_note": GENERATED_NOTE, "datasets": sorted(values, key=lambda e: e["id"])}
