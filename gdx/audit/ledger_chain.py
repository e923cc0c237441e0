"""The landing ledger on the audit chain: one `ingest.batch` entry per ledger file.

Every ledger file ingestion writes (`gdx.ingest.ledger.write`, and replay ledgers in
`gdx.ingest.replay`) is followed by an audit entry by `gdx-ingest` naming the dataset (contract
id), the batch, its offsets and row counts, the file's lake path and the SHA-256 of its bytes.
`verify()` then checks every ledger file in the lake: its bytes match its entry, and no file is
missing from or unknown to the chain, so a removed or edited batch record is evident.

The ledger file is the batch's commit point and the audit entry comes after it, so a crash in
between (fault point `before_ledger_audit`) leaves a committed batch with no entry. The batch must
stay committed (exactly-once landing is decided by the ledger alone), so the next run's recovery
chains it instead, with `"recovered": true` in the detail: the record says the entry was written
late, and by which mechanism. A run writes its ledger files one at a time per partition, so only
the newest ledger file of each partition (and the newest replay ledger) can be in that window;
recovery checks just those, scanning the log backwards from the head until it finds them.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from gdx.audit.log import AuditEntry, AuditLog, Problem

if TYPE_CHECKING:
    from gdx.contracts.model import Contract
    from gdx.ingest.lakefs import Lake

ACTION = "ingest.batch"
PRINCIPAL = "gdx-ingest"
LEDGER_ROOT = "ledger"
_COPIED = (
    "batch_id",
    "topic",
    "partition",
    "first_offset",
    "last_offset",
    "rows_in",
    "rows_landed",
    "rows_quarantined",
)


def file_sha256(lake: Lake, rel: str) -> str:
    with lake.fs.open_input_stream(lake.abs(rel)) as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def chain_ledger_file(
    log: AuditLog, contract_id: str, path: str, facts: dict[str, Any], *, recovered: bool = False
) -> AuditEntry:
    """Append the `ingest.batch` entry of the ledger file at `path` (already durable)."""
    detail: dict[str, Any] = {k: facts[k] for k in _COPIED if k in facts}
    detail.update(
        {k: v for k, v in facts.items() if k not in _COPIED and k in ("kind", "rows", "replay_batch_id")}
    )
    detail["ledger_path"] = path
    detail["ledger_sha256"] = file_sha256(log.lake, path)
    if recovered:
        detail["recovered"] = True
        detail["note"] = (
            "chained by recovery: the run that committed this batch stopped before its audit entry"
        )
    return log.append(principal=PRINCIPAL, action=ACTION, outcome="ok", dataset=contract_id, detail=detail)


def is_ledger_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".parquet") and not name.startswith(".")


def ledger_files(lake: Lake) -> list[str]:
    """Every ledger file of every dataset (batch and replay ledgers), temp files excluded."""
    return [f.path for f in lake.list(LEDGER_ROOT, recursive=True) if is_ledger_file(f.path)]


def chained(entries: list[AuditEntry]) -> dict[str, AuditEntry]:
    """Ledger path → its newest `ingest.batch` entry."""
    out: dict[str, AuditEntry] = {}
    for e in entries:
        if e.action == ACTION and isinstance(e.detail.get("ledger_path"), str):
            out[e.detail["ledger_path"]] = e
    return out


def check_ledger_files(lake: Lake, entries: list[AuditEntry]) -> tuple[Problem | None, int]:
    """The first ledger file that is off the chain, edited or missing; and how many were checked."""
    on_chain = chained(entries)
    files = ledger_files(lake)
    present = set(files)
    for path in files:
        entry = on_chain.get(path)
        if entry is None:
            return Problem("ledger_unchained", f"ledger file {path} is not on the chain", path=path), len(
                files
            )
        if file_sha256(lake, path) != entry.detail.get("ledger_sha256"):
            return Problem(
                "ledger_edited", f"ledger file {path} was edited: its SHA-256 differs from audit entry {entry.seq}",
                seq=entry.seq, path=path,
            ), len(files)  # fmt: skip
    for path, entry in sorted(on_chain.items(), key=lambda kv: kv[1].seq):
        if path not in present:
            return Problem(
                "ledger_missing", f"ledger file {path} is missing (audit entry {entry.seq} records it)",
                seq=entry.seq, path=path,
            ), len(files)  # fmt: skip
    return None, len(files)


def candidates(lake: Lake, contract: Contract) -> list[str]:
    """The ledger files of `contract` a crash could have left unchained: the newest per partition
    and the newest replay ledger of each quarantine batch."""
    from gdx.ingest import ledger
    from gdx.ingest.paths import ledger_path, replay_ledger_root

    newest: dict[int, Any] = {}
    for name in ledger.committed_names(lake, contract):
        key = (name.generation, name.last)  # a recreated topic's generation restarts at offset 0
        if name.partition not in newest or key > (newest[name.partition].generation, newest[name.partition].last):
            newest[name.partition] = name
    out = [ledger_path(contract, n) for n in newest.values()]
    replays: dict[str, str] = {}
    for f in lake.list(replay_ledger_root(contract), recursive=False):
        if is_ledger_file(f.path):
            stem, _, k = f.path.rsplit("/", 1)[-1].removesuffix(".parquet").rpartition(".replay")
            if stem and k.isdigit() and (stem not in replays or _replay_k(replays[stem]) < int(k)):
                replays[stem] = f.path
    return out + sorted(replays.values())


def _replay_k(path: str) -> int:
    return int(path.removesuffix(".parquet").rpartition(".replay")[2])


def unchained(log: AuditLog, lake: Lake, contract: Contract) -> list[str]:
    """Those of `candidates` with no `ingest.batch` entry. Scans the log back from its newest entry
    and stops as soon as every candidate is found (so it reads the entries appended since the
    dataset's last batch), or once entries are older than the oldest candidate's ledger file
    (its entry comes after the file, so none can be further back; the margin covers clock skew
    between the hosts that write the lake)."""
    from datetime import timedelta

    wanted = set(candidates(lake, contract))
    if not wanted:
        return []
    written = [_written_at(lake, path) for path in wanted]
    horizon = min(written) - timedelta(hours=1) if all(written) else None
    for entry in log.iter_back():
        if not wanted or (horizon is not None and entry.when < horizon):
            break
        if entry.action == ACTION and entry.dataset == contract.id:
            wanted.discard(entry.detail.get("ledger_path"))
    return sorted(wanted)


def _written_at(lake: Lake, path: str) -> Any:
    """When the ledger file's batch finished (replays: when replayed), or None if unreadable."""
    import pyarrow.parquet as pq

    column = "replayed_at" if "/_replay/" in path else "finished_at"
    try:
        values = (
            pq.read_table(lake.abs(path), filesystem=lake.fs, columns=[column]).column(column).to_pylist()
        )
    except Exception:  # a damaged ledger file: no bound, verify() will name it
        return None
    return min(values) if values and None not in values else None


def ledger_facts(lake: Lake, path: str) -> dict[str, Any]:
    """What an `ingest.batch` entry records about the ledger file at `path`, read from the file."""
    import pyarrow.parquet as pq

    rows = pq.read_table(lake.abs(path), filesystem=lake.fs).to_pylist()
    if "/_replay/" in path:
        first = rows[0] if rows else {}
        return {
            "kind": "replay", "replay_batch_id": first.get("replay_batch_id"),
            "batch_id": first.get("quarantine_batch_id"), "rows": len(rows),
        }  # fmt: skip
    return dict(rows[0]) if len(rows) == 1 else {"rows": len(rows)}
