"""`gdx status`: per dataset — consumer lag, last landed batch, rows landed/quarantined, share
valid and freshness against the contract's SLA.

Everything comes from the lake (ledger, replay ledger, bronze Parquet statistics) except the lag,
which asks the broker (committed offsets of `gdx.ingest.<id>` vs high watermarks) and is left
empty when the broker does not answer. Freshness is the age of the newest value of the SLA's
`element` column (e.g. `measured_at`), read from Parquet row-group statistics, not from the data.

A dataset *needs attention* while it has outstanding disputed rows: rows quarantined as
`gate.disagreement` (GX and the independent cross-check disagreed, ledger column `rows_disputed`)
that are neither landed by a replay (`gdx replay --from-quarantine`, once the gate is fixed) nor
acknowledged by an operator (`gdx status CONTRACT --ack-disputes`, which records the batch ids in
`ledger/<agency>/<dataset>/_attention/acknowledged.json`). `gdx status` then exits 4.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gdx.ingest import ledger
from gdx.ingest.paths import BatchName, bronze_root, ledger_root

if TYPE_CHECKING:
    from gdx.contracts.model import Contract
    from gdx.ingest.lakefs import Lake
    from gdx.security.kafka_conn import KafkaConnection


@dataclass
class DatasetStatus:
    contract_id: str
    topic: str
    batches: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    rows_replayed: int = 0
    last_batch_id: str | None = None
    last_landed_at: datetime | None = None
    newest_value: datetime | None = None
    freshness_sla: timedelta | None = None
    lag: int | None = None
    rows_disputed: int = 0
    """Rows ever quarantined as gate.disagreement (ledger `rows_disputed`; 0 for older files)."""
    disputed_outstanding: int = 0
    """... of which neither replayed nor acknowledged: the dataset needs attention."""
    disputed_batches: list[str] = field(default_factory=list)
    """Batch ids with outstanding disputed rows."""

    @property
    def needs_attention(self) -> bool:
        return self.disputed_outstanding > 0

    @property
    def share_valid(self) -> float | None:
        total = self.rows_landed + self.rows_quarantined
        return None if total == 0 else self.rows_landed / total

    def age(self, now: datetime) -> timedelta | None:
        ref = self.newest_value or self.last_landed_at
        return None if ref is None else now - ref

    def fresh(self, now: datetime) -> bool | None:
        age = self.age(now)
        if age is None or self.freshness_sla is None:
            return None
        return age <= self.freshness_sla


def _element_column(contract: Contract) -> str | None:
    for sla in contract.sla:
        if sla.property == "freshness" and sla.element:
            column = sla.element.rsplit(".", 1)[-1]
            try:
                prop = contract.prop(column)
            except KeyError:
                return None
            return None if prop.is_pii else prop.landed_name
    return None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        # a date is fresh until its end (Bangkok): treat it as the following midnight
        from gdx.ingest.paths import BANGKOK

        return datetime(value.year, value.month, value.day, tzinfo=BANGKOK) + timedelta(days=1)
    return None


def newest_value(lake: Lake, contract: Contract, column: str) -> datetime | None:
    """Max of `column` over the bronze files, from Parquet statistics."""
    import pyarrow.parquet as pq

    best: datetime | None = None
    for f in lake.list(bronze_root(contract)):
        if BatchName.parse(f.path) is None:
            continue
        meta = pq.ParquetFile(lake.abs(f.path), filesystem=lake.fs).metadata
        names = meta.schema.names
        if column not in names:
            continue
        idx = names.index(column)
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(idx).statistics
            if stats is None or not stats.has_min_max:
                continue
            value = _as_datetime(stats.max)
            if value is not None and (best is None or value > best):
                best = value
    return best


def consumer_lag(connection: KafkaConnection, contract: Contract, timeout_s: float = 5.0) -> int | None:
    """Records on the topic not yet committed by the ingestion group; None if the broker is away."""
    from gdx.ingest.consumer import BatchConsumer, group_id

    try:
        consumer = BatchConsumer(connection, contract.topic, group_id(contract.id))
    except Exception:
        return None
    try:
        parts = consumer.partitions(timeout_s)
        committed = consumer.committed(parts, timeout_s)
        lag = 0
        for p in parts:
            low, high = consumer.watermarks(p, timeout_s)
            lag += max(0, high - (committed.get(p) if committed.get(p) is not None else low))
        return lag
    except Exception:
        return None
    finally:
        consumer.close()


def dataset_status(
    lake: Lake, contract: Contract, connection: KafkaConnection | None = None
) -> DatasetStatus:
    status = DatasetStatus(contract.id, contract.topic, freshness_sla=contract.freshness)
    rows = ledger.read_all(lake, contract)
    for r in rows:
        status.batches += 1
        status.rows_landed += r["rows_landed"]
        status.rows_quarantined += r["rows_quarantined"]
        finished = r["finished_at"]
        if r["rows_landed"] and (status.last_landed_at is None or finished > status.last_landed_at):
            status.last_landed_at, status.last_batch_id = finished, r["batch_id"]
    done, _ = ledger.replayed_offsets(lake, contract)
    status.rows_disputed = sum(r.get("rows_disputed") or 0 for r in rows)
    if status.rows_disputed:
        outstanding = outstanding_disputes(lake, contract, rows, done)
        status.disputed_outstanding = sum(outstanding.values())
        status.disputed_batches = sorted(outstanding)
    status.rows_replayed = len(done)
    status.rows_landed += len(done)
    status.rows_quarantined -= len(done)
    column = _element_column(contract)
    if column:
        status.newest_value = newest_value(lake, contract, column)
    if connection is not None:
        status.lag = consumer_lag(connection, contract)
    return status


# -- disputed rows (gate.disagreement) -----------------------------------------------------------
def acknowledged_path(contract: Contract) -> str:
    return f"{ledger_root(contract)}/_attention/acknowledged.json"


def acknowledged(lake: Lake, contract: Contract) -> set[str]:
    """Batch ids whose disputed rows an operator acknowledged (`gdx status --ack-disputes`)."""
    if not lake.exists(acknowledged_path(contract)):
        return set()
    with lake.fs.open_input_stream(lake.abs(acknowledged_path(contract))) as fh:
        return set(json.loads(fh.read().decode("utf-8"))["batch_ids"])


def outstanding_disputes(
    lake: Lake, contract: Contract, rows: list[dict[str, Any]], replayed: set[tuple[str, int, int, int]]
) -> dict[str, int]:
    """Per batch id: disputed rows not landed by a replay and not acknowledged. Reads only the
    quarantine files of batches whose ledger entry counts disputed rows."""
    from gdx.ingest.gate import DISAGREEMENT
    from gdx.ingest.paths import BatchName

    acked = acknowledged(lake, contract)
    out: dict[str, int] = {}
    for r in rows:
        if not r.get("rows_disputed") or r["batch_id"] in acked or not r.get("quarantine_path"):
            continue
        name = BatchName.parse(r["batch_id"] + ".parquet")
        generation = name.generation if name else 0  # replayed keys carry the topic generation
        q = lake.read_parquet(r["quarantine_path"]).select(
            ["_kafka_topic", "_kafka_partition", "_kafka_offset", "rule_id"]
        )
        n = sum(
            1 for t, p, o, rule in zip(*(q.column(c).to_pylist() for c in q.column_names), strict=True)
            if rule == DISAGREEMENT and (t, p, o, generation) not in replayed
        )  # fmt: skip
        if n:
            out[r["batch_id"]] = n
    return out


def acknowledge_disputes(lake: Lake, contract: Contract) -> list[str]:
    """Record the batches with outstanding disputed rows as acknowledged (their rows stay in
    quarantine); returns the batch ids newly acknowledged."""
    from gdx.ingest.lakefs import fsync_dir

    rows = ledger.read_all(lake, contract)
    done, _ = ledger.replayed_offsets(lake, contract)
    new = sorted(outstanding_disputes(lake, contract, rows, done))
    if not new:
        return []
    ids = sorted(acknowledged(lake, contract) | set(new))
    payload = json.dumps({"batch_ids": ids}, indent=1).encode()
    target = lake.abs(acknowledged_path(contract))
    lake.fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
    if lake.local:  # atomic: the old list or the new one, never half
        import os

        tmp = f"{target}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(target.rsplit("/", 1)[0])
    else:  # an S3 object appears whole when its upload completes
        with lake.fs.open_output_stream(target) as out:
            out.write(payload)
    return new
