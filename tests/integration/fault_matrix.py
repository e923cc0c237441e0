"""The fault matrix: each fault test records what it injected and what it measured, and the session
prints the table at its end (`pytest_terminal_summary` in tests/conftest.py), so every CI log
carries the README reliability figures of that run.

A row is counted from the lake, never from the run's own summary: `reconcile` compares what was
acknowledged by the broker with every bronze and quarantine row, by (partition, offset) and by the
content hash of the value, so a record landed twice at two offsets (a producer retry that was not
idempotent) shows as a duplicate as well as one landed twice at one offset.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gdx.settings import REPO_ROOT

MATRIX_FILE = Path(os.environ.get("GDX_FAULT_MATRIX_FILE", REPO_ROOT / ".gdx" / "fault-matrix.jsonl"))


@dataclass(frozen=True)
class Reconciled:
    published: int
    acknowledged: int
    landed: int
    quarantined: int
    lost: int
    duplicated: int
    lost_keys: tuple[tuple[int, int], ...] = ()
    duplicated_keys: tuple[tuple[int, int], ...] = ()


def _rows(lake: Any, root: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for f in lake.list(root):
        name = f.path.rsplit("/", 1)[-1]
        if name.endswith(".parquet") and not name.startswith("."):
            t = lake.read_parquet(f.path)
            rows += t.select(
                [
                    c
                    for c in ("_kafka_partition", "_kafka_offset", "_event_id", "_batch_id")
                    if c in t.column_names
                ]
            ).to_pylist()
    return rows


def reconcile(
    lake: Any,
    contract: Any,
    acknowledged: list[Any],
    published: int | None = None,
    committed_only: bool = True,
) -> Reconciled:
    """Count `acknowledged` (objects with .partition, .offset, .value) against the lake's bronze and
    quarantine rows. `lake`: a `gdx.ingest.lakefs.Lake` (local or S3) or a local path. With
    `committed_only`, files without a ledger entry are ignored, as every reader must ignore them."""
    from gdx.ingest import ledger
    from gdx.ingest.lakefs import Lake
    from gdx.ingest.paths import BatchName, bronze_root, quarantine_root

    if not isinstance(lake, Lake):
        lake = Lake(str(lake))
    committed = {n.stem for n in ledger.committed_names(lake, contract)}
    _, replays = ledger.replayed_offsets(lake, contract)

    def keep(row: dict[str, Any]) -> bool:
        if not committed_only:
            return True
        batch = row.get("_batch_id") or ""
        return batch in committed or batch in replays or (BatchName.parse(batch + ".parquet") is None)

    bronze = [
        r
        for r in _rows(lake, bronze_root(contract))
        if keep(r) and ".replay" not in (r.get("_batch_id") or "")
    ]
    quarantine = [r for r in _rows(lake, quarantine_root(contract)) if keep(r)]
    seen = Counter((r["_kafka_partition"], r["_kafka_offset"]) for r in bronze + quarantine)
    acked = {(a.partition, a.offset): a for a in acknowledged}
    lost = sorted(set(acked) - set(seen))
    dup = sorted(k for k, n in seen.items() if n > 1)
    if not contract.pii_properties:  # the same content landed under two offsets
        prefix = f"{contract.id}/v{contract.major}\n".encode()
        by_hash = Counter(
            hashlib.sha256(prefix + a.value).hexdigest() for a in acked.values() if a.value is not None
        )
        landed_hashes = Counter(r["_event_id"] for r in bronze)
        dup += sorted(
            (r["_kafka_partition"], r["_kafka_offset"]) for r in bronze
            if landed_hashes[r["_event_id"]] > by_hash.get(r["_event_id"], 1)
        )  # fmt: skip
    return Reconciled(
        published=len(acknowledged) if published is None else published,
        acknowledged=len(acknowledged),
        landed=len(bronze),
        quarantined=len(quarantine),
        lost=len(lost),
        duplicated=len(set(dup)),
        lost_keys=tuple(lost[:10]),
        duplicated_keys=tuple(sorted(set(dup))[:10]),
    )


def record(fault: str, injected: int, figures: Reconciled, proof: str = "") -> None:
    """Append one matrix row (what was injected, how often, the measured figures, and how the test
    knows the fault happened where it claims)."""
    MATRIX_FILE.parent.mkdir(parents=True, exist_ok=True)
    row = {
        "fault": fault,
        "injected": injected,
        **{k: v for k, v in asdict(figures).items() if not k.endswith("_keys")},
        "proof": proof,
    }
    with open(MATRIX_FILE, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def table(rows: list[dict[str, Any]]) -> str:
    """The matrix as a Markdown table (what the README's reliability section shows)."""
    head = "| fault | injected | published | acknowledged | landed | quarantined | lost | duplicated |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['fault']} | {r['injected']} | {r['published']} | {r['acknowledged']} | {r['landed']} "
            f"| {r['quarantined']} | {r['lost']} | {r['duplicated']} |"
        )
    return "\n".join(lines)
