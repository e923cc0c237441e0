"""Convert source values to the contract's types, the same way for every source.

Rules (the wire format in docs/conventions.md): integers and numbers become JSON numbers
(thousands separators, Thai digits, "-"/"N/A" = missing), booleans accept ใช่/ไม่ใช่, Y/N,
true/false, 1/0, dates become `YYYY-MM-DD` (CE; Buddhist-Era years and Thai month names are
understood), timestamps ISO 8601 with offset (a naive time is local time of the property's
timezone, Asia/Bangkok by default), provinces ISO 3166-2:TH with the raw text kept in the
contract's `rawProperty`, citizen IDs 13 digits. A value that cannot be converted is a
violation of that property; the record is then rejected, never published with a guess.

Clean machine-made values take a fast path (plain `float()`/`int()`/`fromisoformat`); the
`gdx.thai` parsers handle everything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from gdx.contracts.model import Contract, Property
from gdx.producer.report import Violation
from gdx.thai import normalize_province, parse_date, parse_datetime, parse_number, thai_digits_to_arabic

_BANGKOK = timezone(timedelta(hours=7))  # no DST since 1920: a fixed offset is exact and fast
_TRUE = frozenset({"true", "t", "yes", "y", "1", "ใช่", "จริง", "มี"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "ไม่ใช่", "ไม่จริง", "ไม่มี"})
_MISSING = frozenset({"", "-", "—", "–", "n/a", "na", "null", "none", "nan"})


class Invalid(ValueError):
    """A value that cannot be converted; `code` is the rule code of the resulting violation."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().casefold() in _MISSING)


def _to_decimal(value: Any) -> Decimal | None:
    try:
        return parse_number(value)
    except (ValueError, TypeError) as exc:
        raise Invalid("wrong_type", f"{value!r} is not a number") from exc


def _number(value: Any) -> float | int | None:
    if isinstance(value, float | int) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return None if math.isnan(value) else _raise("wrong_type", f"{value!r} is not a finite number")
        return value
    if isinstance(value, str):
        try:
            f = float(value)  # C fast path; also accepts Thai digits ("๑๒.๕")
        except ValueError:
            pass
        else:
            if math.isfinite(f):
                return f
            if math.isnan(f):
                return None
            raise Invalid("wrong_type", f"{value!r} is not a finite number")
    d = _to_decimal(value)
    return None if d is None else float(d)


def _raise(code: str, reason: str) -> Any:
    raise Invalid(code, reason)


def _integer(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)  # C fast path
        except ValueError:
            pass
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise Invalid("wrong_type", f"{value!r} is not a whole number")
    d = _to_decimal(value)
    if d is None:
        return None
    if d != d.to_integral_value():
        raise Invalid("wrong_type", f"{value!r} is not a whole number")
    return int(d)


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = thai_digits_to_arabic(str(value)).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Invalid("wrong_type", f"{value!r} is not a yes/no value")


def _date(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return parse_date(str(value).strip()).isoformat()
    except ValueError as exc:
        raise Invalid("impossible_date", str(exc)) from exc


def _timestamp_converter(prop: Property) -> Callable[[Any], str | None]:
    zone: tzinfo = _BANGKOK
    if prop.timezone and prop.timezone != "Asia/Bangkok":
        zone = ZoneInfo(prop.timezone)

    def convert(value: Any) -> str | None:
        if isinstance(value, datetime):
            ts = value if value.tzinfo is not None else value.replace(tzinfo=zone)
            return ts.astimezone(zone).isoformat()
        text = str(value).strip()
        try:
            ts = datetime.fromisoformat(text)  # fast path for machine-made ISO text
            if ts.year > 2300:  # a Buddhist-Era year: let the Thai parser convert it
                raise ValueError
        except ValueError:
            try:
                ts = parse_datetime(text)
            except ValueError as exc:
                raise Invalid("impossible_date", str(exc)) from exc
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=zone)
        return ts.astimezone(zone).isoformat()

    return convert


def _string(value: Any) -> str | None:
    text = value if isinstance(value, str) else str(value)
    text = text.strip()
    return text or None


def _citizen_id(value: Any) -> str | None:
    # Keep a 13-digit value even with a bad check digit: the edge check reports it precisely.
    text = thai_digits_to_arabic(str(value)).strip()
    digits = text.replace("-", "").replace(" ", "")
    return digits or None


def converter_for(prop: Property) -> Callable[[Any], Any]:
    """The function turning a source value of `prop` into its wire value (raises `Invalid`)."""
    if prop.semantic_type == "thai_citizen_id":
        return _citizen_id
    t = prop.logical_type
    if t == "number":
        return _number
    if t == "integer":
        return _integer
    if t == "boolean":
        return _boolean
    if t == "date":
        return _date
    if t == "timestamp":
        return _timestamp_converter(prop)
    return _string


class Normaliser:
    """Turns a `SourceRow.values` mapping into a wire record of one contract."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.names = tuple(p.name for p in contract.properties)
        self._plan: list[tuple[str, Callable[[Any], Any], bool, str | None]] = []
        for prop in contract.properties:
            is_province = prop.semantic_type == "province_code"
            raw_prop = prop.raw_property if prop.raw_property in self.names else None
            self._plan.append((prop.name, converter_for(prop), is_province, raw_prop))

    def normalise(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[Violation]]:
        """(record with every contract property, violations); missing values are None."""
        record: dict[str, Any] = dict.fromkeys(self.names)
        violations: list[Violation] = []
        for name, convert, is_province, raw_prop in self._plan:
            value = values.get(name)
            if is_province:
                self._province(name, value, raw_prop, values, record, violations)
                continue
            if value is None or (value.__class__ is str and _blank(value)):
                continue
            try:
                record[name] = convert(value)
            except Invalid as exc:
                violations.append(Violation(name, exc.code, exc.reason, value))
        return record, violations

    @staticmethod
    def _province(
        name: str,
        value: Any,
        raw_prop: str | None,
        values: Mapping[str, Any],
        record: dict[str, Any],
        violations: list[Violation],
    ) -> None:
        if raw_prop is not None:
            raw = values.get(raw_prop, value)
            record[raw_prop] = _string(raw) if raw is not None else None
        if _blank(value):
            return
        code = normalize_province(value if isinstance(value, str) else str(value))
        if code is None:
            violations.append(Violation(name, "unknown_province", f"{value!r} is not a Thai province", value))
        record[name] = code
