"""Read-only access to the dbt marts the service shows.

The preferred source is the Parquet export dbt's `export_parquet()` post-hook writes
(`$GDX_EXPORT_DIR/<model>.parquet`, by default `<dir of GDX_WAREHOUSE>/exports/`), which DuckDB
replaces atomically (write to a temporary file, rename): reading it takes no lock, so dbt can rebuild the
warehouse while the service runs. Without an export the model is read from the DuckDB file opened
`read_only=True`; if dbt holds the write lock at that moment, the last rows read stay in use.

The marts are small (datasets × provinces × KPIs × months), so each model is read whole into a list
of plain dicts, cached until its file changes, and filtered in Python: no SQL is ever built from a
request.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KPI_MART = "mart_provincial_kpi"
QUALITY_MART = "mart_data_quality"
CATALOG_MART = "mart_open_data_catalog"
MARTS = (KPI_MART, QUALITY_MART, CATALOG_MART)

Row = dict[str, Any]


def _plain(value: Any) -> Any:
    """Arrow → JSON-friendly Python: Decimal as float (the marts' numeric columns are measures)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _file_signature(path: Path) -> tuple[str, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path), stat.st_mtime_ns, stat.st_size)


def read_duckdb_relation(warehouse: Path, name: str) -> Any | None:
    """Relation `name` (any schema) of the warehouse as a pyarrow Table, opened read-only; None if absent."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        found = con.execute(
            "select table_schema from information_schema.tables where table_name = ? order by table_schema",
            [name],
        ).fetchall()
        if not found:
            return None
        # The name comes from the warehouse's own catalogue, never from a request.
        relation = con.table(f'"{found[0][0]}"."{name}"')
        return (
            relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.fetch_arrow_table()
        )
    finally:
        con.close()


class MartStore:
    """The marts as lists of rows, re-read when their export (or the warehouse) changes."""

    def __init__(self, warehouse: Path, exports_dir: Path | None = None) -> None:
        self.warehouse = Path(warehouse)
        self.exports_dir = Path(exports_dir) if exports_dir else self.warehouse.parent / "exports"
        self._cache: dict[str, tuple[Any, list[Row]]] = {}
        self._lock = threading.Lock()

    def source(self, model: str) -> tuple[str, Any]:
        """Where `model` is read from now: ("export", signature), ("duckdb", signature) or ("none", None)."""
        export = _file_signature(self.exports_dir / f"{model}.parquet")
        if export is not None:
            return "export", export
        warehouse = _file_signature(self.warehouse)
        if warehouse is not None:
            return "duckdb", warehouse
        return "none", None

    def signature(self) -> tuple[Any, ...]:
        """Changes whenever any mart may have changed; keys caches derived from the marts."""
        return tuple(self.source(model) for model in MARTS)

    def rows(self, model: str) -> list[Row]:
        """All rows of `model` (empty when it has not been built yet). Callers must not mutate them."""
        kind, signature = self.source(model)
        with self._lock:
            cached = self._cache.get(model)
            if cached is not None and cached[0] == (kind, signature):
                return cached[1]
            try:
                rows = self._read(model, kind)
            except Exception as exc:  # a half-written export or dbt holding the write lock
                if cached is not None:
                    log.warning("keeping the previous %s rows: %s", model, exc)
                    return cached[1]
                log.warning("cannot read %s yet: %s", model, exc)
                return []
            self._cache[model] = ((kind, signature), rows)
            return rows

    def _read(self, model: str, kind: str) -> list[Row]:
        if kind == "export":
            import pyarrow.parquet as pq

            table = pq.read_table(self.exports_dir / f"{model}.parquet")
        elif kind == "duckdb":
            table = read_duckdb_relation(self.warehouse, model)
            if table is None:
                return []
        else:
            return []
        return [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]


def pick(row: Row, *names: str, default: Any = None) -> Any:
    """The first of `names` the row has a non-null value for (mart columns may be spelled a few ways)."""
    for name in names:
        value = row.get(name)
        if value is not None:
            return value
    return default


def as_list(value: Any) -> list[str]:
    """A list column, or a comma/semicolon separated text column, as a list of non-empty strings."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        import json

        try:
            return as_list(json.loads(text))
        except ValueError:
            pass
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number  # NaN is "no value"


def iso(value: Any) -> str | None:
    """Dates and timestamps as ISO 8601 text; anything else as str; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
