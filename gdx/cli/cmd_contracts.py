"""`gdx contracts …`: lint, check compatibility, generate artefacts and list the data contracts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gdx.cli.errors import fail

contracts_app = typer.Typer(
    name="contracts",
    help="Data contracts (ODCS): lint, compatibility, generated artefacts, listing.",
    no_args_is_help=True,
)


@contracts_app.command("lint")
def lint_cmd(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Contract files or folders (default: every contract).")
    ] = None,
    no_odcs: Annotated[
        bool, typer.Option("--no-odcs", help="Skip datacontract-cli's ODCS schema validation.")
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Lint every file again (ignore the results cached by content)."),
    ] = False,
) -> None:
    """Lint contracts with datacontract-cli (ODCS) and GDX's rules; exit 1 on any error.

    Results are cached by content under $GDX_STATE_DIR/cache/contracts: an unchanged file (same
    bytes, linter and agencies registry) is not linted again."""
    from rich.console import Console
    from rich.table import Table

    from gdx.contracts.lint import lint

    for path in paths or []:
        if not path.exists():
            raise fail(f"{path}: no such file or folder", code=2)
    findings = lint(paths or None, odcs=not no_odcs, cache=not no_cache)
    console = Console(width=None if sys.stdout.isatty() else 200)
    if not findings:
        console.print("[green]all contracts pass[/green] (datacontract-cli ODCS + GDX rules)")
        return
    table = Table("file", "line", "rule", "severity", "message", show_lines=False)
    for f in findings:
        colour = "red" if f.severity == "error" else "yellow"
        table.add_row(f.file, str(f.line or ""), f.rule, f"[{colour}]{f.severity}[/{colour}]", f.message)
    console.print(table)
    errors = sum(f.severity == "error" for f in findings)
    console.print(f"{errors} error(s), {len(findings) - errors} warning(s)")
    if errors:
        raise typer.Exit(1)


@contracts_app.command("compat")
def compat_cmd(
    old: Annotated[Path, typer.Argument(help="The earlier contract file.")],
    new: Annotated[Path, typer.Argument(help="The proposed contract file.")],
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            "-m",
            help="BACKWARD, FORWARD, FULL, *_TRANSITIVE or NONE (default: the new contract's).",
        ),
    ] = None,
) -> None:
    """Is NEW a compatible evolution of OLD? Exit 0 yes, 1 listing every violation, 2 usage error."""
    from gdx.contracts.compat import _semver, check_against_history, check_compat, is_compatible, load_history
    from gdx.contracts.model import COMPATIBILITY_MODES, ContractError, load_contract

    if mode is not None and mode.upper() not in COMPATIBILITY_MODES:
        raise fail(f"--mode {mode!r} is not one of {', '.join(COMPATIBILITY_MODES)}", code=2)
    try:
        old_c, new_c = load_contract(old), load_contract(new)
    except ContractError as exc:
        raise fail(str(exc), code=2) from None
    if old_c.id != new_c.id:
        raise fail(f"{new}: contract id {new_c.id!r} differs from {old_c.id!r} in {old}", code=2)
    effective = (mode or new_c.compatibility).upper()
    history = [old_c]
    if effective.endswith("_TRANSITIVE"):
        try:
            history += [c for c in load_history(new_c) if c.version != old_c.version]
        except ContractError as exc:
            raise fail(str(exc), code=2) from None
    if _semver(new_c.version) > _semver(old_c.version):
        violations = check_against_history(new_c, history, effective)
    else:  # same or lower version: compare the two files directly (reports the version problem)
        violations = check_compat(old_c, new_c, effective)
    for v in violations:
        colour = typer.colors.RED if v.severity == "error" else typer.colors.BLUE
        typer.secho(f"  {v}", fg=colour)
    if not is_compatible(violations):
        errors = sum(v.severity == "error" for v in violations)
        typer.secho(
            f"{new_c.id} {new_c.version} is NOT {effective}-compatible with {old_c.version}: {errors} violation(s)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    typer.secho(
        f"{new_c.id} {new_c.version} is {effective}-compatible with {old_c.version}", fg=typer.colors.GREEN
    )


@contracts_app.command("generate")
def generate_cmd(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Write nothing; exit 1 if any generated file is missing, stale or extra."
        ),
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Recompute every contract's output (ignore the content-hash cache and the stat index).",
        ),
    ] = False,
    root: Annotated[
        Path | None,
        typer.Option(
            "--root", help="Repository to write into (default: the folder holding the contracts folder)."
        ),
    ] = None,
) -> None:
    """Write every generated artefact (JSON Schema, GX suite, Arrow schema, catalog, dbt sources, DAGs).

    The generated files sit next to the contracts (contracts/_generated, dbt_project, dags), so
    with GDX_CONTRACTS_DIR=<tree>/contracts they go to <tree>, never into this checkout. A tree
    unchanged since it was last in sync is recognised by a stat index (no file is read)."""
    from gdx.contracts.generate import generate, plan
    from gdx.contracts.model import ContractError
    from gdx.settings import Settings

    if root is None:
        root = Settings.from_env().contracts_dir.parent

    try:
        if check:
            result = plan(root, cache=not no_cache)
            if result.clean:
                typer.secho("generated files are up to date", fg=typer.colors.GREEN)
                return
            for label, paths in (
                ("missing", result.missing),
                ("stale", result.stale),
                ("extra", result.extra),
            ):
                for path in paths:
                    typer.echo(f"  {label}: {path}")
            raise fail(f"{len(result.changed)} generated file(s) out of date; run `gdx contracts generate`")
        changed = generate(root=root, cache=not no_cache)
    except ContractError as exc:
        raise fail(str(exc)) from None
    for path in changed:
        typer.echo(f"  wrote {path}")
    typer.secho(
        f"{len(changed)} file(s) changed" if changed else "generated files are up to date",
        fg=typer.colors.GREEN,
    )


@contracts_app.command("list")
def list_cmd() -> None:
    """List the current contracts: id, version, topic, agency, access level."""
    from rich.console import Console
    from rich.table import Table

    from gdx.contracts.model import ContractError, load_all

    try:
        contracts = load_all()
    except ContractError as exc:
        raise fail(str(exc)) from None
    table = Table("id", "version", "topic", "agency", "access", "title")
    for cid in sorted(contracts):
        c = contracts[cid]
        table.add_row(c.id, c.version, c.topic or "(dbt seed)", c.agency, c.access_level, c.title_th)
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(contracts_app, name="contracts")
