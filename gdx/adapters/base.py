"""What every source adapter yields: one `SourceRow` per source record, keyed by contract names.

Adapters only read and reshape (file format quirks, column names, units of time); converting
values to the contract's types is the `Normaliser`'s job, so every source gets the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gdx.contracts.model import Contract
from gdx.producer.report import Violation


@dataclass(slots=True)
class SourceRow:
    """One source record: values by contract property name, plus what the adapter already found wrong."""

    record: int
    """1-based number of the record in the source."""
    line: int | None
    values: dict[str, Any]
    raw: Any = None
    """The record exactly as read, kept for the rejects file."""
    violations: list[Violation] = field(default_factory=list)


class Adapter(Protocol):
    """Reads one source format; `stats` collects counts worth reporting (e.g. duplicates dropped)."""

    name: str

    def read(self, path: Path, contract: Contract, stats: dict[str, int]) -> Iterator[SourceRow]: ...


_HEADER_DROP = str.maketrans("", "", "_-\ufeff\u200b")


def _header_key(text: str) -> str:
    # Case-, space-, underscore- and BOM-insensitive: "Station ID", "station_id" and
    # "\ufeffSTATIONID" all match.
    return "".join(str(text).translate(_HEADER_DROP).split()).casefold()


class HeaderMap:
    """Maps source column names to contract property names through the contract's `aliases`."""

    def __init__(self, contract: Contract, extra: Mapping[str, str] | None = None) -> None:
        index: dict[str, str] = {}
        for prop in contract.properties:
            for alias in (prop.name, *prop.aliases):
                index.setdefault(_header_key(alias), prop.name)
        for alias, name in (extra or {}).items():
            index.setdefault(_header_key(alias), name)
        self._index = index

    def resolve(self, header: str) -> str | None:
        return self._index.get(_header_key(header))

    def plan(self, headers: Iterable[str]) -> list[tuple[int, str]]:
        """(column index, property) for each header that maps; the first of duplicates wins."""
        seen: set[str] = set()
        out: list[tuple[int, str]] = []
        for i, header in enumerate(headers):
            name = self.resolve(header) if header is not None else None
            if name is not None and name not in seen:
                seen.add(name)
                out.append((i, name))
        return out
