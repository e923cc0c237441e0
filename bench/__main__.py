"""`python -m bench` (`make bench`): every stage against its limit and a naive baseline, in one run.

    python -m bench                          # 1M records, 3 repeats, every stage
    python -m bench --quick                  # 100k records, no 10M dbt build: a smoke run
    python -m bench --records 200000 --repeats 5 --stages consume,decode_write
    python -m bench --stages dbt --skip-10m
    python -m bench --stages scale --scale-n 100,1000,8000   # `make bench BENCH_ARGS="--stages scale"`

Stages: publish, consume, decode_write, ingest (with the naive baseline and the decode+write
ceiling, interleaved), security (publish and ingest over SASL_SSL vs a plain listener), dbt,
latency, scale (how each part's cost grows with the number of datasets: one scale world per N of
`--scale-n`, default 100,1000,8000, `--quick` 100,1000; every `bench/scale_<area>.py` measures it;
table with growth, exponent and ✓/✗ against the issue-13 budgets at N = 8,000). Everything runs on
a throwaway local broker and scratch folders under a temporary directory; the results are printed as one table plus the targets, and written
to `bench/results/<timestamp>.json` and `bench/results/latest.json`.

Exit status: 0 when every stage that ran was correct (targets are goals and do not change it),
1 when a stage FAILED (e.g. quarantine ≠ ground truth), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # Great Expectations' progress bars

STAGES = ("publish", "consume", "decode_write", "ingest", "security", "dbt", "latency", "scale")
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--records", type=int, default=None, help="records per run (default 1,000,000; --quick: 100,000)"
    )
    p.add_argument(
        "--repeats", type=int, default=3, help="repeats per measurement; the median is reported (default 3)"
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 100k records, no 10M dbt build")
    p.add_argument(
        "--stages", default=",".join(STAGES), help=f"comma-separated subset of: {', '.join(STAGES)}"
    )
    p.add_argument("--skip-10m", action="store_true", help="skip the dbt build over 10M generated rows")
    p.add_argument(
        "--big-rows", type=int, default=10_000_000, help="rows of the large dbt build (default 10M)"
    )
    p.add_argument("--bad-ratio", type=float, default=0.01, help="share of invalid records (default 0.01)")
    p.add_argument(
        "--naive-records",
        type=int,
        default=100_000,
        help="records the naive baseline is measured on (default 100k)",
    )
    p.add_argument("--latency-rounds", type=int, default=3, help="records timed produce → KPI (default 3)")
    p.add_argument(
        "--scale-n",
        default=None,
        help="stage scale: comma-separated dataset counts (default 100,1000,8000; --quick: 100,1000)",
    )
    p.add_argument(
        "--scale-areas",
        default=None,
        help="stage scale: comma-separated areas to measure (default: every bench/scale_<area>.py)",
    )
    p.add_argument("--seed", type=int, default=20240301)
    p.add_argument("--out", type=Path, default=RESULTS_DIR, help=f"result folder (default {RESULTS_DIR})")
    p.add_argument(
        "--workdir", type=Path, default=None, help="scratch folder (default: a new temporary folder)"
    )
    p.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep the scratch folder (broker data, lakes) after the run",
    )
    args = p.parse_args(argv)
    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        p.error(f"unknown stage(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(STAGES)}")
    if args.records is None:
        args.records = 100_000 if args.quick else 1_000_000
    if args.quick:
        args.skip_10m = True
    if args.records < 1000 or args.repeats < 1:
        p.error("--records must be >= 1000 and --repeats >= 1")
    args.stages = stages
    try:
        scale_n = [
            int(x)
            for x in (args.scale_n or ("100,1000" if args.quick else "100,1000,8000")).split(",")
            if x.strip()
        ]
    except ValueError:
        p.error(f"--scale-n must be comma-separated integers, not {args.scale_n!r}")
    if not scale_n or min(scale_n) < 1:
        p.error("--scale-n needs at least one count >= 1")
    args.scale_n = tuple(sorted(set(scale_n)))
    args.scale_areas = tuple(a.strip() for a in (args.scale_areas or "").split(",") if a.strip())
    from bench.stage_scale import areas

    unknown_areas = sorted(set(args.scale_areas) - set(areas()))
    if unknown_areas:
        p.error(f"unknown scale area(s) {', '.join(unknown_areas)}; choose from {', '.join(areas())}")
    return args


def resolve_stages(selected: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Stages to run in execution order, and notes about stages added as dependencies."""
    wanted = set(selected)
    notes: list[str] = []
    order = ("decode_write", "consume", "publish", "ingest", "security", "dbt", "latency", "scale")
    return [s for s in order if s in wanted], notes


def _vm_hwm() -> int | None:
    """Peak RSS of this (the harness) process so far, from /proc/self/status."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def stage_module(name: str):
    import importlib

    module = {"decode_write": "stage_decode"}.get(name, f"stage_{name}")
    return importlib.import_module(f"bench.{module}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from rich.console import Console

    from bench import report
    from bench.context import Context, Options
    from bench.machine import machine_info
    from bench.model import FAILED, Run

    console = Console()
    if not console.is_terminal:  # piped / logged: wide enough for the table
        console = Console(width=170)
    started = datetime.now().astimezone()
    stamp = started.strftime("%Y%m%dT%H%M%S")
    order, notes = resolve_stages(args.stages)
    options = Options(
        records=args.records, repeats=args.repeats, stages=tuple(order), bad_ratio=args.bad_ratio, seed=args.seed,
        naive_records=args.naive_records, skip_10m=args.skip_10m, big_rows=args.big_rows,
        latency_rounds=args.latency_rounds, quick=args.quick, keep_workdir=args.keep_workdir,
        scale_n=args.scale_n, scale_areas=args.scale_areas,
    )  # fmt: skip
    run = Run()
    run.config = {
        **{k: getattr(options, k) for k in options.__dataclass_fields__},
        "stages": order,
        "notes": notes,
        "argv": sys.argv[1:] if argv is None else argv,
    }
    run.machine = machine_info()
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="gdx-bench-")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = Context(options, workdir, run, console)
    for note in notes:
        ctx.log(note)
    ctx.log(
        f"GDX benchmark: {options.records:,} records × {options.repeats} repeats; stages {', '.join(order)}; scratch {workdir}"
    )
    timings: dict[str, float] = {}
    hwm: dict[str, int | None] = {}
    try:
        for name in order:
            t = time.perf_counter()
            before = set(run.measurements)
            try:
                stage_module(name).run(ctx)
            except Exception as exc:  # one broken stage must not lose the others' results
                ctx.log(f"[red]stage {name} crashed: {type(exc).__name__}: {exc}")
                tb = traceback.format_exc()
                added = [run.measurements[k] for k in run.measurements if k not in before]
                if not added:
                    from bench.model import Measurement

                    added = [run.add(Measurement(f"{name}.error", name, f"{name} stage", ""))]
                for m in added:
                    m.fail(f"stage crashed: {type(exc).__name__}: {str(exc)[:300]}")
                    m.details["traceback"] = tb[-4000:]
            timings[name] = round(time.perf_counter() - t, 1)
            hwm[name] = _vm_hwm()
    finally:
        ctx.close()
        if own_workdir and not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    run.setup["stage_seconds"] = timings
    run.setup["harness_peak_rss_bytes_after_stage"] = hwm
    run.machine["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    finished = datetime.now().astimezone()
    targets = report.evaluate_targets(run)
    title = f"GDX One Data benchmark — {options.records:,} records, median of {options.repeats}, {started:%Y-%m-%d %H:%M}"
    report.render_table(run, console, title)
    report.render_targets(targets, console)
    for finding in run.findings:
        console.print(f"• {finding}")
    path = report.write_json(report.to_json(run, targets, started, finished), args.out, stamp)
    console.print(
        f"results: {path} (and {path.with_name('latest.json')}); took {(finished - started).total_seconds() / 60:.1f} min"
    )
    failed = [k for k, m in run.measurements.items() if m.status == FAILED]
    if failed:
        console.print(f"[red bold]FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
