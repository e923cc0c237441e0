"""How the CLI reports an expected failure: one clear line on stderr and a non-zero exit."""

from __future__ import annotations

import typer


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `error: message` in red on stderr; `raise fail(...)` ends the command with `code`."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)
