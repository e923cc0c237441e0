"""`gdx build` (dbt seeds, models and tests → DuckDB warehouse + Parquet exports) and `gdx kpi`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gdx.cli.errors import fail

_STATUS_STYLE = {
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "red",
    "no_data": "dim",
    "no_target": "dim",
    "suppressed": "dim",
}
SUPPRESSED_NOTE = "ปกปิดเพื่อคุ้มครองข้อมูลส่วนบุคคล / suppressed to protect personal data"


def _format_value(value: float | None, unit: str | None) -> str:
    if value is None:
        return "—"
    if unit == "THB" and abs(value) >= 1_000_000:
        return f"{value / 1_000_000:,.1f} M"
    if unit in {"%", "µg/m³"}:
        return f"{value:,.1f}"
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def _is_small_cell(row: dict[str, Any]) -> bool:
    return str(row.get("suppression_reason") or "").startswith("primary")


def _suppressed_value(row: dict[str, Any]) -> str:
    """ "< 5" for a small cell; a complement hidden to protect one holds more, so it says "suppressed"."""
    if _is_small_cell(row) and row.get("suppression_threshold"):
        return f"< {row['suppression_threshold']}"
    return "suppressed"


def register(app: typer.Typer) -> None:
    @app.command("build")
    def build_cmd(
        full_refresh: bool = typer.Option(
            False, "--full-refresh", help="Rebuild incremental facts from scratch."
        ),
        select: str = typer.Option(None, "--select", "-s", help="dbt node selection (default: everything)."),
    ) -> None:
        """Build the One Data warehouse: `dbt build` (seeds, models, unit and data tests) over the
        landed lake, then print a summary. Marts are exported as Parquet next to the warehouse."""
        from rich.console import Console
        from rich.table import Table

        from gdx.build import BuildError, BuildPaths, build

        paths = BuildPaths.from_settings()
        console = Console()
        console.print(f"[bold]dbt build[/] lake={paths.lake_root} warehouse={paths.warehouse}")
        try:
            result = build(full_refresh=full_refresh, select=select, stream=True, paths=paths)
        except BuildError as exc:
            raise fail(str(exc)) from None
        table = Table(title=f"dbt build in {result.elapsed_s:.1f} s", show_edge=False)
        table.add_column("resource")
        table.add_column("status")
        table.add_column("count", justify="right")
        for (kind, status), n in sorted(result.counts().items()):
            table.add_row(kind, status, str(n))
        console.print(table)
        if result.unlanded_sources:
            console.print(
                f"[yellow]not landed yet[/] (empty, source tests skipped): {', '.join(result.unlanded_sources)}"
            )
        exports = result.exports()
        if exports:
            console.print(f"exported {len(exports)} marts to {paths.export_dir}")
        if not result.ok:
            names = ", ".join(n.name for n in result.failures[:8]) or "see the dbt output above"
            raise fail(f"dbt build failed (exit {result.returncode}): {names}")

    @app.command("kpi")
    def kpi_cmd(
        province: Annotated[
            list[str] | None,
            typer.Option(
                "--province",
                "-p",
                help="Province as ISO code or name (repeatable); default: the five pilots.",
            ),
        ] = None,
        period: str = typer.Option("month", "--period", help="month or fiscal_year."),
        all_kpis: bool = typer.Option(
            False, "--all-kpis", help="Pilots: show every KPI, not only their agenda's."
        ),
    ) -> None:
        """Latest KPI values, targets and status of the pilot provinces (reads the Parquet export)."""
        from rich.console import Console
        from rich.table import Table

        from gdx.build import PILOT_PROVINCES, BuildError, latest_kpis
        from gdx.thai.provinces import normalize_province

        if period not in {"month", "fiscal_year"}:
            raise fail(f"--period must be month or fiscal_year, not {period!r}")
        codes: list[str] = []
        for text in province or []:
            iso = normalize_province(text)
            if iso is None:
                raise fail(
                    f"unknown province {text!r} (use an ISO code such as TH-57 or a Thai/English name)"
                )
            codes.append(iso)
        try:
            rows = latest_kpis(tuple(codes) or PILOT_PROVINCES, period_type=period, agenda_only=not all_kpis)
        except BuildError as exc:
            raise fail(str(exc)) from None
        if not rows:
            raise fail("no KPI values for these provinces yet (has their data landed? run `gdx build`)")
        console = Console()
        if not console.is_terminal:
            console = Console(width=170)  # piped output (make demo, logs): do not squeeze into 80 columns
        table = Table(title=f"KPIs of the pilot provinces (latest {period.replace('_', ' ')} with data)")
        table.add_column("province", min_width=14)
        table.add_column("KPI (th / en)", ratio=1)
        table.add_column("period", no_wrap=True)
        table.add_column("value", justify="right", no_wrap=True)
        table.add_column("unit", no_wrap=True)
        table.add_column("target", justify="right", no_wrap=True)
        table.add_column("status", no_wrap=True)
        last = None
        for row in rows:
            label = (
                f"{row['province_iso']} {row['province_name_th']}\n{row['province_name_en']}"
                if row["province_iso"] != last
                else ""
            )
            last = row["province_iso"]
            period_label = f"{row['period_label_th']} / {row['period_label_en']}"
            if not row["is_period_complete"]:
                period_label += " *"
            style = _STATUS_STYLE.get(row["status"], "")
            table.add_row(
                label,
                f"{row['kpi_name_th']}\n[dim]{row['kpi_name_en']}[/]",
                period_label,
                _suppressed_value(row)
                if row.get("is_suppressed")
                else _format_value(row["value"], row["unit"]),
                ("records" if _is_small_cell(row) else "") if row.get("is_suppressed") else row["unit"] or "",
                _format_value(row["target"], row["unit"]),
                f"[{style}]{row['status']}[/]" if style else row["status"],
                end_section=False,
            )
        console.print(table)
        typer.echo("* period still running or only partly covered by the data")
        if any(row.get("is_suppressed") for row in rows):
            typer.echo(
                f"< n / suppressed: {SUPPRESSED_NOTE} (fewer than n records from a personal-data dataset,"
                " or hidden so that a total cannot reveal such a cell)"
            )
