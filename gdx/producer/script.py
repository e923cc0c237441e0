"""Shared body of the per-source scripts in `producers/`: `gdx produce` with fixed contract/format."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(contract_id: str | None, fmt: str = "auto", argv: Sequence[str] | None = None) -> int:
    """Run `gdx produce CONTRACT FILE --format FMT [options]`; returns the exit status.

    With `contract_id=None` the first argument is the contract id (the generic tabular script).
    """
    from gdx.cli import app

    args = list(sys.argv[1:] if argv is None else argv)
    if contract_id is None:
        if not args:
            print("usage: tabular.py CONTRACT_ID FILE [gdx produce options]", file=sys.stderr)
            return 2
        contract_id, args = args[0], args[1:]
    if not any(a == "--format" or a.startswith("--format=") or a == "-f" for a in args):
        args += ["--format", fmt]
    try:
        app(["produce", contract_id, *args], prog_name="gdx produce", standalone_mode=True)
    except SystemExit as exc:  # typer ends with SystemExit(code)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0
