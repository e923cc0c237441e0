"""The task bodies of `build_onedata_marts`: plan → dbt_build → publish_marts (run time only).

`plan` decides what changed: the datasets of the triggering bronze Asset events, plus every
dataset whose ledger differs from the build watermark (gdx.orchestration.build_watermark), so rows
whose event was lost or never sent are built too. `dbt_build` runs ONE `dbt build` through
gdx.build — the same paths, env, profile and exclusions as `gdx build` — over the changed
sources' downstream graph, and advances the watermark only when dbt succeeded. `publish_marts`
announces the marts that build produced.

Every return value goes to XCom: counts, contract ids and model names only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gdx.build import BuildPaths, BuildResult
from gdx.orchestration import build_watermark
from gdx.settings import Settings

log = logging.getLogger(__name__)

BRONZE_PREFIX = "gdx://bronze/"
MARTS_PREFIX = "gdx://marts/"
LAKE_OPS_SELECTOR = "source:lake_ops+"
"""Every landing also writes the ledger (and maybe quarantine): the lake-operations sources and
what reads them (data quality, ingestion summary) change with any dataset."""
MAX_SELECTED = 500
"""More changed datasets than this: build everything. The selector is one argv string (Linux caps
one argument at 128 KiB) and by then the selection is most of the project anyway."""
INCREMENTAL_EXCLUDES = ("unit_test",)
"""dbt unit tests check a model's SQL on fixed mock rows: their outcome depends on the project
only, never on landed data, and any project change makes `plan` choose a full build, which runs
them. So an incremental build leaves them out (13 of ~90 selected nodes, about a third of dbt's
node time there)."""
_DBT_PREFIX = re.compile(r"^(\x1b\[[0-9;]*m)*([0-9]{2}:[0-9]{2}:[0-9]{2}\s+)?")
_SUMMARY = re.compile(r"(Finished running|Completed successfully|Completed with|Done\. PASS=|Nothing to do)")


def selector_for(datasets: Iterable[str]) -> str:
    """`source:bronze_<agency>.<dataset>+` per contract id `<agency>.<dataset>`, sorted, deduplicated,
    space-joined (a dbt union).

    gdx.build.selector_for (staging workstream, on (agency, dataset) pairs) is used when it
    exists; the fallback is the same rule."""
    pairs = sorted({tuple(cid.split(".", 1)) for cid in datasets})
    try:
        from gdx.build import selector_for as shared  # type: ignore[attr-defined]
    except ImportError:
        return " ".join(f"source:bronze_{agency}.{dataset}+" for agency, dataset in pairs)
    return shared(pairs)


def build_paths(settings: Settings | None = None) -> BuildPaths:
    """`gdx build`'s paths (warehouse, lake, contracts, exports, profile), with dbt's target and
    log folders in the state dir: the DAG bundle may be read-only, and a `gdx build` from the CLI
    keeps its own run_results.json."""
    settings = settings or Settings.from_env()
    return BuildPaths.from_settings(settings, target_dir=settings.state_dir / "dbt" / "target")


def event_datasets(triggering_asset_events: Mapping[Any, Iterable[Any]] | None) -> list[str]:
    """Contract ids named by the triggering bronze events: the asset URI
    `gdx://bronze/<agency>/<dataset>`, and the extra's `contract_id` when one is set."""
    found: set[str] = set()
    for events in (triggering_asset_events or {}).values():
        for event in events:
            uri = getattr(getattr(event, "asset", None), "uri", "") or ""
            if uri.startswith(BRONZE_PREFIX):
                agency, _, dataset = uri.removeprefix(BRONZE_PREFIX).partition("/")
                if agency and dataset:
                    found.add(f"{agency}.{dataset}")
            contract_id = (getattr(event, "extra", None) or {}).get("contract_id")
            if isinstance(contract_id, str) and "." in contract_id:
                found.add(contract_id)
    return sorted(found)


def plan(
    triggering_asset_events: Mapping[Any, Iterable[Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """What to build. Raises AirflowSkipException when nothing changed (no build, no mart events)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from gdx.ingest.lakefs import Lake

    params = params or {}
    settings = settings or Settings.from_env()
    paths = build_paths(settings)
    lake = Lake(paths.lake_root)
    lake.check_readable()  # a missing bucket lists as "no ledger": never mistake it for "nothing changed"
    mark = build_watermark.load(paths.warehouse)
    project = build_watermark.project_fingerprint(paths.project_dir, paths.contracts_dir)
    from_events = event_datasets(triggering_asset_events)
    requested = sorted({str(d) for d in params.get("datasets") or []})
    if mark is None or project != mark.project or params.get("full"):
        reason = (
            "no watermark (first build)"
            if mark is None
            else "forced"
            if params.get("full")
            else "project changed"
        )
        log.info("plan: full build (%s); %d dataset(s) from events", reason, len(from_events))
        return {
            "full": True,
            "reason": reason,
            "selector": None,
            "datasets": [],
            "from_events": len(from_events),
        }
    from_ledger = mark.changed(build_watermark.ledger_marks(lake))
    changed = sorted(set(from_events) | set(from_ledger) | set(requested))
    log.info(
        "plan: %d changed dataset(s): %d from events, %d from the ledger since the last build, %d requested",
        len(changed), len(from_events), len(from_ledger), len(requested),
    )  # fmt: skip
    if not changed:
        raise AirflowSkipException(
            "no new ledger entries and no events since the last successful build: nothing to build"
        )
    if len(changed) > MAX_SELECTED:
        return {"full": True, "reason": f"{len(changed)} datasets changed", "selector": None, "datasets": [],
                "from_events": len(from_events)}  # fmt: skip
    return {
        "full": False,
        "reason": "changed datasets",
        "selector": f"{selector_for(changed)} {LAKE_OPS_SELECTOR}",
        "datasets": changed,
        "from_events": len(from_events),
    }


def summary_lines(output: str) -> list[str]:
    """dbt's closing lines (totals, errors), without its colour codes and clock prefix."""
    lines = (_DBT_PREFIX.sub("", line).strip() for line in output.splitlines())
    return [line for line in lines if _SUMMARY.match(line)]


def built_marts(result: BuildResult, project_dir: Path) -> list[str]:
    """Mart models (models/marts/) that this dbt invocation built successfully (run_results.json)."""
    marts = set(mart_models(project_dir))
    return sorted(
        n.name
        for n in result.nodes
        if n.resource_type == "model" and n.status == "success" and n.name in marts
    )


def mart_models(project_dir: Path) -> list[str]:
    return sorted(p.stem for p in (project_dir / "models" / "marts").rglob("*.sql"))


def dbt_build(planned: Mapping[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """One `dbt build` for the plan; on success the watermark moves to the ledger as seen right
    before dbt started (entries landing during the build stay "new" for the next plan)."""
    from gdx.build import build
    from gdx.ingest.lakefs import Lake

    settings = settings or Settings.from_env()
    paths = build_paths(settings)
    full = bool(planned["full"])
    seen = build_watermark.ledger_marks(Lake(paths.lake_root), None if full else planned["datasets"])
    project = build_watermark.project_fingerprint(paths.project_dir, paths.contracts_dir)
    log.info("dbt build %s", "(full)" if full else f"--select {planned['selector']}")
    result = build(
        select=planned["selector"], paths=paths, exclude_resource_types=() if full else INCREMENTAL_EXCLUDES
    )
    for line in summary_lines(result.output):
        log.info("dbt: %s", line)
    if not result.ok:
        failed = "; ".join(f"{n.name}: {(n.message or n.status)[:300]}" for n in result.failures[:10])
        raise RuntimeError(
            f"dbt build failed (exit {result.returncode}); the watermark stays where it was, so the next run "
            f"builds these datasets again. Failed nodes: {failed or 'none recorded'}\n{result.output[-3000:]}"
        )
    previous = build_watermark.load(paths.warehouse) or build_watermark.Watermark()
    build_watermark.save(paths.warehouse, previous.advanced(seen, project, full))
    counts = {f"{kind}:{status}": n for (kind, status), n in sorted(result.counts().items())}
    return {
        "full": full,
        "datasets": len(seen),
        "marts": built_marts(result, paths.project_dir),
        "nodes": counts,
        "elapsed_s": round(result.elapsed_s, 1),
    }


def mart_rows(paths: BuildPaths, model: str) -> int | None:
    """Rows of the mart's Parquet export (file metadata only); None when it is not exported."""
    import pyarrow.parquet as pq

    export = paths.export_dir / f"{model}.parquet"
    return pq.read_metadata(export).num_rows if export.exists() else None


def mart_events(
    built: Mapping[str, Any], settings: Settings | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(`gdx://marts/<model>`, extra) for every mart the build produced; extras hold counts only."""
    paths = build_paths(settings)
    events = []
    for model in built["marts"]:
        extra: dict[str, Any] = {"full_build": built["full"], "datasets": built["datasets"]}
        rows = mart_rows(paths, model)
        if rows is not None:
            extra["rows"] = rows
        events.append((f"{MARTS_PREFIX}{model}", extra))
    return events
