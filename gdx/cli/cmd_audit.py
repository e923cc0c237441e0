"""`gdx audit show` (who did what — "who read this dataset?") and `gdx audit verify` (is the hash
chain, and every ledger file on it, intact?). See `gdx.audit` for the log itself."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gdx.cli.errors import fail

if TYPE_CHECKING:
    from gdx.audit import AuditEntry

PLATFORM_PRINCIPALS = {
    "gdx-ingest": "บริการนำเข้าข้อมูล / ingestion service",
    "gdx-catalog": "บริการบัญชีข้อมูล / catalog service",
    "gdx-admin": "ผู้ดูแลระบบ / platform admin",
}
_READS = ("catalog.read",)


def _local_time(iso: str) -> str:
    from datetime import datetime

    from gdx.ingest.paths import BANGKOK

    return datetime.fromisoformat(iso).astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M:%S")


def _detail_text(detail: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in detail.items() if k != "note")


def _principal_names(settings: Any) -> tuple[dict[str, str], bool]:
    """Display names by principal, and whether the agencies registry could be read."""
    names = dict(PLATFORM_PRINCIPALS)
    try:
        from gdx.agencies import load_agencies

        names.update(
            {code: a.name_th or a.name_en for code, a in load_agencies(settings.contracts_dir).items()}
        )
    except Exception:  # the registry is a nicety here: the log itself names principals by code
        return names, False
    return names, True


def _print_table(entries: list[AuditEntry], names: dict[str, str], title: str, dataset: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if dataset:
        reads: Counter[str] = Counter()
        denied: Counter[str] = Counter()
        last: dict[str, str] = {}
        for e in entries:
            if e.action in _READS:
                reads[e.principal] += 1
                last[e.principal] = e.time
            elif e.action == "catalog.denied" or e.outcome == "denied":
                denied[e.principal] += 1
        who = Table(title=f"ใครอ่านชุดข้อมูลนี้ / Who read {dataset}")
        for col in (
            "หน่วยงาน / principal",
            "ชื่อ / name",
            "อ่าน / reads",
            "ถูกปฏิเสธ / denied",
            "อ่านล่าสุด / last read",
        ):
            who.add_column(col, justify="right" if col.startswith(("อ่าน /", "ถูก")) else "left")
        for principal in sorted(set(reads) | set(denied), key=lambda p: (-reads[p], p)):
            who.add_row(
                principal, names.get(principal, ""), f"{reads[principal]:,}", f"{denied[principal]:,}",
                _local_time(last[principal]) if principal in last else "–",
            )  # fmt: skip
        if not reads and not denied:
            who.add_row("–", "ไม่มีผู้อ่าน / nobody", "0", "0", "–")
        console.print(who)
    table = Table(title=title)
    for col in (
        "ลำดับ / seq", "เวลา / time (+07)", "ผู้กระทำ / principal", "การกระทำ / action",
        "ชุดข้อมูล / dataset", "ผล / outcome", "รายละเอียด / detail",
    ):  # fmt: skip
        table.add_column(col, justify="right" if col.startswith("ลำดับ") else "left", overflow="fold")
    styles = {"denied": "yellow", "error": "red"}
    for e in entries:
        table.add_row(
            str(e.seq), _local_time(e.time), e.principal, e.action, e.dataset or "–", e.outcome,
            _detail_text(e.detail), style=styles.get(e.outcome),
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(entries):,} รายการ / entries")


def register(app: typer.Typer) -> None:
    audit = typer.Typer(
        help="The tamper-evident audit log: who read, issued, changed what.", no_args_is_help=True
    )

    @audit.command("show")
    def show(
        dataset: Annotated[
            str | None, typer.Option("--dataset", help="Contract id, e.g. moi.informal_debt_cases.")
        ] = None,
        agency: Annotated[
            str | None,
            typer.Option(
                "--agency", help="Who acted: an agency code (dopa) or gdx-ingest/gdx-catalog/gdx-admin."
            ),
        ] = None,
        action: Annotated[
            str | None, typer.Option("--action", help="e.g. catalog.read, token.issue, ingest.batch.")
        ] = None,
        since: Annotated[
            str | None, typer.Option("--since", help="From this time on (ISO, e.g. 2026-12-01; UTC).")
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="One JSON object per entry (JSON Lines).")
        ] = False,
    ) -> None:
        """Entries of the audit log, filtered; with --dataset also who read it and how often."""
        from gdx.audit import AuditError, AuditLog
        from gdx.settings import Settings

        settings = Settings.from_env()
        names, registry = _principal_names(settings)
        if agency is not None and registry and agency not in names:
            raise fail(f"unknown agency {agency!r} / ไม่รู้จักหน่วยงานนี้: known: {', '.join(sorted(names))}")
        try:
            log = AuditLog.from_settings(settings)
            entries = log.entries(dataset=dataset, principal=agency, action=action, since=since)
        except (AuditError, ValueError) as exc:
            raise fail(str(exc)) from None
        if as_json:
            for e in entries:
                typer.echo(json.dumps(e.__dict__, ensure_ascii=False))
        else:
            filters = ", ".join(
                f"{k}={v}"
                for k, v in (("dataset", dataset), ("agency", agency), ("action", action), ("since", since))
                if v
            )
            _print_table(
                entries, names, f"บันทึกการตรวจสอบ / Audit log{f' ({filters})' if filters else ''}", dataset
            )
        report = log.verify(ledger=False)
        if not report.ok:
            typer.secho(
                f"คำเตือน / warning: the audit log does not verify: {report.problem.message} (gdx audit verify)",
                fg=typer.colors.RED, err=True,
            )  # fmt: skip

    @audit.command("verify")
    def verify(
        anchor: Annotated[
            str | None,
            typer.Option(
                "--anchor", help="A head printed earlier (<seq>:<sha256>): it must still be on the chain."
            ),
        ] = None,
        no_ledger: Annotated[
            bool, typer.Option("--no-ledger", help="Check the chain only, not the ledger files.")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
    ) -> None:
        """Check the hash chain and every ledger file; exit 1 naming the first bad entry or file."""
        from gdx.audit import AuditLog

        report = AuditLog.from_settings().verify(ledger=not no_ledger, anchor=anchor)
        if as_json:
            out = {
                "ok": report.ok, "entries": report.entries, "ledger_files": report.ledger_files,
                "head": report.anchor, "notes": report.notes,
                "problem": report.problem.__dict__ if report.problem else None,
            }  # fmt: skip
            typer.echo(json.dumps(out, ensure_ascii=False))
            raise typer.Exit(0 if report.ok else 1)
        for note in report.notes:
            typer.echo(f"note: {note}", err=True)
        if not report.ok:
            raise fail(f"บันทึกการตรวจสอบถูกแก้ไข / audit log tampered: {report.problem.message}")
        typer.echo(
            f"บันทึกการตรวจสอบครบถ้วน / audit log intact: {report.entries:,} entries, "
            f"{report.ledger_files:,} ledger files on the chain"
        )
        typer.echo(f"head: {report.anchor}")
        typer.echo(
            "(record the head elsewhere; `gdx audit verify --anchor <head>` later proves no rewrite)",
            err=True,
        )

    app.add_typer(audit, name="audit")
