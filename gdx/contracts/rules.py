"""Evaluate a contract's record-level rules, and build the frame the GX suite validates.

Convention shared with `gdx.contracts.exporters.gx` and the ingestion engine: before running a
contract's Great Expectations suite, the engine adds one boolean column `_rule_<rule id>` per
`Contract.rules` entry (True = the record passes) to the frame of normalised records; the suite
asserts each of them with `expect_column_values_to_be_in_set([True])`. `validation_frame` does
exactly that, so the engine, the tests and any other caller agree on types and rule results.

Rules are evaluated on normalised values (JSON types: dates `YYYY-MM-DD`, timestamps ISO 8601
with offset; `date`/`datetime` objects are accepted too). A rule whose inputs are null (or of a
type the rule cannot read) passes: completeness and types are other expectations' job.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gdx.contracts.model import Contract, Rule

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["evaluate_rule", "rule_results", "validation_frame"]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10]) if len(value) == 10 else None
        except ValueError:
            return None
    return None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _comparable(value: Any) -> Any:
    """Numbers stay numbers; ISO dates/timestamps become date/datetime; else None (not comparable)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        return _as_date(value) if len(value) == 10 else _as_datetime(value)
    return None


@cache
def _known_provinces() -> frozenset[str]:
    from gdx.thai.provinces import all_provinces

    return frozenset(p.iso_3166_2 for p in all_provinces())


def _citizen_id_ok(value: Any) -> bool:
    from gdx.thai.citizen_id import is_valid_citizen_id

    return isinstance(value, str) and len(value) == 13 and value.isascii() and is_valid_citizen_id(value)


def _compare(left: Any, op: str, right: Any) -> bool:
    a, b = _comparable(left), _comparable(right)
    if a is None or b is None:
        return True
    if isinstance(a, datetime) != isinstance(b, datetime):
        return True  # a date against a timestamp: not this rule's business
    try:
        return {"<": a < b, "<=": a <= b, "==": a == b, ">=": a >= b, ">": a > b}[op]
    except TypeError:
        return True


def _matches(record: Mapping[str, Any], spec: Mapping[str, Any]) -> bool:
    return all(
        not _missing(record.get(col)) and record.get(col) in list(values) for col, values in spec.items()
    )


def _branch(record: Mapping[str, Any], params: Mapping[str, Any], branch: str) -> bool:
    for col, values in (params.get(f"{branch}_in") or {}).items():
        value = record.get(col)
        if not _missing(value) and value not in list(values):
            return False
    if any(_missing(record.get(col)) for col in params.get(f"{branch}_not_null") or []):
        return False
    return all(_missing(record.get(col)) for col in params.get(f"{branch}_null") or [])


def evaluate_rule(rule: Rule, record: Mapping[str, Any]) -> bool:
    """True when `record` (a normalised record, property name → value) passes `rule`."""
    p = rule.params
    if rule.kind == "thai_citizen_id_checksum":
        value = record.get(p["column"])
        return True if _missing(value) else _citizen_id_ok(value)
    if rule.kind == "province_code_known":
        value = record.get(p["column"])
        return True if _missing(value) else value in _known_provinces()
    if rule.kind == "compare":
        return _compare(record.get(p["left"]), p["op"], record.get(p["right"]))
    if rule.kind == "sum_balance":
        values = [record.get(p["total"]), *(record.get(c) for c in p["parts"])]
        if any(_missing(v) or isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            return True
        total, parts = values[0], sum(values[1:])
        tolerance = max(float(p.get("tolerance_abs") or 0), float(p.get("tolerance_rel") or 0) * abs(total))
        return abs(total - parts) <= tolerance + 1e-9
    if rule.kind == "conditional":
        if any(_missing(record.get(col)) for col in p["when"]):
            return True
        return _branch(record, p, "then" if _matches(record, p["when"]) else "else")
    if rule.kind == "first_of_month":
        value = record.get(p["column"])
        d = None if _missing(value) else _as_date(value)
        return True if d is None else d.day == 1
    if rule.kind == "local_date":
        d_raw, ts_raw = record.get(p["date"]), record.get(p["timestamp"])
        if _missing(d_raw) or _missing(ts_raw):
            return True
        d = _as_date(d_raw)
        ts = _as_datetime(ts_raw.to_pydatetime() if hasattr(ts_raw, "to_pydatetime") else ts_raw)
        if d is None or ts is None or ts.tzinfo is None:
            return True
        return ts.astimezone(ZoneInfo(p.get("timezone") or "Asia/Bangkok")).date() == d
    raise ValueError(f"unknown rule kind {rule.kind!r}")


def rule_results(contract: Contract, record: Mapping[str, Any]) -> dict[str, bool]:
    """`{rule id: passed}` for every rule of the contract."""
    return {rule.id: evaluate_rule(rule, record) for rule in contract.rules}


def _typed(series: pd.Series, logical_type: str, timezone: str | None) -> pd.Series:
    """Convert a column of normalised JSON values to its pandas dtype; leave it as is if it does not convert."""
    import pandas as pd

    try:
        if logical_type == "integer":
            if any(
                isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()) for v in series.dropna()
            ):
                return series
            return series.astype("Int64")
        if logical_type == "number":
            if any(isinstance(v, bool | str) for v in series.dropna()):
                return series
            return series.astype("Float64")
        if logical_type == "boolean":
            if any(not isinstance(v, bool) for v in series.dropna()):
                return series
            return series.astype("boolean")
        if logical_type == "date":
            # python `date` objects, not datetime64: GX compares them with its ISO-date bounds
            values = [None if _missing(v) else _as_date(v) for v in series]
            if any(d is None and not _missing(v) for d, v in zip(values, series, strict=True)):
                return series
            return pd.Series(values, index=series.index, dtype=object)
        if logical_type == "timestamp":
            converted = pd.to_datetime(series, format="ISO8601", utc=True, errors="raise")
            return converted.dt.tz_convert(timezone or "Asia/Bangkok")
    except (ValueError, TypeError):
        return series
    return series.astype(object)


def validation_frame(contract: Contract, records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The frame the contract's GX suite validates: one column per property, typed, then `_rule_*`.

    Dates become python `date` objects (object dtype), timestamps tz-aware `datetime64` in the property's
    timezone, integers `Int64`, numbers `Float64`, booleans `boolean`; a column whose values do
    not all convert keeps its raw values (the suite then fails on it). Missing keys are null.
    Personal data is still in clear here: the frame is validated before pseudonymisation.
    """
    import pandas as pd

    rows = [dict(r) for r in records]
    data: dict[str, Any] = {}
    for prop in contract.properties:
        raw = pd.Series([r.get(prop.name) for r in rows], dtype=object)
        data[prop.name] = _typed(raw, prop.logical_type, prop.timezone)
    for rule in contract.rules:
        data[rule.column] = pd.Series([evaluate_rule(rule, r) for r in rows], dtype=bool)
    return pd.DataFrame(data, index=range(len(rows)))
