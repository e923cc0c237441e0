"""Operator decisions about offsets, recorded in the lake next to the ledger they qualify.

`gdx.ingest.offsets` stops a run when the lake, the consumer group and the broker disagree. Two
decisions let it go on, each an explicit command and each kept forever:

* `gdx ingest <id> --accept-gap`: the offsets of the gaps found *now* (exact partition and
  `[first, end)`) are accepted as never to be landed — records deleted by retention before they
  were read, a hole between ledger ranges, or the range a group ahead of the lake skipped. Later
  checks treat an accepted gap like a ledger range, so it never stops a run again; a different gap
  still does.
* `gdx ingest <id> --rewind-group`: the group committed past the lake's ledger (the lake was
  restored from a backup or re-pointed) and the records are still on the topic: the lake wins, the
  group is set back to the ledger's next offset and `[next, committed)` is read again (landing is
  idempotent by offset, so nothing lands twice). Recorded with the range it re-reads.
* `gdx ingest <id> --new-topic-generation`: the topic was deleted and recreated (its topic id
  changed). Generation k+1 starts at offset 0 of the new topic id; the earlier generations' ledger
  entries and files stay untouched, and the new batches are named `<topic>+g<k+1>+…`
  (`gdx.ingest.paths`), so nothing collides and every reader keeps seeing every batch once.

Layout: `ledger/<agency>/<dataset>/_resolutions/<UTC time>-<kind>-<id>.parquet`, one row per
accepted gap (or one row for a generation), columns `RESOLUTION_COLUMNS`. A sub-folder, so the
`ledger/*/*/*.parquet` readers of batch entries (dbt, `gdx status`) do not mistake them for batches.
Every record is on the audit chain (`gdx.audit`) twice: its file like a ledger file (`ingest.batch`,
path and SHA-256, so `gdx audit verify` notices an edit) and the decision as an
`ingest.offsets_resolved` entry (kind, ranges, who).
"""

from __future__ import annotations

import getpass
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gdx.ingest.paths import resolutions_root

if TYPE_CHECKING:
    import pyarrow as pa

    from gdx.contracts.model import Contract
    from gdx.ingest.lakefs import Lake

ACCEPT_GAP = "accept_gap"
REWIND_GROUP = "rewind_group"
NEW_TOPIC_GENERATION = "new_topic_generation"


@dataclass(frozen=True)
class Resolution:
    resolution_id: str
    kind: str
    contract_id: str
    topic: str
    generation: int
    """The topic generation the decision applies to (a new generation: the one it starts)."""
    topic_id: str | None
    partition: int | None
    first_offset: int | None
    end_offset: int | None
    """Accepted gaps are `[first_offset, end_offset)`."""
    problem: str | None
    """The `gdx.ingest.offsets` problem kind it resolves, e.g. `retention_gap`."""
    decided_by: str
    decided_at: datetime


RESOLUTION_COLUMNS = tuple(Resolution.__dataclass_fields__)


def schema() -> pa.Schema:
    import pyarrow as pa

    ints = {
        "generation": pa.int32(),
        "partition": pa.int32(),
        "first_offset": pa.int64(),
        "end_offset": pa.int64(),
    }
    return pa.schema(
        [
            pa.field(c, pa.timestamp("us", tz="UTC") if c == "decided_at" else ints.get(c, pa.string()))
            for c in RESOLUTION_COLUMNS
        ]
    )


def operator() -> str:
    """Who decided: `GDX_OPERATOR` if set (Airflow, CI), else the OS user."""
    who = os.environ.get("GDX_OPERATOR")
    if who:
        return who
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


def read(lake: Lake, contract: Contract) -> list[Resolution]:
    """Every recorded decision of the dataset, oldest first."""
    out: list[Resolution] = []
    for f in lake.list(resolutions_root(contract), recursive=False):
        name = f.path.rsplit("/", 1)[-1]
        if name.endswith(".parquet") and not name.startswith("."):
            out += [Resolution(**row) for row in lake.read_parquet(f.path).to_pylist()]
    return sorted(out, key=lambda r: (r.decided_at, r.resolution_id))


def current_generation(resolutions: list[Resolution]) -> tuple[int, str | None]:
    """(generation, its topic id): 0 and None until a new generation was started."""
    gens = [r for r in resolutions if r.kind == NEW_TOPIC_GENERATION]
    if not gens:
        return 0, None
    newest = max(gens, key=lambda r: r.generation)
    return newest.generation, newest.topic_id


def accepted_gaps(resolutions: list[Resolution], generation: int) -> dict[int, list[tuple[int, int]]]:
    """Per partition, the accepted `[first, end)` ranges of `generation`."""
    out: dict[int, list[tuple[int, int]]] = {}
    for r in resolutions:
        if r.kind == ACCEPT_GAP and r.generation == generation and r.partition is not None:
            assert r.first_offset is not None and r.end_offset is not None
            out.setdefault(r.partition, []).append((r.first_offset, r.end_offset))
    return out


def new(
    contract: Contract,
    kind: str,
    generation: int,
    *,
    topic_id: str | None,
    partition: int | None = None,
    first_offset: int | None = None,
    end_offset: int | None = None,
    problem: str | None = None,
    resolution_id: str | None = None,
) -> Resolution:
    return Resolution(
        resolution_id=resolution_id or uuid.uuid4().hex[:12], kind=kind, contract_id=contract.id,
        topic=contract.topic, generation=generation, topic_id=topic_id, partition=partition,
        first_offset=first_offset, end_offset=end_offset, problem=problem, decided_by=operator(),
        decided_at=datetime.now(UTC),
    )  # fmt: skip


def record(lake: Lake, contract: Contract, rows: list[Resolution]) -> str:
    """Durably write one decision (its rows share a resolution id) and chain it on the audit log;
    returns the file's lake path."""
    import pyarrow as pa

    from gdx.audit import AuditLog
    from gdx.audit.ledger_chain import chain_ledger_file
    from gdx.security.principals import INGEST

    if not rows:
        raise ValueError("nothing to record")
    first = rows[0]
    stamp = first.decided_at.strftime("%Y%m%dT%H%M%S%fZ")
    path = f"{resolutions_root(contract)}/{stamp}-{first.kind}-{first.resolution_id}.parquet"
    lake.write_parquet(path, pa.Table.from_pylist([asdict(r) for r in rows], schema=schema()))
    detail = {
        "kind": first.kind,
        "resolution_id": first.resolution_id,
        "generation": first.generation,
        "topic_id": first.topic_id,
        "decided_by": first.decided_by,
        "resolution_path": path,
        "ranges": [
            [r.partition, r.first_offset, r.end_offset, r.problem] for r in rows if r.partition is not None
        ][:50],
    }
    audit = AuditLog(lake)
    # the file joins the ledger's hash chain like a batch record (`gdx audit verify` checks it)…
    chain_ledger_file(audit, contract.id, path, {"kind": f"resolution.{first.kind}"})
    # …and the decision itself, who and what, is its own entry
    audit.append(
        principal=INGEST, action="ingest.offsets_resolved", outcome="ok", dataset=contract.id, detail=detail
    )
    return path
