"""Vectorised `_rule_<id>` columns: the contract's semantic rules over a typed Arrow batch.

Same semantics as the reference `gdx.contracts.rules.evaluate_rule` (per record, on JSON values),
computed with pyarrow compute over whole columns: a rule passes when a value it needs is null, a
date compared with a timestamp is not the rule's business (passes). The unit tests check both
agree on random and edge-case data. A rule kind without a vectorised form falls back to the
reference per record, so a new kind is slow, never wrong.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from gdx.contracts.model import Contract, Rule

_WEIGHTS = (13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2)


@cache
def _known_provinces() -> pa.Array:
    import pyarrow as pa

    from gdx.thai.provinces import all_provinces

    return pa.array(sorted(p.iso_3166_2 for p in all_provinces()), pa.string())


def _pass_if_null(result: pa.Array) -> pa.Array:
    import pyarrow.compute as pc

    return pc.fill_null(result, True)


def citizen_id_valid(values: pa.Array) -> pa.Array:
    """True where the string is 13 ASCII digits with a correct mod-11 check digit; null stays null."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    shaped = pc.match_substring_regex(values, r"^[0-9]{13}$")
    ok_idx = np.flatnonzero(pc.fill_null(shaped, False).to_numpy(zero_copy_only=False))
    result = np.zeros(len(values), dtype=bool)
    if len(ok_idx):
        digits = pc.binary_join_element_wise(values.take(ok_idx), "").cast(pa.binary())
        buf = np.frombuffer(b"".join(digits.to_pylist()), dtype=np.uint8).reshape(-1, 13).astype(np.int64) - 48
        total = buf[:, :12] @ np.array(_WEIGHTS, dtype=np.int64)
        check = (11 - total % 11) % 10
        result[ok_idx] = check == buf[:, 12]
    mask = pc.is_null(values).to_numpy(zero_copy_only=False)
    return pa.array(result, mask=mask)


def _numeric(t: pa.DataType) -> bool:
    import pyarrow.types as pt

    return pt.is_integer(t) or pt.is_floating(t)


def _temporal_kind(t: pa.DataType) -> str | None:
    import pyarrow.types as pt

    if pt.is_date(t):
        return "date"
    if pt.is_timestamp(t):
        return "timestamp"
    return None


def _compare(table: pa.Table, left: str, op: str, right: str) -> pa.Array | None:
    import pyarrow.compute as pc

    a, b = table.column(left), table.column(right)
    ta, tb = a.type, b.type
    if _numeric(ta) and _numeric(tb):
        a, b = pc.cast(a, "float64"), pc.cast(b, "float64")
    elif _temporal_kind(ta) and _temporal_kind(ta) == _temporal_kind(tb):
        pass
    elif _temporal_kind(ta) and _temporal_kind(tb):
        return _const(table.num_rows, True)  # a date against a timestamp: not this rule's business
    else:
        return None
    fn = {"<": pc.less, "<=": pc.less_equal, "==": pc.equal, ">=": pc.greater_equal, ">": pc.greater}[op]
    return _pass_if_null(fn(a, b))


def _sum_balance(table: pa.Table, total: str, parts: list[str], tol_abs: float, tol_rel: float) -> pa.Array | None:
    import pyarrow.compute as pc

    cols = [table.column(c) for c in (total, *parts)]
    if not all(_numeric(c.type) for c in cols):
        return None
    t = pc.cast(cols[0], "float64")
    s = pc.cast(cols[1], "float64")
    for c in cols[2:]:
        s = pc.add(s, pc.cast(c, "float64"))
    diff = pc.abs(pc.subtract(t, s))
    tol = pc.max_element_wise(pc.multiply(pc.abs(t), float(tol_rel)), float(tol_abs))
    return _pass_if_null(pc.less_equal(diff, pc.add(tol, 1e-9)))


def _in(col: pa.Array, values: list) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.is_in(col, value_set=pa.array(values, col.type) if values else pa.array([], col.type))


def _conditional(table: pa.Table, p: dict) -> pa.Array:
    import pyarrow.compute as pc

    n = table.num_rows
    when: dict = p["when"]
    any_missing = None
    matches = None
    for col, values in when.items():
        c = table.column(col)
        missing = pc.is_null(c)
        any_missing = missing if any_missing is None else pc.or_(any_missing, missing)
        hit = pc.fill_null(_in(c, list(values)), False)
        matches = hit if matches is None else pc.and_(matches, hit)

    def branch(name: str) -> pa.Array:
        ok = _const(n, True)
        for col, values in (p.get(f"{name}_in") or {}).items():
            c = table.column(col)
            ok = pc.and_(ok, pc.or_(pc.is_null(c), pc.fill_null(_in(c, list(values)), False)))
        for col in p.get(f"{name}_not_null") or []:
            ok = pc.and_(ok, pc.is_valid(table.column(col)))
        for col in p.get(f"{name}_null") or []:
            ok = pc.and_(ok, pc.is_null(table.column(col)))
        return ok

    if any_missing is None:
        return _const(n, True)
    result = pc.if_else(matches, branch("then"), branch("else"))
    return pc.or_(any_missing, result)


def _const(n: int, value: bool) -> pa.Array:
    import numpy as np
    import pyarrow as pa

    return pa.array(np.full(n, value, dtype=bool))


def _local_dates(col: pa.Array, timezone: str | None = None) -> pa.Array:
    """Calendar date of a date/timestamp column (timestamps in their own or the given zone)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.types as pt

    if pt.is_date(col.type):
        return col
    tz = timezone or col.type.tz or "UTC"
    as_tz = pc.cast(col, pa.timestamp(col.type.unit, tz=tz))
    return pc.cast(pc.local_timestamp(as_tz), pa.date32())


def _first_of_month(table: pa.Table, column: str) -> pa.Array | None:
    import pyarrow.compute as pc

    col = table.column(column)
    if _temporal_kind(col.type) is None:
        return None
    return _pass_if_null(pc.equal(pc.day(_local_dates(col)), 1))


def _local_date(table: pa.Table, date_col: str, ts_col: str, timezone: str | None) -> pa.Array | None:
    import pyarrow.compute as pc

    d, ts = table.column(date_col), table.column(ts_col)
    if _temporal_kind(d.type) != "date" or _temporal_kind(ts.type) != "timestamp":
        return None
    return _pass_if_null(pc.equal(_local_dates(ts, timezone or "Asia/Bangkok"), d))


def rule_column(rule: Rule, table: pa.Table) -> pa.Array:
    """`_rule_<id>` for every row of `table` (True = passes, never null)."""
    import pyarrow.compute as pc

    p = rule.params
    result = None
    if rule.kind == "province_code_known":
        col = table.column(p["column"])
        result = pc.or_(pc.is_null(col), pc.is_in(col, value_set=_known_provinces()))
    elif rule.kind == "thai_citizen_id_checksum":
        col = table.column(p["column"])
        result = _pass_if_null(citizen_id_valid(col.combine_chunks() if hasattr(col, "combine_chunks") else col))
    elif rule.kind == "compare":
        result = _compare(table, p["left"], p["op"], p["right"])
    elif rule.kind == "sum_balance":
        result = _sum_balance(table, p["total"], list(p["parts"]), float(p.get("tolerance_abs") or 0), float(p.get("tolerance_rel") or 0))
    elif rule.kind == "conditional":
        result = _conditional(table, p)
    elif rule.kind == "first_of_month":
        result = _first_of_month(table, p["column"])
    elif rule.kind == "local_date":
        result = _local_date(table, p["date"], p["timestamp"], p.get("timezone"))
    if result is None:
        result = _reference(rule, table)
    if hasattr(result, "combine_chunks"):
        result = result.combine_chunks()
    return pc.fill_null(result, True)


def _reference(rule: Rule, table: pa.Table) -> pa.Array:
    """Per-record fallback through `gdx.contracts.rules.evaluate_rule` (slow, exact)."""
    import pyarrow as pa

    from gdx.contracts.rules import evaluate_rule

    cols = list(dict.fromkeys(rule.columns))
    data = {c: table.column(c).to_pylist() for c in cols}
    records = ({c: data[c][i] for c in cols} for i in range(table.num_rows))
    return pa.array([evaluate_rule(rule, r) for r in records], pa.bool_())


def rule_columns(contract: Contract, table: pa.Table) -> dict[str, pa.Array]:
    """All `_rule_*` columns of the contract over `table`."""
    return {rule.column: rule_column(rule, table) for rule in contract.rules}
