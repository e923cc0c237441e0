"""`gdx ingest` (topic → validated bronze/quarantine, exactly once), `gdx replay` and `gdx status`.

The same code path as the Airflow ingestion task (`gdx.ingest.runner.run_ingest`), without Airflow.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from gdx.cli.errors import fail
from gdx.cli.kafka_opts import BOOTSTRAP_HELP, CLIENT_CONFIG_HELP, resolve_connection
from gdx.ingest.config import IngestConfig  # light (stdlib only): the help states its defaults


def _run_table(summary: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{summary.contract_id} ← {summary.topic}")
    table.add_column("")
    table.add_column("records", justify="right")
    table.add_row("read", f"{summary.rows_in:,}")
    table.add_row("landed (bronze)", f"{summary.rows_landed:,}", style="green")
    table.add_row("quarantined", f"{summary.rows_quarantined:,}", style="yellow" if summary.rows_quarantined else None)
    if summary.rows_disputed:
        table.add_row("  disputed (GX ≠ cross-check): needs attention", f"{summary.rows_disputed:,}", style="red")
    for rule, n in summary.quarantined_by_rule.most_common(10):
        table.add_row(f"  {rule}", f"{n:,}", style="yellow")
    table.add_row("batches (partition ranges)", f"{len(summary.batches):,}")
    if summary.recovered_files:
        table.add_row("uncommitted files removed", f"{summary.recovered_files:,}", style="magenta")
    console.print(table)
    if summary.batches:
        batches = Table(title="batches")
        for col in ("batch id", "ingest_date", "in", "landed", "quarantined"):
            batches.add_column(col, justify="left" if col in ("batch id", "ingest_date") else "right")
        for b in summary.batches[-12:]:
            batches.add_row(b.batch_id, b.ingest_date, f"{b.rows_in:,}", f"{b.rows_landed:,}", f"{b.rows_quarantined:,}")
        console.print(batches)
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in summary.timings.items())
    console.print(f"{summary.duration_s:.2f} s, {summary.records_per_s:,.0f} records/s ({timings})")
    if summary.skipped_checks:
        console.print(f"not gated at landing (event log): {', '.join(summary.skipped_checks)}", style="dim")


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest(
        contract_id: Annotated[str, typer.Argument(help="Contract id, e.g. pcd.air_quality_hourly.")],
        max_records: Annotated[
            int | None, typer.Option("--max-records", help="Stop after this many records (default: until caught up).")
        ] = None,
        batch_records: Annotated[
            int | None, typer.Option("--batch-records", help=f"Records per batch (default {IngestConfig.batch_max_records:,}).")
        ] = None,
        bootstrap_servers: Annotated[str | None, typer.Option("--bootstrap-servers", help=BOOTSTRAP_HELP)] = None,
        client_config: Annotated[Path | None, typer.Option("--client-config", help=CLIENT_CONFIG_HELP)] = None,
        workers: Annotated[
            int | None, typer.Option("--workers", help="Partition-parallel worker processes (default 1).")
        ] = None,
        no_dlq: Annotated[bool, typer.Option("--no-dlq", help="Do not publish dead letters.")] = False,
        accept_gap: Annotated[
            bool,
            typer.Option(
                "--accept-gap",
                help="Accept the offset gaps found now (those a stopped run reports: retention, group ahead of the lake, ledger"
                " holes) as never to be landed; recorded in the ledger with who/when, then ingest.",
            ),
        ] = False,
        new_topic_generation: Annotated[
            bool,
            typer.Option(
                "--new-topic-generation",
                help="The topic was deleted and recreated: start a new generation at offset 0 of the new topic"
                " id (earlier batches stay); recorded in the ledger, then ingest.",
            ),
        ] = False,
        rewind_group: Annotated[
            bool,
            typer.Option(
                "--rewind-group",
                help="The group committed past the lake's ledger (lake restored from a backup): set it back to"
                " the ledger and read those records again; recorded in the ledger, then ingest.",
            ),
        ] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log each batch.")] = False,
    ) -> None:
        """Consume CONTRACT_ID's topic, validate (GX gate), land bronze/quarantine exactly once.

        Connects as the ingestion principal gdx-ingest (or the identity of --client-config)."""
        from gdx.ingest.gate import GateError
        from gdx.ingest.lease import Fenced
        from gdx.ingest.locking import LockTimeout
        from gdx.ingest.runner import IngestError, OffsetsDisagree, run_ingest

        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        from gdx.security.principals import INGEST

        conn = resolve_connection(INGEST, bootstrap_servers, client_config)
        config = IngestConfig.from_env(
            max_records=max_records, batch_max_records=batch_records, dlq=False if no_dlq else None, workers=workers
        )
        try:
            summary = run_ingest(
                contract_id, connection=conn, config=config, accept_gap=accept_gap, new_topic_generation=new_topic_generation,
                rewind_group=rewind_group,
            )  # fmt: skip
        except OffsetsDisagree as exc:  # exit code 4: an operator decision is needed, a retry will not help
            raise fail(str(exc), code=4) from None
        except (IngestError, LockTimeout, Fenced) as exc:
            raise fail(str(exc)) from None
        except GateError as exc:
            raise fail(f"validation gate stopped the batch (nothing of it landed): {exc}", code=3) from None
        except OSError as exc:  # the lake (S3 or a local disk) refused a read or a write
            raise fail(
                f"the lake could not be read or written: {exc} (in {_where(exc)})\n"
                "The batch in progress has no ledger entry, so nothing of it is committed and its offsets "
                "are not; batches before it stay landed. Fix the lake (endpoint, keys, space) and rerun: "
                "recovery deletes the files the failed batch left and lands it again, exactly once."
            ) from None
        _run_table(summary)
        _notify_airflow(summary)

    @app.command("replay")
    def replay(
        contract_id: Annotated[str, typer.Argument(help="Contract id, e.g. pcd.air_quality_hourly.")],
        from_quarantine: Annotated[
            bool, typer.Option("--from-quarantine", help="Re-validate quarantined rows (the only source for now).")
        ] = False,
        batch: Annotated[
            str | None, typer.Option("--batch", help="Only this batch id (<topic>+<partition>+<first>-<last>).")
        ] = None,
    ) -> None:
        """Land quarantined rows that pass the current contract, exactly once."""
        from rich.console import Console
        from rich.table import Table

        from gdx.ingest.gate import GateError
        from gdx.ingest.lease import Fenced
        from gdx.ingest.locking import LockTimeout
        from gdx.ingest.replay import run_replay
        from gdx.ingest.runner import IngestError

        if not from_quarantine:
            raise fail("say where to replay from: --from-quarantine")
        try:
            summary = run_replay(contract_id, batch)
        except (IngestError, LockTimeout, Fenced, GateError) as exc:
            raise fail(str(exc)) from None
        table = Table(title=f"replay {contract_id} from quarantine")
        table.add_column("")
        table.add_column("rows", justify="right")
        table.add_row("quarantine files", f"{summary.quarantine_files:,}")
        table.add_row("rows considered", f"{summary.rows_considered:,}")
        table.add_row("already replayed", f"{summary.rows_already_replayed:,}")
        table.add_row("not replayable (headers, bytes)", f"{summary.rows_not_replayable:,}")
        table.add_row("landed now", f"{summary.rows_landed:,}", style="green")
        for rule, n in summary.still_failing.most_common(10):
            table.add_row(f"  still failing {rule}", f"{n:,}", style="yellow")
        Console().print(table)
        for path in summary.files:
            typer.echo(path)

    @app.command("status")
    def status(
        contract_id: Annotated[str | None, typer.Argument(help="One contract (default: all on Kafka).")] = None,
        bootstrap_servers: Annotated[str | None, typer.Option("--bootstrap-servers", help=BOOTSTRAP_HELP)] = None,
        client_config: Annotated[Path | None, typer.Option("--client-config", help=CLIENT_CONFIG_HELP)] = None,
        no_lag: Annotated[bool, typer.Option("--no-lag", help="Do not ask the broker for consumer lag.")] = False,
        ack_disputes: Annotated[
            bool,
            typer.Option("--ack-disputes", help="Acknowledge the dataset's disputed rows (gate.disagreement): they stay quarantined."),
        ] = False,
    ) -> None:
        """Per dataset: consumer lag, last landed batch, rows landed/quarantined, share valid, freshness.

        Exits 4 when a dataset needs attention: rows quarantined as gate.disagreement (GX and the
        cross-check disagreed) that are neither replayed nor acknowledged (--ack-disputes)."""
        from datetime import UTC, datetime

        from rich.console import Console
        from rich.table import Table

        from gdx.contracts.model import ContractError, load_all
        from gdx.ingest.lakefs import Lake
        from gdx.ingest.status import acknowledge_disputes, dataset_status
        from gdx.settings import Settings

        settings = Settings.from_env()
        try:
            contracts = load_all(settings.contracts_dir)
        except ContractError as exc:
            raise fail(f"contracts could not be loaded: {exc}") from None
        chosen = [c for cid, c in sorted(contracts.items()) if not c.is_seed and (contract_id in (None, cid))]
        if contract_id and not chosen:
            raise fail(f"unknown or seed contract {contract_id!r}")
        conn = None
        if not no_lag:
            from gdx.security.principals import INGEST

            try:  # the lag is the ingestion group's: ask as gdx-ingest
                conn = resolve_connection(INGEST, bootstrap_servers, client_config, settings)
            except typer.Exit:
                conn = None  # no broker: the lake still answers everything but the lag
        lake = Lake(settings.lake_root)
        if ack_disputes:
            if not contract_id:
                raise fail("--ack-disputes needs one CONTRACT_ID")
            acked = acknowledge_disputes(lake, chosen[0])
            typer.echo(f"{contract_id}: acknowledged disputed rows of {len(acked)} batch(es): {', '.join(acked) or '—'}")
        now = datetime.now(UTC)
        attention: list[str] = []
        table = Table(title=f"GDX ingestion status — lake {settings.lake_root}")
        for col in ("dataset", "lag", "last landed batch", "landed", "quarantined", "valid", "freshness (SLA)", "attention"):
            table.add_column(col, justify="right" if col in ("lag", "landed", "quarantined", "valid") else "left")
        for contract in chosen:
            s = dataset_status(lake, contract, conn)
            age = s.age(now)
            fresh = s.fresh(now)
            sla = f"{s.freshness_sla}" if s.freshness_sla else "—"
            freshness = "—" if age is None else f"{_age(age)} old ({sla})"
            style = None if fresh is None else ("green" if fresh else "red")
            table.add_row(
                contract.id,
                "—" if s.lag is None else f"{s.lag:,}",
                "—" if s.last_batch_id is None else f"{s.last_batch_id}\n{s.last_landed_at:%Y-%m-%d %H:%M:%S}Z",
                f"{s.rows_landed:,}",
                f"{s.rows_quarantined:,}",
                "—" if s.share_valid is None else f"{s.share_valid:.2%}",
                f"[{style}]{freshness}[/{style}]" if style else freshness,
                f"[red]{s.disputed_outstanding:,} disputed rows[/red]" if s.needs_attention else "—",
            )
            if s.needs_attention:
                attention.append(
                    f"{contract.id}: {s.disputed_outstanding:,} row(s) quarantined as gate.disagreement "
                    f"(GX and the cross-check disagree) in {', '.join(s.disputed_batches[:5])}: fix the gate, then "
                    f"`gdx replay {contract.id} --from-quarantine`, or `gdx status {contract.id} --ack-disputes`"
                )
        Console().print(table)
        if attention:
            for line in attention:
                typer.echo(f"needs attention: {line}", err=True)
            raise typer.Exit(4)


def _notify_airflow(summary: Any) -> None:
    """The bronze Asset event for what landed, when GDX_AIRFLOW_API_URL is set (the dbt DAG then
    builds it); a failure is a warning from `notify_bronze_landed`, never an error: the rows are in."""
    from gdx.orchestration.airflow_api import URL_ENV, notify_bronze_landed

    event = notify_bronze_landed(summary)
    if event is not None:
        typer.echo(f"Airflow: asset event {event.get('id')} on {event.get('uri')} ({os.environ[URL_ENV]})")


def _age(delta: Any) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "in the future"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def _where(exc: BaseException) -> str:
    """The innermost GDX frame of `exc`'s traceback (`gdx/ingest/lakefs.py:write_parquet`): which
    write failed tells an operator which part of the lake to look at."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/gdx/" in f.filename]
    if not frames:
        return "an unknown place"
    return f"gdx/{frames[-1].filename.rsplit('/gdx/', 1)[1]}:{frames[-1].name}"
