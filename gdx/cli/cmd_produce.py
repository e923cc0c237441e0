"""`gdx produce` (agency file → Kafka under its contract) and `gdx sample` (synthetic files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gdx.cli.errors import fail
from gdx.cli.kafka_opts import BOOTSTRAP_HELP, CLIENT_CONFIG_HELP, resolve_connection

FORMAT_HELP = "Source format: auto|air4thai|firms|csv|tsv|xlsx|json|ndjson."


def _contract(contract_id: str) -> Any:
    from gdx.contracts.model import ContractError, get_contract

    try:
        return get_contract(contract_id)
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None
    except ContractError as exc:
        raise fail(f"contracts could not be loaded: {exc}") from None


def _summary(result: Any, rejects_file: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(title=f"{result.contract_id} → {result.topic}{' (dry run)' if result.dry_run else ''}")
    table.add_column("")
    table.add_column("records", justify="right")
    table.add_row("read", f"{result.read:,}")
    if result.duplicates_dropped:
        table.add_row("exact duplicates dropped", f"{result.duplicates_dropped:,}")
    table.add_row("normalised (valid)", f"{result.normalised:,}")
    table.add_row("rejected", f"{result.rejected:,}", style="yellow" if result.rejected else None)
    for code, prop, n in result.rejects_by_reason():
        table.add_row(f"  {code} ({prop or 'record'})", f"{n:,}", style="yellow")
    table.add_row(
        "written (dry run)" if result.dry_run else "published", f"{result.published:,}", style="green"
    )
    table.add_row("failed", f"{result.failed:,}", style="red" if result.failed else None)
    for error, n in result.failures_by_error()[:5]:
        table.add_row(f"  {error[:90]}", f"{n:,}", style="red")
    console.print(table)
    rate = result.read / result.seconds if result.seconds else 0.0
    console.print(f"{result.seconds:.2f} s, {rate:,.0f} records/s")
    if rejects_file is not None:
        console.print(f"rejects: {rejects_file}")


def register(app: typer.Typer) -> None:
    @app.command("produce")
    def produce(
        contract_id: Annotated[str, typer.Argument(help="Contract id, e.g. pcd.air_quality_hourly.")],
        file: Annotated[Path, typer.Argument(help="The agency's source file.")],
        fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "auto",
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Check and encode, but write to --out instead of Kafka.")
        ] = False,
        out: Annotated[
            Path | None,
            typer.Option("--out", help="Dry run: NDJSON of what would be published (default stdout)."),
        ] = None,
        as_agency: Annotated[
            str | None,
            typer.Option(
                "--as",
                help="Publish as this agency (its Kafka credential); default: the contract's owner agency.",
            ),
        ] = None,
        bootstrap_servers: Annotated[
            str | None, typer.Option("--bootstrap-servers", help=BOOTSTRAP_HELP)
        ] = None,
        client_config: Annotated[
            Path | None, typer.Option("--client-config", help=CLIENT_CONFIG_HELP)
        ] = None,
        partitions: Annotated[int, typer.Option(help="Partitions when the topic has to be created.")] = 3,
        client: Annotated[
            str,
            typer.Option(
                "--client", help="Kafka client: kafka-python (default) or confluent (librdkafka, faster)."
            ),
        ] = "kafka-python",
        timeout_s: Annotated[
            float, typer.Option("--timeout", help="Seconds to wait for Kafka to acknowledge a record.")
        ] = 120.0,
    ) -> None:
        """Publish FILE under CONTRACT_ID: normalise, check at the edge, send; report every reject.

        Exit 0 only if every record was valid and published; 1 if any record was rejected or failed.
        Rejects are written to <FILE>.rejects.ndjson. Publishes as the owner agency (or --as AGENCY),
        with its provisioned credential: the broker refuses an agency writing another's topic.
        """
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from gdx.adapters.registry import FORMATS, UnknownFormat
        from gdx.producer.pipeline import produce_file
        from gdx.producer.publish import PublishOptions
        from gdx.producer.report import rejects_path_for, write_rejects
        from gdx.security.field_keys import FieldKeyError

        if client not in ("kafka-python", "confluent"):
            raise fail(f"unknown client {client!r}; use kafka-python or confluent")
        if fmt not in FORMATS:
            raise fail(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        contract = _contract(contract_id)
        if not contract.topic:
            raise fail(f"{contract_id} is a reference dataset (dbt seed), not published on Kafka")
        if not file.is_file():
            raise fail(f"cannot read {file}: no such file")
        if not dry_run and out is not None:
            raise fail("--out is only for --dry-run")
        conn = (
            None
            if dry_run
            else resolve_connection(as_agency or contract.agency, bootstrap_servers, client_config)
        )
        timeout_ms = int(timeout_s * 1000)
        options = PublishOptions(
            client=client,
            partitions=partitions,
            delivery_timeout_ms=timeout_ms,
            request_timeout_ms=min(30_000, timeout_ms),
            max_block_ms=min(60_000, timeout_ms),
            bootstrap_timeout_ms=min(30_000, timeout_ms),
        )
        sink_target: Any = None
        if dry_run:
            sink_target = out if out is not None else typer.get_binary_stream("stdout")
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,} records"),
            TimeElapsedColumn(),
            transient=True,
            console=None if not dry_run or out is not None else _stderr_console(),
        ) as progress:
            task = progress.add_task(f"{contract_id} ← {file.name}", total=None)
            try:
                result = produce_file(
                    contract,
                    file,
                    fmt,
                    connection=conn,
                    options=options,
                    dry_run_out=sink_target,
                    progress=lambda n: progress.update(task, completed=n),
                )
            except (UnknownFormat, FieldKeyError) as exc:
                raise fail(str(exc)) from None
            except (ValueError, OSError) as exc:
                raise fail(f"cannot read {file} as {fmt}: {exc}") from None
        rejects_file = None
        if result.rejects:
            rejects_file = rejects_path_for(file)
            write_rejects(result.rejects, rejects_file)
        _summary(result, rejects_file)
        raise typer.Exit(0 if result.ok else 1)

    @app.command("sample")
    def sample(
        contract_id: Annotated[str, typer.Argument(help="Contract id, e.g. gistda.fire_hotspots.")],
        rows: Annotated[int, typer.Option("--rows", "-n", min=0, help="Number of source records.")],
        out: Annotated[
            Path,
            typer.Option(
                "--out", "-o", help="Where to write the file (a .truth.json is written next to it)."
            ),
        ],
        bad_ratio: Annotated[
            float,
            typer.Option("--bad-ratio", min=0.0, max=1.0, help="Share of deliberately invalid records."),
        ] = 0.0,
        seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same file).")] = 0,
        instrument: Annotated[
            str, typer.Option(help="Hotspots only: VIIRS or MODIS FIRMS product.")
        ] = "VIIRS",
    ) -> None:
        """Write a synthetic file in the agency's own format, plus its ground truth."""
        import time

        from gdx.sample import generate, read_truth

        _contract(contract_id)
        started = time.perf_counter()
        try:
            path = generate(contract_id, rows, bad_ratio, seed, out, instrument=instrument)
        except KeyError as exc:
            raise fail(str(exc.args[0])) from None
        truth = read_truth(path)
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(truth.kinds().items())) or "none"
        typer.echo(
            f"{path}: {truth.records:,} records ({truth.valid:,} valid; bad: {kinds}) "
            f"in {time.perf_counter() - started:.1f} s",
            err=True,
        )
        typer.echo(str(path))


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)
