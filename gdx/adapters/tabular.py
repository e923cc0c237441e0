"""Tabular agency files (CSV, TSV, XLSX, JSON array, NDJSON) → source rows of a contract.

Column headers are matched to contract properties through each property's `aliases` (Thai or
English, case- and space-insensitive). The header row is the first row, within the first ten,
that maps the most columns, because agency spreadsheets often put a title above the table.
Unmapped columns are kept in the raw record only. Value conversion (thousands separators, "-",
Thai digits, Buddhist-Era dates, yes/no words) is the `Normaliser`'s job.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from gdx.adapters.base import HeaderMap, SourceRow
from gdx.adapters.textfile import read_delimited
from gdx.contracts.model import Contract
from gdx.producer.report import Violation

HEADER_SCAN_ROWS = 10


def find_header(rows: Sequence[Sequence[Any]], headers: HeaderMap) -> int:
    """Index of the header row among `rows` (the one mapping most columns; 0 if none maps)."""
    best, best_n = 0, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        n = len(headers.plan([str(c) if c is not None else "" for c in row]))
        if n > best_n:
            best, best_n = i, n
    return best


def _bad_encoding() -> Violation:
    return Violation(
        None, "bad_encoding", "the row contains bytes that are not valid text in the file's encoding"
    )


def rows_from_cells(
    contract: Contract,
    rows: Iterable[tuple[int | None, Sequence[Any], bool]],
    headers: HeaderMap | None = None,
) -> Iterator[SourceRow]:
    """Map (line, cells, encoding_error) rows to `SourceRow`s; the header row is found first."""
    headers = headers or HeaderMap(contract)
    it = iter(rows)
    head: list[tuple[int | None, Sequence[Any], bool]] = []
    for item in it:
        head.append(item)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    if not head:
        return
    h = find_header([cells for _, cells, _ in head], headers)
    names = [str(c).strip() if c is not None else "" for c in head[h][1]]
    plan = headers.plan(names)
    if not plan:
        raise ValueError(
            f"no column matches a property of {contract.id}; headers were {names[:12]} "
            f"(expected names/aliases such as {[p.aliases[0] if p.aliases else p.name for p in contract.properties][:6]})"
        )
    n = 0

    def convert(line: int | None, cells: Sequence[Any], broken: bool) -> SourceRow:
        values = {name: (cells[i] if i < len(cells) else None) for i, name in plan}
        raw = {names[i] if i < len(names) and names[i] else f"col{i + 1}": c for i, c in enumerate(cells)}
        return SourceRow(n, line, values, raw=raw, violations=[_bad_encoding()] if broken else [])

    for line, cells, broken in [*head[h + 1 :], *it]:
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        n += 1
        yield convert(line, cells, broken)


class DelimitedAdapter:
    """CSV or TSV, UTF-8 (with or without BOM) or TIS-620/cp874."""

    def __init__(self, delimiter: str | None = None, name: str = "csv") -> None:
        self.delimiter = delimiter
        self.name = name

    def read(self, path: Path, contract: Contract, stats: dict[str, int]) -> Iterator[SourceRow]:
        encoding, rows = read_delimited(path, self.delimiter)
        stats[f"encoding:{encoding}"] = 1
        yield from rows_from_cells(contract, ((r.line, r.cells, r.encoding_error) for r in rows))


class XlsxAdapter:
    """The first worksheet of an .xlsx workbook (cell types kept: numbers, dates, booleans)."""

    name = "xlsx"

    def read(self, path: Path, contract: Contract, stats: dict[str, int]) -> Iterator[SourceRow]:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            rows = ((i, list(r), False) for i, r in enumerate(ws.iter_rows(values_only=True), start=1))
            yield from rows_from_cells(contract, rows)
        finally:
            wb.close()


def _object_rows(contract: Contract, items: Iterable[tuple[int | None, Any]]) -> Iterator[SourceRow]:
    headers = HeaderMap(contract)
    plans: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for n, (line, obj) in enumerate(items, start=1):
        if not isinstance(obj, dict):
            yield SourceRow(
                n,
                line,
                {},
                raw=obj,
                violations=[Violation(None, "wrong_type", "record is not a JSON object")],
            )
            continue
        keys = tuple(obj)
        plan = plans.get(keys)
        if plan is None:  # records of one file nearly always share their keys: map them once
            plan = [(k, name) for i, name in headers.plan(keys) for k in (keys[i],)]
            plans[keys] = plan
        yield SourceRow(n, line, {name: obj[k] for k, name in plan}, raw=obj)


class JsonArrayAdapter:
    """A JSON array of objects (or `{"data"|"records"|"items": [...]}`)."""

    name = "json"

    def read(self, path: Path, contract: Contract, stats: dict[str, int]) -> Iterator[SourceRow]:
        payload = orjson.loads(Path(path).read_bytes())
        if isinstance(payload, dict):
            for key in ("data", "records", "items", "rows"):
                if isinstance(payload.get(key), list):
                    payload = payload[key]
                    break
        if not isinstance(payload, list):
            raise ValueError(f"{path}: expected a JSON array of records")
        yield from _object_rows(contract, ((None, obj) for obj in payload))


class NdjsonAdapter:
    """One JSON object per line; a line that is not JSON is rejected with its line number."""

    name = "ndjson"

    def read(self, path: Path, contract: Contract, stats: dict[str, int]) -> Iterator[SourceRow]:
        def items() -> Iterator[tuple[int | None, Any]]:
            with open(path, "rb") as fh:
                for i, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        yield i, orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        yield i, _BadJson(line.decode("utf-8", errors="replace").rstrip("\n"), str(exc))

        for row in _object_rows(contract, items()):
            if isinstance(row.raw, _BadJson):
                row.violations = [Violation(None, "bad_json", f"not a JSON object: {row.raw.error}")]
                row.raw = row.raw.text
            yield row


class _BadJson:
    __slots__ = ("error", "text")

    def __init__(self, text: str, error: str) -> None:
        self.text, self.error = text, error
