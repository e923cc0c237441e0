"""Landed air-quality bronze Parquet at any size, fast: DuckDB writes it, vectorised and in parallel.

For the dbt stage (1M and 10M landed rows) the lake is generated directly instead of going through
Kafka: the files follow the lake layout of docs/conventions.md (bronze partitioned by
`ingest_date`, named `<topic>+<partition>+<first>-<last>.parquet`, zstd, the bronze columns and
metadata columns, plus one ledger row per file), so dbt reads them exactly as landed files.

The files carry the topic `<live topic>-history` (a backfill): ingestion recovery reads ledger
names of the live topic only, so a lake holding these files and real landed batches stays sound.

Shape: 240 synthetic stations (ids `100t`…`339t`) spread over the 77 provinces, hourly readings
from 2024-01-01 (Asia/Bangkok); 10M rows ≈ 4.75 years per station. PM2.5 follows a seasonal
curve with noise (some station-days above the 37.5 µg/m³ standard), ~1.5 % of readings null,
and every 60th station-hour slot missing (row i fills slot i + i // 59), so the row count is exact
and some station-days have fewer hours.
Values are deterministic functions of the row number (DuckDB `hash`), so a size always gives the
same lake.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATIONS = 240
ROWS_PER_FILE = 1_000_000


def history_topic(contract: Any) -> str:
    """Topic name of the generated files: not the live topic, so the ingestion engine's recovery
    (which trusts ledger file names of the live topic) never mistakes them for its own batches."""
    return f"{contract.topic}-history"


def _provinces() -> list[tuple[str, str]]:
    from gdx.thai.provinces import all_provinces

    out = []
    for p in all_provinces():
        out.append((p.iso_3166_2, getattr(p, "name_th", None) or p.iso_3166_2))
    return sorted(out)


def _ledger_schema() -> Any:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    ints = {
        "first_offset",
        "last_offset",
        "rows_in",
        "rows_landed",
        "rows_quarantined",
        "gx_evaluated_expectations",
        "gx_successful_expectations",
    }
    fields = []
    for name in (
        "batch_id", "contract_id", "contract_version", "agency", "dataset", "topic", "partition", "first_offset",
        "last_offset", "rows_in", "rows_landed", "rows_quarantined", "gx_success", "gx_evaluated_expectations",
        "gx_successful_expectations", "started_at", "finished_at", "duration_s", "bronze_path", "quarantine_path",
    ):  # fmt: skip
        if name == "partition":
            typ = pa.int32()
        elif name in ints:
            typ = pa.int64()
        elif name == "gx_success":
            typ = pa.bool_()
        elif name in ("started_at", "finished_at"):
            typ = ts
        elif name == "duration_s":
            typ = pa.float64()
        else:
            typ = pa.string()
        fields.append(pa.field(name, typ))
    return pa.schema(fields)


def write_bronze(lake_root: Path, rows: int, contract: Any, threads: int | None = None) -> dict[str, Any]:
    """Write `rows` landed air-quality rows (and ledger rows) under `lake_root`; returns stats."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    provinces = _provinces()
    topic = history_topic(contract)
    version_dir = f"{contract.agency}/{contract.dataset}/v{contract.major}"
    con = duckdb.connect()
    if threads:
        con.execute(f"set threads = {int(threads)}")
    con.execute("set TimeZone = 'UTC'")
    station_rows = [
        (
            s,
            f"{100 + s}t",
            f"สถานีตรวจวัดคุณภาพอากาศที่ {s + 1}",
            provinces[s % len(provinces)][0],
            provinces[s % len(provinces)][1],
        )
        for s in range(STATIONS)
    ]
    con.execute(
        "create table stations (s integer, station_id varchar, station_name_th varchar, province_code varchar, province_raw varchar)"
    )
    con.executemany("insert into stations values (?, ?, ?, ?, ?)", station_rows)
    files = []
    ledger_rows = []
    kafka_ts = datetime(2025, 1, 1, tzinfo=UTC)
    for first in range(0, rows, ROWS_PER_FILE):
        last = min(rows, first + ROWS_PER_FILE) - 1
        partition = 0
        stem = f"{topic}+{partition}+{first}-{last}"
        ingest_date = "2025-01-01"
        out = lake_root / "bronze" / version_dir / f"ingest_date={ingest_date}" / f"{stem}.parquet"
        out.parent.mkdir(parents=True, exist_ok=True)
        # as the engine: the batch id is the ledger file's stem (readers keep rows whose _batch_id
        # names a ledger file, dbt_project/macros/lake_source.sql)
        batch_id = stem
        # row i → station i % STATIONS, hour i // STATIONS; u1..u3: deterministic uniforms in [0, 1)
        query = f"""
            copy (
                with r as (
                    select i, j % {STATIONS} as s, j // {STATIONS} as h,
                           (hash(i * 3 + 1) % 1000003) / 1000003.0 as u1,
                           (hash(i * 3 + 2) % 1000003) / 1000003.0 as u2,
                           (hash(i * 3 + 3) % 1000003) / 1000003.0 as u3
                    from (select i, i + i // 59 as j from range({first}, {last + 1}) t(i))
                ), v as (
                    select r.*, st.station_id, st.station_name_th, st.province_code, st.province_raw,
                           timestamptz '2024-01-01 00:00:00+07' + to_hours(h) as measured_at,
                           extract(month from timestamptz '2024-01-01 00:00:00+07' + to_hours(h)) as m,
                           (h % 24) as hod
                    from r join stations st using (s)
                ), p as (
                    select *, round((8 + 35 * pow((1 + cos((m - 3) * pi() / 6)) / 2, 2)) * (0.75 + 0.5 * u1)
                                    * (1 + 0.2 * cos((hod - 7) * pi() / 12)), 1) as pm
                    from v
                )
                select
                    station_id, station_name_th, province_code, province_raw, measured_at,
                    case when u2 < 0.015 then null else pm end as pm25,
                    case when u2 < 0.015 then null else round(pm * (1.3 + 0.6 * u3), 1) end as pm10,
                    round(12 + 30 * greatest(sin((hod - 8) * pi() / 12), 0) * (0.6 + 0.8 * u3), 1) as o3,
                    case when s % 3 = 0 then null else round(0.25 + pm / 160, 2) end as co,
                    round(4 + 20 * u3, 1) as no2,
                    case when s % 2 = 0 then null else round(2 * u1, 1) end as so2,
                    case when u2 < 0.015 then null else cast(least(500, round(pm * 2.2)) as bigint) end as aqi,
                    sha256(cast(i as varchar)) as _event_id,
                    '{topic}' as _kafka_topic,
                    cast({partition} as integer) as _kafka_partition,
                    cast(i as bigint) as _kafka_offset,
                    timestamptz '{kafka_ts.isoformat()}' as _kafka_timestamp,
                    '{batch_id}' as _batch_id,
                    '{contract.version}' as _contract_version,
                    timestamptz '{kafka_ts.isoformat()}' + interval 5 minute as _ingested_at
                from p
            ) to '{out.as_posix()}' (format parquet, compression zstd)
        """  # noqa: S608 - every interpolated value is ours (numbers, the contract's topic)
        con.execute(query)
        landed = con.execute(f"select count(*) from read_parquet('{out.as_posix()}')").fetchone()[0]  # noqa: S608
        files.append(out)
        ledger_rows.append(
            {
                "batch_id": batch_id, "contract_id": contract.id, "contract_version": contract.version,
                "agency": contract.agency, "dataset": contract.dataset, "topic": topic, "partition": partition,
                "first_offset": first, "last_offset": last, "rows_in": landed, "rows_landed": landed,
                "rows_quarantined": 0, "gx_success": True, "gx_evaluated_expectations": 30,
                "gx_successful_expectations": 30, "started_at": kafka_ts, "finished_at": kafka_ts,
                "duration_s": 1.0, "bronze_path": out.relative_to(lake_root).as_posix(), "quarantine_path": None,
            }
        )  # fmt: skip
        ledger_path = lake_root / "ledger" / contract.agency / contract.dataset / f"{stem}.parquet"
        ledger_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.Table.from_pylist([ledger_rows[-1]], schema=_ledger_schema()), ledger_path, compression="zstd"
        )
    con.close()
    landed_total = sum(r["rows_landed"] for r in ledger_rows)
    return {
        "rows": landed_total,
        "rows_requested": rows,
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "seconds": time.perf_counter() - started,
    }
