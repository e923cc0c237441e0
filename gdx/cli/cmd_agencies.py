"""`gdx agencies …`: the agencies' identities on the exchange (API tokens of the catalog, Kafka credentials).

`agencies_app` is the group; other modules add their commands to it (`gdx agencies provision`
for Kafka credentials) with `@agencies_app.command(...)` before the CLI runs.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from gdx.cli.errors import fail

agencies_app = typer.Typer(
    name="agencies",
    help="หน่วยงานบนระบบแลกเปลี่ยน — Agencies on the exchange: API tokens of the catalog.",
    no_args_is_help=True,
)


def _store() -> Any:
    from gdx.security.tokens import TokenStore, default_tokens_path

    return TokenStore(default_tokens_path())


def _audit(principal: str, action: str, detail: dict[str, Any]) -> None:
    """Append to the audit log (`gdx audit show`); raises if the entry cannot be written."""
    import getpass

    from gdx.audit import AuditLog
    from gdx.settings import Settings

    log = AuditLog.from_settings(Settings.from_env())
    log.append(
        principal=principal, action=action, outcome="ok", detail={**detail, "operator": getpass.getuser()}
    )


@agencies_app.command("token")
def token_cmd(
    agency: Annotated[str, typer.Argument(help="Agency code from the agencies registry, e.g. moi.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for (shown in listings).")] = "",
) -> None:
    """Issue an API token for AGENCY and print it once (only its SHA-256 is kept)."""
    from gdx.agencies import AgencyRegistryError, load_agencies
    from gdx.contracts.model import ContractError
    from gdx.security.tokens import TokenError

    try:
        agencies = load_agencies()
    except (AgencyRegistryError, ContractError) as exc:
        raise fail(str(exc)) from None
    store = _store()
    try:
        record, token = store.issue(agency, agencies, label)
    except TokenError as exc:
        raise fail(str(exc)) from None
    try:
        _audit(agency, "token.issue", {"token_id": record.id, "label": record.label})
    except Exception as exc:
        store.forget(record.id)  # an unaudited token must not exist
        raise fail(f"the token was not issued: cannot write the audit log: {exc}") from None
    typer.echo(token)  # stdout: the token alone, so `TOKEN=$(gdx agencies token moi)` works
    typer.echo(
        f"token {record.id} for {agency} (เก็บรักษาให้ปลอดภัย แสดงเพียงครั้งเดียว — store it safely, it is shown "
        f"only once). Send it as the `Authorization` header; revoke with `gdx agencies revoke {record.id}`.",
        err=True,
    )


@agencies_app.command("tokens")
def tokens_cmd(
    agency: Annotated[str | None, typer.Argument(help="Only this agency's tokens.")] = None,
) -> None:
    """List issued tokens: id, agency, label, created, revoked (never the token)."""
    from rich.console import Console
    from rich.table import Table

    from gdx.security.tokens import TokenError

    try:
        records = _store().records(agency)
    except TokenError as exc:
        raise fail(str(exc)) from None
    table = Table("id", "agency", "label", "created", "revoked")
    for r in records:
        table.add_row(r.id, r.agency, r.label, r.created, r.revoked or "")
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@agencies_app.command("revoke")
def revoke_cmd(
    token_id: Annotated[str, typer.Argument(help="The token's id (from `gdx agencies tokens`).")],
) -> None:
    """Revoke a token; a running `gdx serve` refuses it from its next request on."""
    from gdx.security.tokens import TokenError

    store = _store()
    try:
        before = next((r for r in store.records() if r.id == token_id), None)
        record = store.revoke(token_id)
    except TokenError as exc:
        raise fail(str(exc)) from None
    if before is not None and before.revoked is not None:
        typer.echo(f"token {record.id} ({record.agency}) was already revoked at {record.revoked}")
        return
    try:
        _audit(record.agency, "token.revoke", {"token_id": record.id, "label": record.label})
    except Exception as exc:  # the revocation stands: refusing access is the safe side
        raise fail(f"token {record.id} is revoked, but the audit log could not be written: {exc}") from None
    typer.echo(f"revoked token {record.id} ({record.agency}) at {record.revoked}")


def register(app: typer.Typer) -> None:
    app.add_typer(agencies_app, name="agencies")
