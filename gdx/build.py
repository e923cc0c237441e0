"""Build the One Data warehouse with dbt and read what it produced.

`gdx build`, the Airflow DAG `build_onedata_marts` and the integration tests all run dbt through
this module, so they always pass the same absolute paths to the project (dbt_project/) as env
vars: GDX_WAREHOUSE (the DuckDB file), GDX_LAKE_ROOT (bronze, quarantine, ledger), GDX_CONTRACTS_DIR
(for contracts/_generated/*/*/catalog.json) and GDX_EXPORT_DIR (<warehouse dir>/exports, where
every mart is copied as Parquet by a post-hook, so that readers never lock the DuckDB file).

dbt runs in a subprocess with the dbt executable of the running interpreter's environment: the
caller's process environment is never changed and a crash in dbt cannot take the caller down.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdx.settings import REPO_ROOT, Settings

PROJECT_DIR = REPO_ROOT / "dbt_project"
PILOT_PROVINCES = ("TH-57", "TH-76", "TH-40", "TH-31", "TH-34")
"""Chiang Rai (clean air), Phetchaburi (waste), Khon Kaen (digital), Buriram (debt), Ubon (border)."""
KPI_MART = "mart_provincial_kpi"


class BuildError(RuntimeError):
    """dbt could not run, or finished with errors; `result` holds what is known."""

    def __init__(self, message: str, result: BuildResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class BuildPaths:
    """Absolute paths of one build."""

    project_dir: Path
    warehouse: Path
    lake_root: str
    contracts_dir: Path
    export_dir: Path
    target_dir: Path
    log_dir: Path

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        project_dir: Path | None = None,
        target_dir: Path | None = None,
    ) -> BuildPaths:
        settings = settings or Settings.from_env()
        project = (project_dir or PROJECT_DIR).resolve()
        warehouse = settings.warehouse.expanduser().resolve()
        lake = settings.lake_root
        if "://" not in lake:
            lake = str(Path(lake).expanduser().resolve())
        target = (target_dir or project / "target").resolve()
        return cls(
            project_dir=project,
            warehouse=warehouse,
            lake_root=lake,
            contracts_dir=settings.contracts_dir.expanduser().resolve(),
            export_dir=warehouse.parent / "exports",
            target_dir=target,
            log_dir=target.parent / "logs" if target_dir is not None else project / "logs",
        )

    def env(self) -> dict[str, str]:
        """The variables the dbt project reads (profiles.yml, sources, export post-hook)."""
        return {
            "GDX_WAREHOUSE": str(self.warehouse),
            "GDX_LAKE_ROOT": self.lake_root,
            "GDX_CONTRACTS_DIR": str(self.contracts_dir),
            "GDX_EXPORT_DIR": str(self.export_dir),
            "DBT_PROFILES_DIR": str(self.project_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }

    def prepare(self) -> None:
        """Create the folders dbt and DuckDB write to (neither creates parent folders)."""
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)
        self.export_dir.mkdir(parents=True, exist_ok=True)


@dataclass
class NodeResult:
    unique_id: str
    status: str
    execution_time: float
    message: str | None = None

    @property
    def resource_type(self) -> str:
        return self.unique_id.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.unique_id.rsplit(".", 1)[-1]


@dataclass
class BuildResult:
    """What one dbt invocation did, from its run_results.json."""

    command: list[str]
    returncode: int
    elapsed_s: float
    nodes: list[NodeResult] = field(default_factory=list)
    output: str = ""
    paths: BuildPaths | None = None
    unlanded_sources: list[str] = field(default_factory=list)
    """Sources with no landed file; their tests were left out of the build."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def counts(self) -> Counter[tuple[str, str]]:
        """(resource type, status) → number of nodes."""
        return Counter((n.resource_type, n.status) for n in self.nodes)

    @property
    def failures(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in {"error", "fail", "runtime error"}]

    def exports(self) -> list[Path]:
        if self.paths is None or not self.paths.export_dir.exists():
            return []
        return sorted(self.paths.export_dir.glob("*.parquet"))


def selector_for(datasets: Iterable[tuple[str, str]]) -> str:
    """dbt `--select` for what changed when these (agency, dataset) landed: each bronze source and
    everything downstream of it (`source:bronze_<agency>.<dataset>+`), sorted and deduplicated so
    the same set always gives the same command line."""
    picked = sorted({(agency, dataset) for agency, dataset in datasets})
    return " ".join(f"source:bronze_{agency}.{dataset}+" for agency, dataset in picked)


def dbt_executable() -> str:
    """The dbt of this interpreter's environment (the venv), else the one on PATH."""
    candidate = Path(sys.executable).parent / "dbt"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("dbt")
    if not found:
        raise BuildError("dbt is not installed in this environment (expected next to the Python interpreter)")
    return found


def run_dbt(
    args: list[str],
    paths: BuildPaths | None = None,
    *,
    stream: bool = False,
    extra_env: dict[str, str] | None = None,
) -> BuildResult:
    """Run `dbt <args>` against the project with absolute paths; never raises on dbt failures."""
    paths = paths or BuildPaths.from_settings()
    paths.prepare()
    command = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(paths.project_dir),
        "--profiles-dir",
        str(paths.project_dir),
        "--target-path",
        str(paths.target_dir),
        "--log-path",
        str(paths.log_dir),
    ]
    env = {**os.environ, **paths.env(), **(extra_env or {})}
    started = time.monotonic()
    results_file = paths.target_dir / "run_results.json"
    before = results_file.stat().st_mtime_ns if results_file.exists() else None
    if stream:
        proc = subprocess.run(command, env=env, cwd=paths.project_dir, check=False)
        output = ""
    else:
        proc = subprocess.run(
            command, env=env, cwd=paths.project_dir, check=False, capture_output=True, text=True
        )
        output = proc.stdout + proc.stderr
    result = BuildResult(command, proc.returncode, time.monotonic() - started, output=output, paths=paths)
    if results_file.exists() and results_file.stat().st_mtime_ns != before:
        data = json.loads(results_file.read_text(encoding="utf-8"))
        result.nodes = [
            NodeResult(
                r["unique_id"], str(r["status"]), float(r.get("execution_time") or 0.0), r.get("message")
            )
            for r in data.get("results", [])
        ]
    return result


def unlanded_sources(paths: BuildPaths) -> list[str]:
    """dbt sources (`bronze_<agency>.<dataset>`) of Kafka contracts with no bronze file yet.

    Their generated source tests would fail on DuckDB's "No files found" (the models themselves
    read an empty relation then, see macro lake_source), so `build` leaves those tests out. The
    lake is listed through `gdx.ingest.lakefs.Lake`, local or S3 alike.
    """
    from gdx.contracts.model import load_all
    from gdx.ingest.lakefs import Lake
    from gdx.ingest.paths import bronze_root

    lake = Lake(paths.lake_root)
    missing = []
    for contract in sorted(load_all(paths.contracts_dir).values(), key=lambda c: c.id):
        if contract.is_seed:
            continue
        files = lake.list(bronze_root(contract))  # what `v<major>/*/*.parquet` matches
        if not any(f.path.count("/") == 5 and f.path.endswith(".parquet") for f in files):
            missing.append(f"bronze_{contract.agency}.{contract.dataset}")
    return missing


def build(
    settings: Settings | None = None,
    *,
    full_refresh: bool = False,
    select: str | None = None,
    stream: bool = False,
    paths: BuildPaths | None = None,
    exclude_resource_types: Iterable[str] = (),
) -> BuildResult:
    """`dbt build` (seeds, models, unit and data tests in DAG order); marts are exported as Parquet.

    Sources that have not landed yet are excluded (their tests only; models still build, empty).
    `exclude_resource_types`: dbt resource types left out (e.g. `unit_test`).
    """
    paths = paths or BuildPaths.from_settings(settings)
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    for kind in exclude_resource_types:
        args += ["--exclude-resource-type", kind]
    unlanded = unlanded_sources(paths)
    if unlanded:
        args += ["--exclude", *(f"source:{name}" for name in unlanded)]
    result = run_dbt(args, paths, stream=stream)
    result.unlanded_sources = unlanded
    return result


# --------------------------------------------------------------------------------------------
# reading the KPI mart (from the Parquet export: no lock on the DuckDB file)


def kpi_source(paths: BuildPaths | None = None) -> str:
    """SQL relation of the KPI mart: the Parquet export if present, else the warehouse read-only."""
    paths = paths or BuildPaths.from_settings()
    export = paths.export_dir / f"{KPI_MART}.parquet"
    if export.exists():
        return f"read_parquet('{export.as_posix()}')"
    if paths.warehouse.exists():
        return f"onedata.marts.{KPI_MART}"
    raise BuildError(f"no KPI mart yet: neither {export} nor {paths.warehouse} exists; run `gdx build` first")


def latest_kpis(
    provinces: tuple[str, ...] = PILOT_PROVINCES,
    period_type: str = "month",
    paths: BuildPaths | None = None,
    agenda_only: bool = True,
) -> list[dict[str, Any]]:
    """Per province and KPI, the newest period of `period_type` that has a value (or whose value
    disclosure control suppressed: `is_suppressed`, shown as "< suppression_threshold").

    With `agenda_only`, a pilot province shows only the KPIs of its own agenda (other provinces
    show every KPI they have data for).
    """
    import duckdb

    paths = paths or BuildPaths.from_settings()
    relation = kpi_source(paths)
    con = duckdb.connect()
    try:
        if relation.startswith("onedata."):
            con.execute(f"attach '{paths.warehouse.as_posix()}' as onedata (read_only)")
        placeholders = ", ".join("?" for _ in provinces)
        query = f"""
            select province_iso, province_name_th, province_name_en, kpi_code, kpi_name_th, kpi_name_en,
                   agenda_code, period_type, period_start, period_label_th, period_label_en,
                   is_period_complete, value, unit, target, status, kpi_display_order,
                   is_suppressed, suppression_threshold, suppression_reason
            from {relation}
            where province_iso in ({placeholders})
              and period_type = ?
              and (value is not null or is_suppressed)
              and (not ? or is_agenda_pilot or not is_pilot_province)
            qualify row_number() over (partition by province_iso, kpi_code order by period_start desc) = 1
            order by list_position(?, province_iso), kpi_display_order
        """  # noqa: S608 - the relation is a path we built, values are parameters
        cursor = con.execute(query, [*provinces, period_type, agenda_only, list(provinces)])
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
