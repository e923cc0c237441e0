"""What the warehouse already contains: the build watermark of `build_onedata_marts`.

A dataset needs a dbt build when its ledger changed since the last successful build. The ledger
(`ledger/<agency>/<dataset>/<batch>.parquet`, replays under `_replay/`) is the lake's commit record:
every batch that reached bronze has exactly one entry, whoever landed it (an Airflow task, `gdx
ingest` on the CLI, a replay). So the watermark is, per dataset, a fingerprint of its ledger entry
names — how many, a digest of the sorted names, and the newest — taken right before a `dbt build`
started and stored only when that build succeeded. Anything the build did not see (the DAG was
paused, an Asset event was lost, rows came from the CLI, a build failed) leaves a fingerprint that
differs from the stored one, and the next plan builds it.

Entries are only ever added, so a digest of the names changes with every new entry, also one that
lands "between" older ones (a rewound consumer group, a new topic generation) — a per-partition
high-water offset would miss those. Names only: nothing is read from the files.

The watermark lives beside the warehouse (`<warehouse dir>/build_watermark.json`), not in the
lake: it describes the DuckDB file, so a new or deleted warehouse has none and gets a full build,
and the build needs no write access to a shared (possibly S3) lake. It also records a fingerprint
of the dbt project and generated contract catalogs: after a code or contract change the
incremental selection would miss models that are not downstream of a changed source, so that
also means a full build.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdx.ingest.paths import BatchName

if TYPE_CHECKING:
    from gdx.ingest.lakefs import Lake

FILE_NAME = "build_watermark.json"
FORMAT = 1
_PROJECT_PARTS = ("models", "seeds", "macros", "tests", "snapshots")


@dataclass(frozen=True)
class LedgerMark:
    """Fingerprint of one dataset's ledger entry names."""

    entries: int
    digest: str
    newest: str

    def to_json(self) -> dict[str, Any]:
        return {"entries": self.entries, "digest": self.digest, "newest": self.newest}


def _mark(names: Iterable[str]) -> LedgerMark:
    ordered = sorted(names)
    digest = hashlib.sha256("\n".join(ordered).encode()).hexdigest()[:24]
    return LedgerMark(len(ordered), digest, ordered[-1] if ordered else "")


def _entry_name(rel: str) -> tuple[str, str] | None:
    """(`<agency>.<dataset>`, entry name) of a ledger batch or replay entry path; None otherwise
    (resolutions, temp files, anything else)."""
    parts = rel.split("/")
    if parts[0] != "ledger" or not parts[-1].endswith(".parquet") or BatchName.parse(parts[-1]) is None:
        return None
    if len(parts) == 4:
        return f"{parts[1]}.{parts[2]}", parts[3]
    if len(parts) == 5 and parts[3] == "_replay":
        return f"{parts[1]}.{parts[2]}", f"_replay/{parts[4]}"
    return None


def ledger_marks(lake: Lake, datasets: Iterable[str] | None = None) -> dict[str, LedgerMark]:
    """Fingerprint of every dataset with ledger entries (`datasets=None`: one listing of the
    whole ledger), or of only these contract ids (two listings each)."""
    names: dict[str, list[str]] = {}
    if datasets is None:
        files = lake.list("ledger", recursive=True)
    else:
        files = []
        for contract_id in datasets:
            agency, _, dataset = contract_id.partition(".")
            files += lake.list(f"ledger/{agency}/{dataset}", recursive=False)
            files += lake.list(f"ledger/{agency}/{dataset}/_replay", recursive=False)
    for f in files:
        found = _entry_name(f.path)
        if found is not None:
            names.setdefault(found[0], []).append(found[1])
    return {cid: _mark(entries) for cid, entries in names.items()}


def project_fingerprint(project_dir: Path, contracts_dir: Path | None = None) -> str:
    """Digest of the dbt project's files and the generated contract catalogs (path, size, mtime:
    stat only, cheap at thousands of files; a rewrite with equal content costs one full build)."""
    h = hashlib.sha256()
    roots = [project_dir / part for part in _PROJECT_PARTS] + [project_dir / "dbt_project.yml"]
    if contracts_dir is not None:
        roots.append(contracts_dir / "_generated")
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            st = path.stat()
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


@dataclass
class Watermark:
    """The ledger fingerprints and project fingerprint of the last successful build."""

    project: str = ""
    datasets: dict[str, LedgerMark] = field(default_factory=dict)

    def changed(self, current: Mapping[str, LedgerMark]) -> list[str]:
        """Contract ids whose ledger differs from the watermark (new entries, or ones removed)."""
        ids = set(current) | set(self.datasets)
        return sorted(cid for cid in ids if current.get(cid) != self.datasets.get(cid))

    def advanced(self, seen: Mapping[str, LedgerMark], project: str, full: bool) -> Watermark:
        """The watermark after a successful build that saw `seen` (a full build: the whole ledger)."""
        datasets = dict(seen) if full else {**self.datasets, **seen}
        return Watermark(project, datasets)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "project": self.project,
            "datasets": {cid: m.to_json() for cid, m in sorted(self.datasets.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Watermark:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown build watermark format {data.get('format')!r}")
        return cls(
            str(data.get("project", "")),
            {
                cid: LedgerMark(int(m["entries"]), str(m["digest"]), str(m["newest"]))
                for cid, m in data["datasets"].items()
            },
        )


def watermark_path(warehouse: Path) -> Path:
    return warehouse.parent / FILE_NAME


def load(warehouse: Path) -> Watermark | None:
    """The watermark of this warehouse; None when there is none yet, or no warehouse (a full build).
    An unreadable file is also None: rebuilding everything is always correct."""
    path = watermark_path(warehouse)
    if not warehouse.exists() or not path.exists():
        return None
    try:
        return Watermark.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError):
        return None


def save(warehouse: Path, watermark: Watermark) -> Path:
    """Write atomically (temp file + rename): a crash leaves the old watermark or the new one."""
    path = watermark_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(watermark.to_json(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
