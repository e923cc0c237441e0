"""`gdx serve`: the open-data catalog (CKAN API, DCAT-AP, downloads) and the governor dashboard."""

from __future__ import annotations

import typer

from gdx.cli.errors import fail


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option(None, help="Interface to listen on (default $GDX_SERVE_HOST or 127.0.0.1)."),
        port: int = typer.Option(None, help="TCP port (default $GDX_SERVE_PORT or 8000)."),
        log_level: str = typer.Option("info", help="uvicorn log level."),
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

        try:  # uvicorn only logs a failed bind; say it as one clear line instead
            with socket.create_server((settings.host, settings.port)):
                pass
        except OSError as exc:
            raise fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}") from None

        application = create_app(settings)
        try:
            # fail early on bad contracts; and build the anonymous view's index before serving
            application.state.catalog.warm(settings.base_url or f"http://{settings.host}:{settings.port}")
        except ContractError as exc:
            raise fail(str(exc)) from None
        exports = settings.exports_dir
        typer.echo(
            f"serving http://{settings.host}:{settings.port}/ (marts: {exports if exports.is_dir() else settings.warehouse})",
            err=True,
        )
        uvicorn.run(
            application, host=settings.host, port=settings.port, log_level=log_level, server_header=False
        )
