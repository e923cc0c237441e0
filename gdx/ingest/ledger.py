"""The ledger: one Parquet file per committed batch, the batch's commit record.

`ledger/<agency>/<dataset>/<topic>+<partition>+<first>-<last>.parquet` (docs/conventions.md). It
is written after the batch's bronze and quarantine files are durable and before the Kafka offsets
are committed; its existence is what makes those files part of the lake. Recovery reads only the
file names (and the newest entry's `topic_id` per partition); `gdx status` reads the rows.

`topic_id` is Kafka's topic UUID (base64, as `kafka-topics --describe` prints it) at the time the
batch was consumed: `gdx.ingest.offsets` compares it with the topic's current id, so a topic deleted
and recreated under the same name is noticed. Files written before the column existed have no
`topic_id`; they read as `None` ("unknown"), which is never a mismatch (nothing to compare).

Replays of quarantined rows keep a per-row replay ledger under `ledger/<agency>/<dataset>/_replay/`
(see `gdx.ingest.replay`).

Every ledger file joins the audit hash chain (`gdx.audit.ledger_chain`): right after it is durable,
an `ingest.batch` entry records its path and SHA-256, so a removed or edited batch record shows in
`gdx audit verify`. The file stays the commit point; a crash before its entry (fault point
`before_ledger_audit`) is repaired by the next run's recovery, which chains it late.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gdx.ingest.faults import fault
from gdx.ingest.paths import BatchName, ledger_path, ledger_root, replay_ledger_root

if TYPE_CHECKING:
    import pyarrow as pa

    from gdx.contracts.model import Contract
    from gdx.ingest.lakefs import Lake

COLUMNS = (
    "batch_id", "contract_id", "contract_version", "agency", "dataset", "topic", "partition",
    "first_offset", "last_offset", "rows_in", "rows_landed", "rows_quarantined", "gx_success",
    "gx_evaluated_expectations", "gx_successful_expectations", "started_at", "finished_at",
    "duration_s", "bronze_path", "quarantine_path",
    "rows_disputed",  # of rows_quarantined: GX and the cross-check disagreed (absent in older files: 0)
    "topic_id",
)  # fmt: skip


def schema() -> pa.Schema:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    types = {
        "partition": pa.int32(),
        "first_offset": pa.int64(),
        "last_offset": pa.int64(),
        "rows_in": pa.int64(),
        "rows_landed": pa.int64(),
        "rows_quarantined": pa.int64(),
        "gx_success": pa.bool_(),
        "gx_evaluated_expectations": pa.int64(),
        "gx_successful_expectations": pa.int64(),
        "started_at": ts,
        "finished_at": ts,
        "duration_s": pa.float64(),
        "rows_disputed": pa.int64(),
    }
    return pa.schema([pa.field(name, types.get(name, pa.string())) for name in COLUMNS])


@dataclass(frozen=True)
class LedgerEntry:
    batch_id: str
    contract_id: str
    contract_version: str
    agency: str
    dataset: str
    topic: str
    partition: int
    first_offset: int
    last_offset: int
    rows_in: int
    rows_landed: int
    rows_quarantined: int
    gx_success: bool
    gx_evaluated_expectations: int
    gx_successful_expectations: int
    started_at: datetime
    finished_at: datetime
    duration_s: float
    bronze_path: str | None
    quarantine_path: str | None
    rows_disputed: int = 0
    topic_id: str | None = None
    """Kafka's topic id when the batch was consumed (None: unknown)."""

    def __post_init__(self) -> None:
        if self.rows_in != self.rows_landed + self.rows_quarantined:
            raise ValueError(f"{self.batch_id}: rows_in {self.rows_in} != landed + quarantined")


def write(lake: Lake, contract: Contract, name: BatchName, entry: LedgerEntry) -> str:
    import pyarrow as pa

    path = ledger_path(contract, name)
    row = asdict(entry)
    lake.write_parquet(path, pa.Table.from_pylist([row], schema=schema()), exclusive=True)  # the commit point
    fault("before_ledger_audit")
    chain(lake, contract, path, row)
    return path


def chain(lake: Lake, contract: Contract, path: str, facts: dict[str, Any]) -> None:
    """Put the (durable) ledger file at `path` on the audit chain."""
    from gdx.audit import AuditLog
    from gdx.audit.ledger_chain import chain_ledger_file

    chain_ledger_file(AuditLog(lake), contract.id, path, facts)


def committed_names(lake: Lake, contract: Contract) -> list[BatchName]:
    """Batches with a ledger entry (every generation), from the file names only (cheap, and what
    recovery trusts)."""
    names = []
    for f in lake.list(ledger_root(contract), recursive=False):
        name = BatchName.parse(f.path)
        if name is not None and not name.suffix and name.topic == contract.topic:
            names.append(name)
    return sorted(names)


def topic_id_of(lake: Lake, contract: Contract, name: BatchName) -> str | None:
    """The `topic_id` of one ledger entry; None for files written before the column existed."""
    table = lake.read_parquet(ledger_path(contract, name))
    if "topic_id" not in table.column_names or not table.num_rows:
        return None
    value = table.column("topic_id")[0].as_py()
    return value or None


def read_all(lake: Lake, contract: Contract) -> list[dict[str, Any]]:
    """Every ledger row of the dataset (all majors), oldest batch first."""
    rows: list[dict[str, Any]] = []
    for f in lake.list(ledger_root(contract), recursive=False):
        if f.path.endswith(".parquet") and BatchName.parse(f.path):
            rows += lake.read_parquet(f.path).to_pylist()
    return sorted(rows, key=lambda r: (r["topic"], r["partition"], r["first_offset"]))


# -- replay ledger ---------------------------------------------------------------------------------
def replay_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("replay_batch_id", pa.string()),
            ("quarantine_batch_id", pa.string()),
            ("_kafka_topic", pa.string()),
            ("_kafka_partition", pa.int32()),
            ("_kafka_offset", pa.int64()),
            ("contract_version", pa.string()),
            ("replayed_at", pa.timestamp("us", tz="UTC")),
            ("bronze_path", pa.string()),
        ]
    )


def replayed_offsets(lake: Lake, contract: Contract) -> tuple[set[tuple[str, int, int, int]], set[str]]:
    """(topic, partition, offset, topic generation) of every quarantined row already landed by a
    replay, and the replay batch ids that have a ledger entry. The generation (of the replay
    file's name) keeps a recreated topic's offsets apart from the earlier topic's."""
    done: set[tuple[str, int, int, int]] = set()
    batches: set[str] = set()
    for f in lake.list(replay_ledger_root(contract), recursive=False):
        if not f.path.endswith(".parquet"):
            continue
        t = lake.read_parquet(f.path)
        parsed = BatchName.parse(f.path)
        generation = parsed.generation if parsed else 0
        batches.add(f.path.rsplit("/", 1)[-1].removesuffix(".parquet"))
        done.update(
            (topic, p, o, generation)
            for topic, p, o in zip(t["_kafka_topic"].to_pylist(), t["_kafka_partition"].to_pylist(), t["_kafka_offset"].to_pylist(), strict=True)
        )
    return done, batches
