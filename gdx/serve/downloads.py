"""What `/download/<dataset>.csv|.parquet` serves, and from where.

Who may download what is decided before any data is read (gdx/serve/access.py): everyone the
public datasets (`Contract.access_level == "public"`: a public GD-Catalog category and
classification, and no personal-data property), and a restricted dataset only the agencies its
contract grants (`Contract.may_read`), each such download on the audit log.

A download is the dataset as its contract publishes it: the contract's columns and names (the
`columns` list of the catalog entry), one row per primary key, in its current state. Staging models
rename columns for the warehouse (`pm25` → `pm25_ugm3`), so they are not the published shape; the
rows are read from the lake instead:

- Kafka datasets: the landed bronze Parquet under `GDX_LAKE_ROOT` (a local folder or `s3://…`,
  read through `gdx.ingest.lakefs.Lake` like every other reader of the lake), committed
  batches only (a file without its ledger entry may be a crash's leftover: `gdx.ingest.committed`), reduced to the
  current state exactly as dbt's `current_state()` macro does (a replayed copy counts once; the
  event first published last wins per primary key). Quarantined rows are never included.
- Reference data (dbt seeds): the seed CSV.

A lake that cannot be read (S3 unreachable, keys refused, no such bucket) raises `LakeUnavailable`:
the service answers 503, never an empty table that looks like a dataset with no rows. A reachable
lake where nothing has landed yet for the dataset is an empty table (the contract's columns).

The columns are then cut down to the contract's non-personal properties and cast to the contract's
types, so pipeline metadata (Kafka offsets, batch ids) and anything a contract marks personal never
leave the service: not even a granted agency gets the pseudonymised citizen ids (a pseudonym is
still personal data, and linking across datasets is the platform's job, in the marts).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from gdx.contracts.exporters.arrow import to_arrow_schema
from gdx.contracts.model import Contract
from gdx.ingest.paths import BatchName, bronze_root

if TYPE_CHECKING:
    import pyarrow as pa

# dbt's current_state() over a relation `bronze` with a `_pk` column (the Kafka key: primary-key
# values joined by "|"). A constant query: nothing in it comes from a request.
CURRENT_STATE_SQL = """
select * exclude (_copy_rank, _first_published_at, _first_offset)
from (
    select
        *,
        row_number() over (partition by _event_id order by _ingested_at desc, _batch_id desc) as _copy_rank,
        min(_kafka_timestamp) over (partition by _event_id) as _first_published_at,
        arg_min(_kafka_offset, _kafka_timestamp) over (partition by _event_id) as _first_offset
    from bronze
)
where _copy_rank = 1
qualify row_number() over (
    partition by _pk order by _first_published_at desc, _first_offset desc, _event_id desc
) = 1
order by _pk
"""
_STATE_COLUMNS = ("_event_id", "_ingested_at", "_batch_id", "_kafka_timestamp", "_kafka_offset")


class LakeUnavailable(RuntimeError):
    """The lake could not be read; the message names the lake and the filesystem's error."""


def public_columns(contract: Contract) -> list[str]:
    """Columns a download may contain: the contract's properties that are not personal data."""
    return [p.landed_name for p in contract.properties if not p.is_pii]


def _public_schema(contract: Contract) -> pa.Schema:
    import pyarrow as pa

    if contract.is_seed:  # reference codes such as "10" are identifiers: text, not numbers
        return pa.schema([pa.field(c, pa.string()) for c in public_columns(contract)])
    schema = to_arrow_schema(contract)
    return pa.schema([schema.field(c) for c in public_columns(contract)])


def _shape(table: pa.Table, contract: Contract) -> pa.Table:
    """Exactly the public columns, in contract order and types; missing ones are null."""
    import pyarrow as pa

    schema = _public_schema(contract)
    columns = []
    for f in schema:
        if f.name in table.column_names:
            columns.append(table.column(f.name).cast(f.type))
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=pa.schema([f.with_nullable(True) for f in schema]))


def current_state(table: pa.Table, primary_key: tuple[str, ...]) -> pa.Table:
    """One row per primary key, the latest event (dbt's current_state()); needs the lake metadata."""
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    if not primary_key or any(c not in table.column_names for c in (*primary_key, *_STATE_COLUMNS)):
        return table
    key_parts = [pc.cast(table.column(k), pa.string()) for k in primary_key]
    key = key_parts[0] if len(key_parts) == 1 else pc.binary_join_element_wise(*key_parts, "|")
    bronze = table.append_column("_pk", key)
    con = duckdb.connect()  # in-memory: the warehouse file is never opened here
    try:
        con.execute("set TimeZone = 'UTC'")
        con.register("bronze", bronze)
        return con.sql(CURRENT_STATE_SQL).to_arrow_table()
    finally:
        con.close()


def _bronze(contract: Contract, lake_root: str) -> pa.Table | None:
    import pyarrow.dataset as ds

    from gdx.ingest.committed import committed_batch_ids, is_committed
    from gdx.ingest.lakefs import Lake

    try:
        lake = Lake(lake_root)
        lake.check_readable()
        # committed batches only: a file without its ledger entry may be a crash's leftover,
        # which the next ingestion run deletes and lands again
        committed = committed_batch_ids(lake, contract)
        files = [
            lake.abs(f.path)
            for f in lake.list(bronze_root(contract))
            if "/ingest_date=" in f.path and BatchName.parse(f.path) is not None and is_committed(f.path, committed)
        ]
        if not files:
            return None
        dataset = ds.dataset(files, format="parquet", filesystem=lake.fs)
        wanted = set(public_columns(contract)) | set(contract.primary_key) | set(_STATE_COLUMNS)
        table = dataset.to_table(columns=[c for c in dataset.schema.names if c in wanted])
    except (OSError, ValueError) as exc:  # pyarrow reports S3 and local I/O failures as OSError
        raise LakeUnavailable(f"the lake {lake_root} cannot be read for {contract.id}: {exc}") from exc
    return current_state(table, contract.primary_key)


def load_public_table(contract: Contract, lake_root: str, repo_root: Path) -> pa.Table:
    """The rows a public dataset's download serves; PermissionError for any other dataset."""
    if contract.access_level != "public":
        raise PermissionError(f"{contract.id} is not public")
    return load_table(contract, lake_root, repo_root)


def load_table(contract: Contract, lake_root: str, repo_root: Path) -> pa.Table:
    """The rows a download of `contract` serves (see the module docstring). The caller has checked
    that the requester may read it."""
    import pyarrow as pa

    if contract.is_seed:
        seed = repo_root / contract.seed_path
        if seed.exists():
            import pyarrow.csv as pacsv

            names = pacsv.read_csv(seed).column_names
            options = pacsv.ConvertOptions(column_types={n: pa.string() for n in names})
            return _shape(pacsv.read_csv(seed, convert_options=options), contract)
        return _public_schema(contract).empty_table()
    bronze = _bronze(contract, lake_root)  # LakeUnavailable propagates: never an empty "success"
    return _shape(bronze, contract) if bronze is not None else _public_schema(contract).empty_table()


def _iso_timestamps(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 with the offset (`2024-03-01T13:00:00+07:00`), the exchange's wire form."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for i, column in enumerate(table.schema):
        if pa.types.is_timestamp(column.type):
            # whole seconds: the sources are hourly/daily and `%S` would otherwise print microseconds
            seconds = pc.cast(table.column(i), pa.timestamp("s", column.type.tz), safe=False)
            if column.type.tz:
                text = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S%z")
                text = pc.replace_substring_regex(text, pattern=r"([+-]\d\d)(\d\d)$", replacement=r"\1:\2")
            else:
                text = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%S")
            table = table.set_column(i, column.name, text)
    return table


def to_csv(table: pa.Table) -> bytes:
    """UTF-8 CSV with a BOM: Excel, the tool most data.go.th users open CSVs with, needs it for Thai."""
    import pyarrow.csv as pacsv

    table = _iso_timestamps(table)
    buffer = io.BytesIO()
    buffer.write("\ufeff".encode())
    pacsv.write_csv(table, buffer)
    return buffer.getvalue()


def to_parquet(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()
