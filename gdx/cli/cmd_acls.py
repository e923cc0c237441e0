"""`gdx acls desired|plan|apply`: the broker's ACLs, derived from the contracts (gdx.security.acls)."""

from __future__ import annotations

from typing import Any

import typer

from gdx.cli.errors import fail

PENDING_EXIT = 2
"""`gdx acls plan` exits 2 when the broker differs from the contracts (like `terraform plan
-detailed-exitcode`), so a CI step or `gdx kafka up` can tell "in sync" from "changes pending"."""


def _context() -> tuple[Any, Any, set[Any]]:
    """Settings, the agencies registry and the desired bindings; contract errors end the command."""
    from gdx.agencies import AgencyRegistryError, load_agencies
    from gdx.contracts.model import ContractError, load_all
    from gdx.security.acls import AclError, desired_bindings
    from gdx.settings import Settings

    settings = Settings.from_env()
    try:
        agencies = load_agencies(settings.contracts_dir)
        desired = desired_bindings(load_all(settings.contracts_dir), agencies)
    except (ContractError, AgencyRegistryError, AclError) as exc:
        raise fail(str(exc)) from None
    return settings, agencies, desired


def _admin(settings: Any) -> Any:
    """An AdminClient connected as the super user `gdx-admin`."""
    from gdx.security.acls import ADMIN, admin_client
    from gdx.security.kafka_conn import KafkaConfigError, connection_for

    try:
        return admin_client(connection_for(ADMIN, settings))
    except KafkaConfigError as exc:
        raise fail(str(exc)) from None


def register(app: typer.Typer) -> None:
    acls = typer.Typer(
        help="สิทธิ์ Kafka จากสัญญาข้อมูล / Kafka ACLs derived from the data contracts (deny by default).",
        no_args_is_help=True,
    )

    @acls.command("desired")
    def desired_cmd() -> None:
        """Print every binding the contracts imply, grouped by principal (no broker needed)."""
        from gdx.security.acls import format_bindings

        _, agencies, desired = _context()
        typer.echo(format_bindings(desired, agencies))
        typer.echo(f"รวม / total: {len(desired)}")

    @acls.command("plan")
    def plan_cmd() -> None:
        """Show what `gdx acls apply` would add and remove (as gdx-admin).

        Exit status: 0 = the broker matches the contracts; 2 = changes are pending; 1 = error.
        """
        from gdx.security.acls import AclError, current_bindings, format_plan, managed_principals, plan

        settings, agencies, desired = _context()
        try:
            current = current_bindings(_admin(settings), managed_principals(agencies))
        except AclError as exc:
            raise fail(str(exc)) from None
        p = plan(desired, current)
        typer.echo(format_plan(p, agencies))
        if not p.in_sync:
            raise typer.Exit(PENDING_EXIT)

    @acls.command("apply")
    def apply_cmd() -> None:
        """Make the broker's ACLs match the contracts (as gdx-admin); idempotent, each change audited.

        Exit status: 0 = the broker now matches the contracts (or already did); 1 = error.
        """
        from gdx.security.acls import AclError, format_plan, sync
        from gdx.security.kafka_conn import KafkaConfigError

        settings, agencies, _ = _context()
        try:
            p, result = sync(settings)
        except (AclError, KafkaConfigError) as exc:
            raise fail(str(exc)) from None
        typer.echo(format_plan(p, agencies))
        if not p.in_sync:
            typer.echo(f"ใช้แล้ว / applied: +{len(result.added)} -{len(result.removed)}")

    app.add_typer(acls, name="acls")
