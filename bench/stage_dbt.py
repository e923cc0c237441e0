"""dbt build of the marts over N (default 1M) and 10M landed rows vs a plain DuckDB query.

* ours — `gdx.build.build` (what `gdx build` runs: `dbt build`, i.e. seeds, models, unit and data
  tests, marts exported as Parquet) on a fresh warehouse each repeat, over a lake generated
  directly in the bronze layout (`bench.bronze_gen`), plus the small fixture lake of the other
  Kafka datasets (`gdx.testing.bronze_fixtures`, landed by the engine's own landing code) so
  every mart has its inputs. The project is
  parsed once beforehand (as the scheduled build does with its kept `target/`), so the figure is
  the build, not the parse.
* baseline — one plain DuckDB query over the same Parquet doing the heavy part of the air-quality
  path the marts compute: latest event per (station, hour), station-day means with the 18-hour
  completeness rule, monthly provincial count of exceedances and mean.

The slowest dbt nodes of the last repeat are kept in the JSON ("where the time goes").
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from bench import stats
from bench.context import Context
from bench.model import Measurement

PLAIN_QUERY = """
with raw as (
    select station_id, province_code, measured_at, pm25, _kafka_offset, _ingested_at
    from read_parquet('{glob}', hive_partitioning = true, union_by_name = true)
),
latest as (
    select * from raw
    qualify row_number() over (partition by station_id, measured_at order by _ingested_at desc, _kafka_offset desc) = 1
),
station_days as (
    select station_id, province_code, cast(timezone('Asia/Bangkok', measured_at) as date) as day,
           count(pm25) as valid_hours, round(avg(pm25), 1) as pm25_24h
    from latest
    group by all
)
select province_code, date_trunc('month', day) as month,
       count(*) filter (where valid_hours >= 18) as complete_station_days,
       count(*) filter (where valid_hours >= 18 and pm25_24h > 37.5) as exceedance_station_days,
       avg(pm25_24h) filter (where valid_hours >= 18) as pm25_mean
from station_days
group by all
"""


def size_label(rows: int) -> str:
    return stats.human(rows).replace(".00", "")


def build_paths(workdir: Path, lake: Path, tag: str, rep: int) -> Any:
    from gdx.build import PROJECT_DIR, BuildPaths
    from gdx.settings import Settings

    base = workdir / "dbt" / tag
    return BuildPaths(
        project_dir=PROJECT_DIR.resolve(),
        warehouse=base / f"r{rep}" / "onedata.duckdb",
        lake_root=str(lake),
        contracts_dir=Settings.from_env().contracts_dir.resolve(),
        export_dir=base / f"r{rep}" / "exports",
        target_dir=base / "target",
        log_dir=base / "logs",
    )


def plain_duckdb(lake: Path, contract: Any) -> dict[str, Any]:
    import duckdb

    glob = (
        lake / "bronze" / contract.agency / contract.dataset / f"v{contract.major}" / "*" / "*.parquet"
    ).as_posix()
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        rows = con.execute(PLAIN_QUERY.format(glob=glob)).fetchall()
    finally:
        con.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "result_rows": len(rows)}


def kpi_check(paths: Any) -> dict[str, Any]:
    """How many air-quality KPI values the build produced (sanity: the marts are not empty)."""
    import duckdb

    export = paths.export_dir / "mart_provincial_kpi.parquet"
    if not export.exists():
        return {"kpi_export": False}
    con = duckdb.connect()
    try:
        n = con.execute(
            f"select count(*) from read_parquet('{export.as_posix()}') where kpi_code = 'pm25_mean_ugm3' and value is not null"  # noqa: S608
        ).fetchone()[0]
    finally:
        con.close()
    return {"kpi_export": True, "pm25_kpi_values": n}


def prepare_lake(ctx: Context, rows: int) -> Path:
    """The generated 1M/10M bronze lake (cached in the run for the latency stage)."""
    from bench.bronze_gen import write_bronze

    key = f"bronze_lake_{rows}"
    if key in ctx.cache:
        return ctx.cache[key]
    lake = ctx.subdir("dbt", f"lake_{rows}")
    ctx.log(f"generating {rows:,} landed bronze rows with DuckDB …")
    info = write_bronze(lake, rows, ctx.contract)
    # The marts span every agency: the other Kafka datasets get the small deterministic fixture
    # records, landed by the engine (validation, GX gate, bronze, quarantine, ledger) as `gdx
    # ingest` would, so `dbt build` sees a complete lake as in production.
    from gdx.testing.bronze_fixtures import kafka_contracts, write_fixture_lake

    others = [c.id for c in kafka_contracts() if c.id != ctx.contract.id]
    started = time.perf_counter()
    fixtures = write_fixture_lake(lake, only=others)
    info["other_datasets_fixture_rows"] = dict(fixtures.rows_landed)
    info["other_datasets_fixture_quarantined"] = dict(fixtures.rows_quarantined)
    info["other_datasets_landing_s"] = time.perf_counter() - started
    ctx.run.setup[f"bronze_{size_label(rows)}"] = {
        k: (round(v, 2) if isinstance(v, float) else v) for k, v in info.items()
    }
    ctx.cache[key] = lake
    return lake


def run(ctx: Context) -> None:
    from gdx.build import build, run_dbt

    run = ctx.run
    sizes = [ctx.options.records]
    if ctx.options.skip_10m:
        pass
    elif ctx.options.big_rows != ctx.options.records:
        sizes.append(ctx.options.big_rows)
    plan = []
    for rows in sizes:
        label = size_label(rows)
        ours = run.add(
            Measurement(
                f"dbt.build_{label}",
                "dbt",
                f"gdx build (dbt build, all marts) over {label} rows",
                stats.SECONDS,
                "ours",
                compare=[f"dbt.duckdb_{label}"],
            )
        )
        plain = run.add(
            Measurement(
                f"dbt.duckdb_{label}",
                "dbt",
                f"plain DuckDB dedupe + station-day + monthly KPI, {label} rows",
                stats.SECONDS,
                "baseline",
            )
        )
        lake = prepare_lake(ctx, rows)
        paths = build_paths(ctx.workdir, lake, label, 0)
        paths.prepare()
        started = time.perf_counter()
        parsed = run_dbt(["parse"], paths)
        run.setup[f"dbt_parse_{label}_s"] = round(time.perf_counter() - started, 2)
        if not parsed.ok:
            ours.fail(f"dbt parse failed: {_tail(parsed.output)}")
        plan.append((rows, label, ours, plain, lake))
    for rep in range(ctx.options.repeats):
        for _rows, label, ours, plain, lake in plan:
            ctx.log(f"dbt repeat {rep + 1}/{ctx.options.repeats}: {label} rows: plain DuckDB, dbt build …")
            p = plain_duckdb(lake, ctx.contract)
            plain.samples.append(p["seconds"])
            plain.repeats.append(p)
            if ours.status != "ok" and not ours.samples and rep > 0:
                continue  # a build that cannot run once will not run again
            paths = build_paths(ctx.workdir, lake, label, rep)
            paths.prepare()
            result = build(paths=paths)
            info: dict[str, Any] = {
                "seconds": result.elapsed_s,
                "ok": result.ok,
                "counts": {f"{t}:{s}": n for (t, s), n in result.counts().items()},
            }
            info["slowest"] = [
                (_node_name(n.unique_id), round(n.execution_time, 2))
                for n in sorted(result.nodes, key=lambda n: -n.execution_time)[:8]
            ]
            if result.ok:
                info.update(kpi_check(paths))
                ours.samples.append(result.elapsed_s)
            else:
                failures = [f"{_node_name(n.unique_id)}: {(n.message or '')[:160]}" for n in result.failures][
                    :3
                ]
                ours.fail(
                    f"dbt build failed (exit {result.returncode}): {'; '.join(failures) or _tail(result.output)}"
                )
            ours.repeats.append(info)
            shutil.rmtree(paths.warehouse.parent, ignore_errors=True)
        # keep the last repeat's warehouse? no: the latency stage builds its own


def _node_name(unique_id: str) -> str:
    """model.gdx_onedata.fct_x → model fct_x; test.gdx_onedata.accepted_range_….abc123 → test accepted_range_…"""
    parts = unique_id.split(".")
    if parts[0] == "test" and len(parts) >= 4:
        return f"test {parts[2]}"
    return f"{parts[0]} {parts[-1]}"


def _tail(output: str, lines: int = 4) -> str:
    text = " | ".join(line.strip() for line in output.strip().splitlines()[-lines:])
    return text[-400:]
