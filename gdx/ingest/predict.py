"""What the GX suite should find, computed independently with pyarrow compute.

The gate (`gdx.ingest.gate`) runs the real GX suite and compares, expectation by expectation, the
rows GX reports unexpected with the rows predicted here. A row they disagree about never lands
on either verdict: it is quarantined as `gate.disagreement` and the run is flagged for attention
(a fast gate that is silently wrong is worse than a held row). The semantics follow GX 1.24 on pandas:
map expectations ignore nulls (except not-null), regexes are Python `re.search`, lengths are code
points, bounds are inclusive unless `strict_*`, uniqueness flags every copy of a duplicate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

SUPPORTED = frozenset(
    {
        "expect_column_to_exist",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_value_lengths_to_be_between",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
    }
)
# Patterns built only from these pieces match the same strings in RE2 and Python `re`, except that
# Python's `$` also matches before a final newline (RE2: only at the end) — so for them an RE2
# match implies a Python match, and only RE2's non-matches need a second look in Python.
_RE2_SAFE = re.compile(r"^(?:[^\\]|\\[.\-+*?()\[\]{}|^$/])*$")
_RE2_UNSAFE_TOKENS = ("(?", "[^")


class UnsupportedExpectation(ValueError):
    """The suite holds an expectation the gate cannot cross-check."""


@dataclass(frozen=True)
class Prediction:
    unexpected: np.ndarray
    """Bool mask over the rows: True = GX should list the row as unexpected."""
    success: bool
    element_count: int


def _np(mask: pa.Array) -> np.ndarray:
    import pyarrow.compute as pc

    if hasattr(mask, "combine_chunks"):
        mask = mask.combine_chunks()
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _success(unexpected: int, denominator: int, mostly: float | None) -> bool:
    if mostly is None:
        return unexpected == 0
    if denominator == 0:
        return True
    return (denominator - unexpected) / denominator >= mostly


def regex_unexpected(col: pa.Array, pattern: str) -> np.ndarray:
    """Non-null values that Python's `re.search(pattern, value)` does not match."""
    import numpy as np
    import pyarrow.compute as pc

    compiled = re.compile(pattern)
    values_valid = _np(pc.is_valid(col))
    safe = _RE2_SAFE.match(pattern) is not None and not any(t in pattern for t in _RE2_UNSAFE_TOKENS)
    if safe:
        try:
            re2 = _np(pc.match_substring_regex(col, pattern))
        except Exception:  # pattern RE2 cannot compile: all in Python
            safe = False
    if not safe:
        values = col.to_pylist()
        return np.array([v is not None and compiled.search(v) is None for v in values], dtype=bool)
    suspects = np.flatnonzero(values_valid & ~re2)
    out = np.zeros(len(col), dtype=bool)
    if len(suspects):
        texts = col.take(suspects).to_pylist()
        out[suspects] = [compiled.search(t) is None for t in texts]
    return out


def _bound(value: Any, t: pa.DataType) -> Any:
    import pyarrow as pa
    import pyarrow.types as pt
    from dateutil.parser import parse

    if value is None:
        return None
    if pt.is_date(t):
        parsed = parse(value) if isinstance(value, str) else value
        return pa.scalar(parsed.date() if isinstance(parsed, datetime) else parsed, pa.date32())
    if pt.is_timestamp(t):
        parsed = parse(value) if isinstance(value, str) else value
        if isinstance(parsed, date) and not isinstance(parsed, datetime):
            parsed = datetime(parsed.year, parsed.month, parsed.day)
        if (parsed.tzinfo is None) != (t.tz is None):
            raise UnsupportedExpectation(f"bound {value!r} and column timezone awareness differ")
        return pa.scalar(parsed, t)
    if pt.is_integer(t) or pt.is_floating(t):
        return pa.scalar(float(value), pa.float64())
    return pa.scalar(value, t)


def _between(col: pa.Array, lo: Any, hi: Any, strict_min: bool, strict_max: bool) -> pa.Array:
    import pyarrow.compute as pc
    import pyarrow.types as pt

    if pt.is_integer(col.type) or pt.is_floating(col.type):
        col = pc.cast(col, "float64")
    ok = None
    if lo is not None:
        ok = (pc.greater if strict_min else pc.greater_equal)(col, lo)
    if hi is not None:
        upper = (pc.less if strict_max else pc.less_equal)(col, hi)
        ok = upper if ok is None else pc.and_(ok, upper)
    return pc.and_(pc.is_valid(col), pc.invert(ok))


def _duplicates(table: pa.Table, columns: list[str], skip_all_null: bool) -> np.ndarray:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    keyed = table.select(columns).append_column("__row", pa.array(np.arange(n)))
    counts = keyed.group_by(columns, use_threads=False).aggregate([("__row", "count")])
    dup_keys = counts.filter(pc.greater(counts["__row_count"], 1)).drop_columns(["__row_count"])
    out = np.zeros(n, dtype=bool)
    if dup_keys.num_rows:
        joined = keyed.join(dup_keys, columns, join_type="inner")
        out[joined["__row"].to_numpy()] = True
    if skip_all_null:
        all_null = np.ones(n, dtype=bool)
        for c in columns:
            all_null &= _np(pc.is_null(table.column(c)))
        out &= ~all_null
    return out


def predict(expectation: dict[str, Any], table: pa.Table) -> Prediction:
    """The rows `expectation` (a suite entry: type, kwargs) should flag in `table`, and its success."""
    import numpy as np
    import pyarrow.compute as pc

    kind, kw = expectation["type"], expectation["kwargs"]
    n = table.num_rows
    mostly = kw.get("mostly")
    if kind not in SUPPORTED:
        raise UnsupportedExpectation(f"the ingestion gate cannot cross-check {kind}")
    if kind == "expect_column_to_exist":
        return Prediction(np.zeros(n, dtype=bool), kw["column"] in table.column_names, n)
    if kind == "expect_compound_columns_to_be_unique":
        cols = list(kw["column_list"])
        mask = _duplicates(table, cols, kw.get("ignore_row_if", "all_values_are_missing") == "all_values_are_missing")
        return Prediction(mask, _success(int(mask.sum()), n, mostly), n)
    col = table.column(kw["column"])
    if hasattr(col, "combine_chunks"):
        col = col.combine_chunks()
    nonnull = n - col.null_count
    if kind == "expect_column_values_to_not_be_null":
        mask = _np(pc.is_null(col))
        return Prediction(mask, _success(int(mask.sum()), n, mostly), n)
    if kind == "expect_column_values_to_match_regex":
        mask = regex_unexpected(col, kw["regex"])
    elif kind == "expect_column_value_lengths_to_be_between":
        lengths = pc.utf8_length(col)
        lo, hi = kw.get("min_value"), kw.get("max_value")
        mask = _np(_between(lengths, None if lo is None else float(lo), None if hi is None else float(hi),
                            bool(kw.get("strict_min")), bool(kw.get("strict_max"))))  # fmt: skip
    elif kind == "expect_column_values_to_be_between":
        lo, hi = _bound(kw.get("min_value"), col.type), _bound(kw.get("max_value"), col.type)
        mask = _np(_between(col, lo, hi, bool(kw.get("strict_min")), bool(kw.get("strict_max"))))
    elif kind == "expect_column_values_to_be_in_set":
        import pyarrow as pa

        value_set = pa.array(list(kw["value_set"]), col.type)
        mask = _np(pc.and_(pc.is_valid(col), pc.invert(pc.is_in(col, value_set=value_set))))
    else:  # expect_column_values_to_be_unique
        mask = _duplicates(table.select([kw["column"]]), [kw["column"]], True)
    return Prediction(mask, _success(int(mask.sum()), nonnull, mostly), n)
