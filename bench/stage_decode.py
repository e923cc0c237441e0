"""Decode + write ceiling: orjson decode + pyarrow Parquet (zstd) write of the same records.

What ingestion cannot beat on one core with these libraries: the valid wire values already in
memory (no Kafka, no validation), decoded with `orjson.loads`, turned into the bronze Arrow
schema (`to_arrow_schema(contract)`, metadata columns included), written as zstd Parquet in
batches of `BATCH` records. The planted bad records are left out (they would not decode into
the schema), so the rate is valid records per second.

A reference row shows the same work with pyarrow's own multi-threaded JSON reader instead of
orjson, i.e. how much a vectorised decoder could move the ceiling.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import stats
from bench.context import Context
from bench.model import Measurement
from gdx.ingest.config import IngestConfig

KEY_CEILING = "decode_write.orjson_pyarrow"
KEY_ARROW_JSON = "decode_write.pyarrow_json"
BATCH = IngestConfig.batch_max_records  # the ingestion engine's default batch size
TS_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def _metadata_arrays(
    contract: Any, ids: list[str], parts: list[int], offsets: list[int], topic: str, batch_id: str
) -> list[Any]:
    import pyarrow as pa

    n = len(ids)
    now = datetime.now(UTC)
    return [
        pa.array(ids, pa.string()),
        pa.array([topic] * n, pa.string()),
        pa.array(parts, pa.int32()),
        pa.array(offsets, pa.int64()),
        pa.array([now] * n, pa.timestamp("ms", tz="UTC")),
        pa.array([batch_id] * n, pa.string()),
        pa.array([contract.version] * n, pa.string()),
        pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    ]


def orjson_batch(contract: Any, schema: Any, values: list[bytes]) -> list[Any]:
    """Property columns of one batch: orjson per record, then one Arrow array per column."""
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc

    loads = orjson.loads
    dicts = [loads(v) for v in values]
    arrays = []
    for prop in contract.properties:
        name = prop.name
        column = [d.get(name) for d in dicts]
        typ = schema.field(prop.landed_name).type
        if pa.types.is_timestamp(typ):
            arrays.append(pc.strptime(pa.array(column, pa.string()), format=TS_FORMAT, unit="us").cast(typ))
        else:
            arrays.append(pa.array(column, typ))
    return arrays


def arrow_json_batch(contract: Any, schema: Any, values: list[bytes]) -> list[Any]:
    """Property columns of one batch with pyarrow.json (C++, multi-threaded) instead of orjson."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    read_schema = pa.schema(
        [
            pa.field(
                p.name,
                pa.string()
                if pa.types.is_timestamp(schema.field(p.landed_name).type)
                else schema.field(p.landed_name).type,
            )
            for p in contract.properties
        ]
    )
    table = pj.read_json(
        io.BytesIO(b"\n".join(values)), parse_options=pj.ParseOptions(explicit_schema=read_schema)
    )
    arrays = []
    for prop in contract.properties:
        typ = schema.field(prop.landed_name).type
        col = table.column(prop.name).combine_chunks()
        if pa.types.is_timestamp(typ):
            col = pc.strptime(col, format=TS_FORMAT, unit="us").cast(typ)
        arrays.append(col)
    return arrays


def decode_write(ctx: Context, out_dir: Path, decoder: Any, indices: list[int]) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gdx.contracts.exporters import to_arrow_schema

    contract = ctx.contract
    schema = to_arrow_schema(contract)
    ds = ctx.wire
    positions = ds.positions or [(0, i) for i in range(ds.n)]
    topic = ds.topic or contract.topic
    values, ids = ds.values, ds.event_ids
    written = 0
    started = time.perf_counter()
    for b, start in enumerate(range(0, len(indices), BATCH)):
        idx = indices[start : start + BATCH]
        batch_values = [values[i] for i in idx]
        arrays = decoder(contract, schema, batch_values)
        arrays += _metadata_arrays(
            contract,
            [ids[i] for i in idx],
            [positions[i][0] for i in idx],
            [positions[i][1] for i in idx],
            topic,
            f"bench-{b}",
        )
        table = pa.Table.from_arrays(arrays, schema=schema)
        pq.write_table(table, out_dir / f"batch-{b:05d}.parquet", compression="zstd")
        written += table.num_rows
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in out_dir.glob("*.parquet"))
    return {
        "seconds": seconds,
        "records": written,
        "parquet_bytes": size,
        "rate": stats.rate(written, seconds),
    }


def run(ctx: Context) -> None:
    import shutil

    run = ctx.run
    ceiling = run.add(
        Measurement(
            KEY_CEILING,
            "decode_write",
            "orjson decode + pyarrow Parquet zstd (ceiling)",
            stats.RATE,
            "reference",
        )
    )
    arrow = run.add(
        Measurement(
            KEY_ARROW_JSON,
            "decode_write",
            "pyarrow.json decode + Parquet zstd",
            stats.RATE,
            "reference",
            compare=[KEY_CEILING],
        )
    )
    indices = ctx.wire.valid_indices()
    ceiling.details.update(
        {"records": len(indices), "batch": BATCH, "note": "valid records only, values already in memory"}
    )
    arrow.details.update({"records": len(indices), "batch": BATCH})
    # one untimed warm-up batch: imports, allocator, page cache
    warm = ctx.subdir("decode_write", "warmup")
    decode_write(ctx, warm, orjson_batch, indices[:BATCH])
    shutil.rmtree(warm, ignore_errors=True)
    for rep in range(ctx.options.repeats):
        ctx.log(f"decode+write repeat {rep + 1}/{ctx.options.repeats} …")
        for m, decoder in ((ceiling, orjson_batch), (arrow, arrow_json_batch)):
            out = ctx.subdir("decode_write", f"{m.key}-{rep}")
            r = decode_write(ctx, out, decoder, indices)
            m.samples.append(r["rate"])
            m.repeats.append(r)
            shutil.rmtree(out, ignore_errors=True)
