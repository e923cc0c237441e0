"""Latency: one record produced → visible in `mart_provincial_kpi`, along the event-driven path.

The path is what the scheduler runs when data arrives: publish (`gdx.producer.publish_records`,
edge check on) → `gdx ingest` (a fresh process: start-up counts) → `gdx build` (`dbt build` on
the kept warehouse, incremental facts) → query the exported KPI mart.

For one record to be *visible* it has to change a KPI on its own. Setup (untimed): the lake holds
the generated bronze rows (the dbt stage's N rows, so the build has realistic work), and station
57t (Chiang Rai, TH-57) has 17 valid PM2.5 hours on the first day of each of a few future
months — one hour short of a complete station-day, so the month's `pm25_mean_ugm3` for TH-57 has
no value. Each round (timed) publishes the 18th hour of one of those days; the round ends when the
KPI row of that month has a value computed from one complete station-day. The reported figure is
the median over rounds, with the split per step in the JSON.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench import stats
from bench.context import Context
from bench.model import Measurement, not_run

KEY = "latency.produce_to_kpi"
STATION = ("57t", "TH-57")
TIMEOUT_S = 900.0


def _record(day: date, hour: int, pm25: float) -> dict[str, Any]:
    from gdx.adapters.air4thai import province_from_area
    from gdx.adapters.air4thai_stations import STATIONS

    name, area = STATIONS[STATION[0]]
    return {
        "station_id": STATION[0], "station_name_th": name.strip(), "province_code": STATION[1],
        "province_raw": province_from_area(area), "measured_at": f"{day.isoformat()}T{hour:02d}:00:00+07:00",
        "pm25": pm25, "pm10": round(pm25 * 1.5, 1), "o3": 20.0, "co": 0.5, "no2": 10.0, "so2": 1.0, "aqi": 80,
    }  # fmt: skip


def kpi_value(export_dir: Path, month: date) -> tuple[float | None, int]:
    import duckdb

    export = export_dir / "mart_provincial_kpi.parquet"
    if not export.exists():
        return None, 0
    con = duckdb.connect()
    try:
        row = con.execute(
            f"select value, observation_count from read_parquet('{export.as_posix()}') "  # noqa: S608
            "where province_iso = ? and kpi_code = 'pm25_mean_ugm3' and period_type = 'month' and period_start = ?",
            [STATION[1], month],
        ).fetchone()
    finally:
        con.close()
    return (row[0], int(row[1] or 0)) if row else (None, 0)


def run(ctx: Context) -> None:
    from bench import ingest_api
    from bench.kafka_util import create_topic, set_group_offsets
    from bench.stage_dbt import build_paths, prepare_lake
    from bench.stage_ingest import run_child
    from gdx.build import build
    from gdx.producer.pipeline import publish_records

    m = ctx.run.add(
        Measurement(KEY, "latency", "record produced → visible in mart_provincial_kpi", stats.SECONDS, "ours")
    )
    rounds = max(1, ctx.options.latency_rounds)
    fn = ingest_api.ingest_function()
    if isinstance(fn, str):
        m.status = not_run(fn)
        return
    contract, conn = ctx.contract, ctx.kafka
    topic = contract.topic
    create_topic(conn, topic)
    # the engine's group (fixed per contract) starts at the end: only the latency records are new
    group = ingest_api.group_for(contract.id)
    set_group_offsets(conn, topic, group, "end")
    # the lake: generated bronze rows (hard links, nothing copied) + whatever the rounds land
    base = prepare_lake(ctx, ctx.options.records)
    lake = ctx.subdir("latency", "lake")
    for src in base.rglob("*.parquet"):
        dst = lake / src.relative_to(base)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            os.link(src, dst)
    state = ctx.subdir("latency", "state")
    paths = build_paths(ctx.workdir, lake, "latency", 0)
    spec = {
        "env": {
            "GDX_LAKE_ROOT": str(lake),
            "GDX_STATE_DIR": str(state),
            "GDX_KAFKA_CLIENT_CONFIG": ctx.kafka_client_config,
        },
        "call": {"client_config": ctx.kafka_client_config, "contract_id": contract.id},
    }
    days = [date(2030, k + 1, 1) for k in range(min(rounds, 12))]  # dim_date ends 2030-12-31
    m.details.update(
        {
            "rounds": rounds,
            "station": STATION[0],
            "province": STATION[1],
            "lake_base_rows": ctx.options.records,
        }
    )

    ctx.log(f"latency setup: 17 hours on {rounds} station-days, ingest, full build …")
    started = time.perf_counter()
    seed_records = [_record(day, h, 40.0 + h) for day in days for h in range(17)]
    res = publish_records(contract, seed_records, conn)
    if res.rejected or res.failed:
        m.fail(f"setup publish: {res.rejected} rejected, {res.failed} failed")
        return
    r = run_child(spec, ctx.subdir("latency", "setup"))
    if not r.get("ok"):
        m.fail(f"setup ingest failed: {str(r.get('error'))[:300]}")
        return
    b = build(paths=paths)
    if not b.ok:
        m.fail(f"setup build failed (exit {b.returncode}): {_failures(b)}")
        return
    for day in days:
        value, count = kpi_value(paths.export_dir, day)
        if value is not None:
            m.fail(f"setup: the KPI of {day:%Y-%m} already has a value ({value}) with 17 hours")
            return
    ctx.run.setup["latency_setup_s"] = round(time.perf_counter() - started, 2)

    for k, day in enumerate(days):
        ctx.log(f"latency round {k + 1}/{rounds}: produce → ingest → build → query …")
        steps: dict[str, float] = {}
        t0 = time.perf_counter()
        res = publish_records(contract, [_record(day, 17, 57.0)], conn)
        steps["produce_s"] = time.perf_counter() - t0
        if res.published != 1:
            m.fail(
                f"round {k + 1}: the record was not published ({res.rejected} rejected, {res.failed} failed)"
            )
            continue
        t = time.perf_counter()
        r = run_child(spec, ctx.subdir("latency", f"round{k}"))
        steps["ingest_s"] = time.perf_counter() - t
        steps["ingest_engine_s"] = r.get("engine_s")
        if not r.get("ok"):
            m.fail(f"round {k + 1}: ingest failed: {str(r.get('error'))[:200]}")
            continue
        t = time.perf_counter()
        b = build(paths=paths)
        steps["build_s"] = time.perf_counter() - t
        if not b.ok:
            m.fail(f"round {k + 1}: build failed (exit {b.returncode}): {_failures(b)}")
            continue
        t = time.perf_counter()
        value, count = kpi_value(paths.export_dir, day)
        steps["query_s"] = time.perf_counter() - t
        total = time.perf_counter() - t0
        steps["total_s"] = total
        steps["kpi_value"] = value
        m.repeats.append(steps)
        if value is None or count < 1:
            m.fail(
                f"round {k + 1}: the record is not visible in the KPI after the build (value {value}, count {count})"
            )
            continue
        m.samples.append(total)
    if m.status == "ok" and m.repeats:
        med = {
            s: stats.median([r[s] for r in m.repeats if r.get(s) is not None])
            for s in ("produce_s", "ingest_s", "build_s", "query_s")
        }
        m.add_note(
            "median split: " + ", ".join(f"{s[:-2]} {v:.1f} s" for s, v in med.items() if v is not None)
        )


def _failures(result: Any) -> str:
    from bench.stage_dbt import _node_name

    return (
        "; ".join(f"{_node_name(n.unique_id)}: {(n.message or '')[:160]}" for n in result.failures[:3])
        or result.output[-300:]
    )
