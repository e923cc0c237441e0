"""The `gdx` command line.

Each `gdx/cli/cmd_*.py` module adds its commands through `register(app)`; heavy libraries are
imported inside the commands so that `gdx --help` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

from gdx import __version__

app = typer.Typer(
    name="gdx",
    help="GDX One Data: publish, ingest, model and serve inter-agency data under data contracts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gdx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """GDX One Data command line."""


def _register_commands() -> None:
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("cmd_")):
        importlib.import_module(f"{__name__}.{module}").register(app)


_register_commands()


def main() -> None:
    app()
