"""`gdx serve`: the open-data catalog (CKAN API, DCAT-AP, downloads) and the governor dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from gdx.cli.errors import fail

if TYPE_CHECKING:
    from gdx.security.tokens import TokenStore


def _token_agencies(tokens: TokenStore) -> list[str]:
    """Agencies holding an active API token: their views are built before serving. A damaged
    store is the requests' problem (each is refused with the reason), not start-up's."""
    from gdx.security.tokens import TokenError

    try:
        return sorted({r.agency for r in tokens.records() if r.active})
    except TokenError:
        return []


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option(None, help="Interface to listen on (default $GDX_SERVE_HOST or 127.0.0.1)."),
        port: int = typer.Option(None, help="TCP port (default $GDX_SERVE_PORT or 8000)."),
        log_level: str = typer.Option("info", help="uvicorn log level."),
        workers: int = typer.Option(
            None,
            help="Worker processes sharing the built catalog (default $GDX_SERVE_WORKERS or one per core, at most 4).",
        ),
    ) -> None:
        """Serve the catalog API, DCAT-AP and the dashboard, read-only from the contracts and marts."""
        from dataclasses import replace

        from gdx.contracts.model import ContractError
        from gdx.serve.config import ServeSettings

        try:
            settings = ServeSettings.from_env()
        except ValueError as exc:
            raise fail(str(exc)) from None
        settings = replace(
            settings, host=host or settings.host, port=port if port is not None else settings.port
        )
        if not 0 < settings.port < 65536:
            raise fail(f"port {settings.port} is out of range")
        if not settings.contracts_dir.is_dir():
            raise fail(f"no contracts folder at {settings.contracts_dir} (set GDX_CONTRACTS_DIR)")

        import socket

        import uvicorn

        from gdx.serve.app import create_app
        from gdx.serve.workers import default_workers, serve_forked

        try:
            count = workers if workers is not None else default_workers()
        except ValueError as exc:
            raise fail(str(exc)) from None
        if count < 1:
            raise fail(f"--workers {count} must be at least 1")
        try:  # bound here, once, and shared by every worker; uvicorn would only log a failed bind
            sock = socket.create_server((settings.host, settings.port), backlog=2048)
        except OSError as exc:
            raise fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from None

        application = create_app(settings)
        catalog = application.state.catalog
        try:
            # fail early on bad contracts; build the views of anonymous callers and token holders
            agencies = _token_agencies(application.state.tokens)
            catalog.warm(settings.base_url or f"http://{settings.host}:{settings.port}", agencies)
        except ContractError as exc:
            raise fail(str(exc)) from None
        exports = settings.exports_dir
        typer.echo(
            f"serving http://{settings.host}:{settings.port}/ with {count} worker(s) "
            f"(marts: {exports if exports.is_dir() else settings.warehouse})",
            err=True,
        )

        def run(listening: socket.socket) -> None:
            config = uvicorn.Config(application, log_level=log_level, server_header=False)
            uvicorn.Server(config).run(sockets=[listening])

        if count == 1:
            run(sock)
            return

        def run_worker(listening: socket.socket) -> None:
            catalog.after_fork()
            run(listening)

        raise typer.Exit(serve_forked(sock, count, run_worker))
