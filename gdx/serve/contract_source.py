"""The contracts as the catalog service reads them: fast to load, re-read file by file.

At national scale (8,000 contracts) `load_all` with the pure-Python YAML parser and line numbers
takes minutes, and the service re-read every contract whenever any one changed. The service needs
neither the line numbers (they only make error messages precise) nor a full re-read, so:

- a file is parsed with libyaml (`CSafeLoader`) when PyYAML has it, without line numbers; a file
  that does not parse or validate is read again with `load_contract`, so the error raised is the
  same precise one `gdx contracts lint` gives;
- parsed contracts are kept by file (path, mtime, size): after an edit only the changed files are
  parsed again;
- the duplicate id / topic checks of `load_all` (`check_unique`) run over the whole set every time.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from gdx.contracts.model import (
    Contract,
    ContractError,
    check_unique,
    contract_paths,
    load_contract,
    parse_contract,
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

FileSignature = tuple[int, int]


def _signature(path: Path) -> FileSignature | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def parse_file(path: Path) -> Contract:
    """One contract, parsed quickly; the precise `ContractError` of `load_contract` if it is bad."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        return parse_contract(raw, path, None)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ContractError):
        return load_contract(path)  # raises the error with its line number (or succeeds on a retry)


class ContractSource:
    """The current contracts of a folder, re-parsing only the files that changed since last time."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._files: dict[Path, tuple[FileSignature, Contract]] = {}

    def signatures(self) -> tuple[tuple[str, FileSignature], ...]:
        """(path, (mtime, size)) of every contract file now: changes when any contract changes."""
        out = []
        for path in contract_paths(self.root):
            sig = _signature(path)
            if sig is not None:
                out.append((str(path), sig))
        return tuple(out)

    def load(self, signatures: tuple[tuple[str, FileSignature], ...] | None = None) -> dict[str, Contract]:
        """All current contracts by id, as `load_all` returns them (same duplicate checks)."""
        signatures = self.signatures() if signatures is None else signatures
        files: dict[Path, tuple[FileSignature, Contract]] = {}
        for name, sig in signatures:
            path = Path(name)
            known = self._files.get(path)
            contract = known[1] if known is not None and known[0] == sig else parse_file(path)
            files[path] = (sig, contract)
        check_unique((path, contract.id, contract.topic) for path, (_, contract) in files.items())
        contracts = {contract.id: contract for _, contract in files.values()}
        self._files = files
        return contracts
