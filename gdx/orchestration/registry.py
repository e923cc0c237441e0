"""Read `dags/gdx_datasets.json` (generated from the contracts): the orchestration's view of every
Kafka-bound dataset, cheap enough to load on every DAG-parsing loop."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gdx.settings import REPO_ROOT

DEFAULT_PATH = REPO_ROOT / "dags" / "gdx_datasets.json"


def bronze_asset_uri(agency: str, dataset: str) -> str:
    """The Asset a dataset's landings emit (ingest tasks, `gdx ingest` via the REST API) and the dbt
    DAG is scheduled on."""
    return f"gdx://bronze/{agency}/{dataset}"


@dataclass(frozen=True)
class DatasetEntry:
    id: str
    agency: str
    dataset: str
    version: str
    major: int
    topic: str
    dlq_topic: str
    pool: str
    title_th: str
    title_en: str
    provinces: tuple[str, ...]
    personal_data: bool

    @property
    def slug(self) -> str:
        return f"{self.agency}__{self.dataset}"

    @property
    def bronze_uri(self) -> str:
        return bronze_asset_uri(self.agency, self.dataset)


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> tuple[DatasetEntry, ...]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return tuple(
        DatasetEntry(**{**entry, "provinces": tuple(entry.get("provinces") or ())})
        for entry in raw["datasets"]
    )


def registry_path(beside: Path | None = None) -> Path:
    """`GDX_REGISTRY_PATH` when set (workers whose contracts folder is not the DAG bundle's, e.g. a
    test world with its own topics), else `beside` (the registry next to the DAG files), else the
    checkout's `dags/gdx_datasets.json`."""
    override = os.environ.get("GDX_REGISTRY_PATH", "").strip()
    if override:
        return Path(override).expanduser()
    return beside if beside is not None else DEFAULT_PATH


def load_registry(path: Path | str | None = None) -> tuple[DatasetEntry, ...]:
    """Every dataset, sorted by contract id (`path` default: `registry_path()`). Raises
    FileNotFoundError with the fix when missing."""
    target = Path(path) if path is not None else registry_path()
    try:
        mtime = target.stat().st_mtime_ns
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{target} is missing: run `gdx contracts generate`") from exc
    return _load(str(target), mtime)


def by_agency(entries: tuple[DatasetEntry, ...]) -> dict[str, list[DatasetEntry]]:
    grouped: dict[str, list[DatasetEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.agency, []).append(entry)
    return grouped
