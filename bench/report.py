"""The outputs of a run: the rich table, the targets with ✓/✗, and the JSON result file."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import stats
from bench.model import FAILED, Measurement, Run
from bench.stats import Target

GB = 1024**3

# (target, how to compute its value from the run)
TARGETS: tuple[tuple[Target, str], ...] = (
    (Target("ingest_rate", "ingest rate", ">=", 250_000, stats.RATE), "median:ingest.gdx"),
    (
        Target("ingest_vs_ceiling", "ingest / decode+write ceiling", ">=", 0.5, "×"),
        "ratio:ingest.gdx:ingest.ceiling",
    ),
    (Target("ingest_vs_naive", "ingest / naive baseline", ">=", 5.0, "×"), "ratio:ingest.gdx:ingest.naive"),
    (Target("ingest_exact", "ingest repeats with wrong rejects", "<=", 0, ""), "exact:ingest.gdx"),
    (Target("ingest_peak_rss", "ingest peak RSS", "<=", 1.5 * GB, stats.BYTES), "max:ingest.peak_rss"),
    (Target("publish_rate", "publish rate (gdx produce)", ">=", 100_000, stats.RATE), "median:publish.gdx"),
    (Target("latency", "produce → KPI latency", "<=", 120, stats.SECONDS), "median:latency.produce_to_kpi"),
    (Target("dbt_10m", "dbt build over 10M rows", "<=", 60, stats.SECONDS), "median:dbt.build_10M"),
    (
        Target("security_publish", "publish over SASL_SSL / plain listener", ">=", 0.85, "×"),
        "ratio:security.publish_sasl_ssl:security.publish_plain",
    ),
    (
        Target("security_ingest", "ingest over SASL_SSL / plain listener", ">=", 0.85, "×"),
        "ratio:security.ingest_sasl_ssl:security.ingest_plain",
    ),
)


def target_value(run: Run, spec: str) -> float | None:
    kind, *keys = spec.split(":")
    m = run.get(keys[0])
    if m is None or not m.ran:
        return None
    if kind == "median":
        return m.median if m.status != FAILED or m.samples else None
    if kind == "max":
        return max(m.samples) if m.samples else None
    if kind == "ratio":
        return run.ratio(keys[0], keys[1])
    if kind == "exact":
        verified = [r.get("verify") for r in m.repeats]
        if not m.repeats:
            return None
        return float(sum(1 for v in verified if not (v and v.get("ok"))))
    raise ValueError(spec)


def evaluate_targets(run: Run) -> list[dict[str, Any]]:
    out = []
    for target, spec in TARGETS:
        value = target_value(run, spec)
        out.append({
            "id": target.id, "label": target.label, "op": target.op, "threshold": target.threshold, "unit": target.unit,
            "value": value, "met": target.evaluate(value), "source": spec,
        })  # fmt: skip
    return out


def _vs(run: Run, m: Measurement) -> str:
    parts = []
    for other in m.compare:
        r = run.ratio(m.key, other)
        o = run.get(other)
        if r is None or o is None:
            continue
        parts.append(f"{stats.format_ratio(r)} {o.key.split('.', 1)[1]}")
    return ", ".join(parts) or ("(baseline)" if m.role == "baseline" else "–")


def render_table(run: Run, console: Console, title: str) -> None:
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("stage", style="bold")
    table.add_column("measurement")
    table.add_column("median", justify="right")
    table.add_column("min–max", justify="right")
    table.add_column("speed vs", justify="left")
    table.add_column("status / note", overflow="fold", max_width=70)
    last_stage = None
    for m in run.measurements.values():
        stage = m.stage if m.stage != last_stage else ""
        if m.stage != last_stage and last_stage is not None:
            table.add_section()
        last_stage = m.stage
        status = m.status if m.status != "ok" else "ok"
        style = "red bold" if m.status == FAILED else ("dim" if not m.ran else None)
        note = status if not m.note else f"{status}: {m.note}"
        table.add_row(
            stage,
            m.label,
            stats.format_value(m.median, m.unit) if m.samples else "–",
            stats.format_range(m.spread, m.unit) if len(m.samples) > 1 else "–",
            _vs(run, m) if m.samples else "–",
            note,
            style=style,
        )
    console.print(table)
    console.print(
        "speed vs: how many times faster than the named measurement, from the two medians of this run (> 1 = faster).",
        style="dim",
    )


def render_targets(targets: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="targets (goals, not assertions)")
    table.add_column("")
    table.add_column("target")
    table.add_column("goal", justify="right")
    table.add_column("measured", justify="right")
    for t in targets:
        met = t["met"]
        style = None if met is None else ("green" if met else "red")
        goal = f"{t['op']} {stats.format_value(t['threshold'], t['unit'])}"
        value = stats.format_value(t["value"], t["unit"]) if t["value"] is not None else "not run"
        table.add_row(stats.mark(met), t["label"], goal, value, style=style)
    console.print(table)


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_clean(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj


def to_json(run: Run, targets: list[dict[str, Any]], started: datetime, finished: datetime) -> dict[str, Any]:
    measurements = {}
    for key, m in run.measurements.items():
        summary = stats.summarize(m.samples)
        measurements[key] = {
            "stage": m.stage,
            "label": m.label,
            "unit": m.unit,
            "role": m.role,
            "status": m.status,
            "note": m.note,
            **summary,
            "speed_ratio": {other: run.ratio(key, other) for other in m.compare},
            "paired_speed_ratios": {other: run.paired(key, other) for other in m.compare},
            "details": m.details,
            "repeats": m.repeats,
        }
    return _clean({
        "schema_version": 1,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "duration_s": (finished - started).total_seconds(),
        "config": run.config,
        "machine": run.machine,
        "setup": run.setup,
        "measurements": measurements,
        "targets": targets,
        "findings": run.findings,
        "failed": [k for k, m in run.measurements.items() if m.status == FAILED],
        "conventions": {
            "median": "median of the repeats; min/max shown as the range",
            "speed_ratio": "ours / baseline for rec/s, baseline / ours for seconds and bytes: > 1 means faster (smaller)",
        },
    })  # fmt: skip


def write_json(data: dict[str, Any], out_dir: Path, stamp: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    path = out_dir / f"{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (out_dir / "latest.json").write_text(text, encoding="utf-8")
    return path
