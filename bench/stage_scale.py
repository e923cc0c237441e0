"""Stage `scale`: how each part's cost grows from N = 100 to 8,000 datasets (issue #13).

For every N of `--scale-n` (default 100,1000,8000; `--quick`: 100,1000) one scale world is built
with `gdx.testing.scale_world.build_scale_world` under the bench scratch folder, and every module
`bench/scale_<area>.py` that exists (contracts, airflow, dbt, catalog, and any other) measures it
through `measure(world, n, work_dir) -> [{"metric", "value", "unit", "budget", "note"}]`. A
missing or failing module is reported as "not measured: <reason>"; it never stops the stage.

The table shows each metric per N, its growth (value at the largest N / value at the smallest) and
the exponent k of value ∝ N^k between those two (≈ 1 linear, ≈ 2 quadratic, ≈ 0 flat), the budget
and ✓/✗ at N = 8,000 only (budgets are the issue's, at national scale). The figures also go into
the results JSON: one measurement per (area, metric, N), the table under `setup.scale`.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

from bench import stats
from bench.context import Context
from bench.model import Measurement, not_run

KNOWN_AREAS = ("contracts", "airflow", "dbt", "catalog")
BUDGET_N = 8000
DEFAULT_NS = (100, 1000, 8000)
QUICK_NS = (100, 1000)


def areas() -> list[str]:
    """The known areas, then any other `bench/scale_*.py`, in name order."""
    here = Path(__file__).parent
    found = sorted(
        m.name[len("scale_") :] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("scale_")
    )
    return list(KNOWN_AREAS) + [a for a in found if a not in KNOWN_AREAS]


def load_area(area: str) -> tuple[Any | None, str | None]:
    """(module, None) or (None, why it cannot be measured)."""
    name = f"bench.scale_{area}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None, f"no bench/scale_{area}.py"
        return None, f"import failed: {type(exc).__name__}: {exc}"
    except Exception as exc:
        return None, f"import failed: {type(exc).__name__}: {exc}"
    if not callable(getattr(module, "measure", None)):
        return None, f"bench/scale_{area}.py has no measure(world, n, work_dir)"
    return module, None


def exponent(n1: int, v1: float | None, n2: int, v2: float | None) -> float | None:
    """k in value ∝ N^k between (n1, v1) and (n2, v2); None when not defined (zero, missing)."""
    if v1 is None or v2 is None or v1 <= 0 or v2 <= 0 or n1 <= 0 or n2 <= 0 or n1 == n2:
        return None
    return math.log(v2 / v1) / math.log(n2 / n1)


def growth_rows(
    figures: dict[tuple[str, str], dict[int, dict[str, Any]]], ns: list[int]
) -> list[dict[str, Any]]:
    """One row per (area, metric): values by N, growth, exponent, budget and verdict at N = 8,000.

    `figures[(area, metric)][n]` is the dict `measure` returned for that N.
    """
    rows = []
    ordered = sorted(ns)
    for (area, metric), by_n in figures.items():
        values = {n: _number(by_n[n].get("value")) if n in by_n else None for n in ordered}
        measured = [n for n in ordered if values[n] is not None]
        lo, hi = (measured[0], measured[-1]) if measured else (None, None)
        growth = None
        if lo is not None and hi is not None and lo != hi and values[lo]:
            growth = values[hi] / values[lo]  # type: ignore[operator]
        budget = next((_number(r.get("budget")) for r in by_n.values() if r.get("budget") is not None), None)
        at_budget_n = values.get(BUDGET_N)
        within = None if budget is None or at_budget_n is None else at_budget_n <= budget
        unit = next((str(r.get("unit", "")) for r in by_n.values()), "")
        rows.append(
            {
                "area": area,
                "metric": metric,
                "unit": unit,
                "values": values,
                "growth": growth,
                "growth_span": [lo, hi] if growth is not None else None,
                "exponent": exponent(lo, values[lo], hi, values[hi])
                if lo is not None and hi is not None
                else None,
                "budget": budget,
                "within_budget": within,
                "notes": {n: str(by_n[n].get("note", "")) for n in ordered if n in by_n},
            }
        )
    return rows


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "s":
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "cpu_s":
        return f"{value:.2f} cpu·s"
    return f"{value:,.0f} {unit}".strip() if float(value).is_integer() else f"{value:,.2f} {unit}".strip()


def table_lines(rows: list[dict[str, Any]], ns: list[int], not_measured: dict[str, str]) -> list[list[str]]:
    """The printed table as rows of cells (header first): what `run` renders, testable without rich."""
    ordered = sorted(ns)
    header = [
        "area",
        "metric",
        *[f"N={n:,}" for n in ordered],
        "growth",
        "exponent",
        f"budget @ {BUDGET_N:,}",
        "",
    ]
    out = [header]
    for r in rows:
        span = r["growth_span"]
        growth = f"×{r['growth']:.1f} ({span[0]:,}→{span[1]:,})" if r["growth"] is not None else "–"
        k = f"{r['exponent']:.2f}" if r["exponent"] is not None else "–"
        budget = f"≤ {format_value(r['budget'], r['unit'])}" if r["budget"] is not None else "–"
        out.append(
            [
                r["area"],
                r["metric"],
                *[format_value(r["values"].get(n), r["unit"]) for n in ordered],
                growth,
                k,
                budget,
                stats.mark(r["within_budget"]),
            ]
        )
    for area, why in not_measured.items():
        out.append([area, f"not measured: {why}", *["–" for _ in ordered], "–", "–", "–", "–"])
    return out


def run(ctx: Context) -> None:
    from rich.table import Table

    from gdx.testing.scale_world import build_scale_world

    ns = list(ctx.options.scale_n) or list(QUICK_NS if ctx.options.quick else DEFAULT_NS)
    modules: dict[str, Any] = {}
    not_measured: dict[str, str] = {}
    wanted = list(ctx.options.scale_areas) or areas()
    for area in wanted:
        module, why = load_area(area)
        if module is None:
            not_measured[area] = why or "unavailable"
        else:
            modules[area] = module
    figures: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    failures: dict[str, dict[int, str]] = {}
    world_seconds: dict[int, float] = {}
    for n in sorted(ns):
        base = ctx.workdir / "scale" / f"n{n}"
        shutil.rmtree(base, ignore_errors=True)
        started = time.perf_counter()
        ctx.log(f"scale: building a world of {n:,} contracts …")
        world = build_scale_world(base / "world", n)
        world_seconds[n] = round(time.perf_counter() - started, 1)
        for area, module in modules.items():
            work = base / "work" / area
            work.mkdir(parents=True, exist_ok=True)
            ctx.log(f"scale: {area} at N={n:,} …")
            try:
                results = module.measure(world, n, work)
                for item in results:
                    figures.setdefault((area, str(item["metric"])), {})[n] = dict(item)
            except Exception as exc:  # one area's failure must not lose the others
                failures.setdefault(area, {})[n] = f"{type(exc).__name__}: {exc}"
                ctx.log(f"[red]scale: {area} at N={n:,} failed: {exc}\n{traceback.format_exc()[-1500:]}")
        if not ctx.options.keep_workdir:
            shutil.rmtree(base, ignore_errors=True)
    for area, by_n in failures.items():
        if not any(key[0] == area for key in figures):
            not_measured[area] = "; ".join(f"N={n:,}: {why}" for n, why in by_n.items())
    rows = growth_rows(figures, ns)
    _record(ctx, rows, ns, not_measured, failures)
    ctx.run.setup["scale"] = {
        "ns": sorted(ns),
        "world_build_s": world_seconds,
        "rows": rows,
        "not_measured": not_measured,
        "failures": failures,
    }
    lines = table_lines(rows, ns, not_measured)
    table = Table(title=f"scale: cost by number of datasets (budgets at N = {BUDGET_N:,})")
    for i, cell in enumerate(lines[0]):
        table.add_column(cell, justify="right" if 1 < i < len(lines[0]) - 1 else "left")
    for line in lines[1:]:
        table.add_row(*line)
    ctx.console.print(table)


def _record(
    ctx: Context,
    rows: list[dict[str, Any]],
    ns: list[int],
    not_measured: dict[str, str],
    failures: dict[str, dict[int, str]],
) -> None:
    for r in rows:
        for n in sorted(ns):
            key = f"scale.{r['area']}.{r['metric']}.n{n}"
            m = ctx.run.add(Measurement(key, "scale", f"{r['area']} {r['metric']} N={n:,}", r["unit"]))
            value = r["values"].get(n)
            if value is None:
                why = failures.get(r["area"], {}).get(n, "no figure")
                m.status = not_run(why)
                continue
            m.samples.append(value)
            m.note = r["notes"].get(n, "")
            m.details = {"budget": r["budget"], "growth": r["growth"], "exponent": r["exponent"]}
            if n == BUDGET_N and r["budget"] is not None:
                m.add_note(f"budget ≤ {r['budget']:g} {r['unit']} {stats.mark(r['within_budget'])}")
    for area, why in not_measured.items():
        m = ctx.run.add(Measurement(f"scale.{area}", "scale", f"{area}", ""))
        m.status = not_run(why)
