"""`gdx demo`: the pipeline end to end on sample data (what `make demo` runs)."""

from __future__ import annotations

import typer

from gdx.cli.errors import fail


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo() -> None:
        """Broker up → samples published → ingestion DAGs → dbt build → pilot KPI table."""
        from gdx.demo import DemoError, run_demo

        try:
            report = run_demo(typer.echo)
        except DemoError as exc:
            raise fail(str(exc)) from None
        total = sum(s.seconds for s in report.stages)
        typer.echo(f"demo finished in {total:.0f}s: {len(report.produced)} datasets published, ingested and modelled")
