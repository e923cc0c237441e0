"""Edge check: a normalised record must satisfy its contract before it is published.

Two layers:
1. the contract's JSON Schema (`to_jsonschema(contract)`), compiled once with fastjsonschema for the
   hot path. fastjsonschema stops at the first error, so a failing record is re-checked with the
   `jsonschema` library to list *every* broken property with its reason (failures are rare, so
   the slow path costs nothing on a clean feed);
2. Thai semantic checks JSON Schema cannot express: citizen-ID checksum, province code in the
   reference table, real calendar dates (a `format: date` regex accepts 2024-02-30), timestamps
   with an offset, and date/timestamp minimum/maximum bounds;
3. no undeclared personal data: a string property that the contract does not mark as personal
   data must not hold a valid citizen id (any digits, dashes/spaces, `\\uXXXX` escapes), or the
   id would cross the exchange in clear (`undeclared_personal_data`; the value is never quoted).

The checks run on the *clear* record; the pipeline encrypts personal-data properties only after
(`gdx.security.field_crypto`), so the checksum is validated on the value the agency meant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from gdx.contracts.model import Contract, Property
from gdx.producer.report import Violation

_REQUIRED_MSG = re.compile(r"^'(.+)' is a required property")
_CODES = {
    "required": "missing_required",
    "type": "wrong_type",
    "minimum": "out_of_range",
    "maximum": "out_of_range",
    "exclusiveMinimum": "out_of_range",
    "exclusiveMaximum": "out_of_range",
    "pattern": "pattern_mismatch",
    "maxLength": "too_long",
    "minLength": "too_short",
    "enum": "not_in_enum",
    "const": "not_in_enum",
    "format": "bad_format",
    "additionalProperties": "unknown_property",
}


def _to_jsonschema(contract: Contract) -> dict[str, Any]:
    # The exporter owns the contract → JSON Schema mapping (cached per contract); imported
    # lazily so the semantic checks work on their own.
    try:
        from gdx.contracts.exporters import to_jsonschema  # type: ignore[attr-defined]
    except ImportError:
        from gdx.contracts.exporters.json_schema import to_jsonschema
    return to_jsonschema(contract)


@cache
def _province_codes() -> frozenset[str]:
    from gdx.thai.provinces import all_provinces

    return frozenset(p.iso_3166_2 for p in all_provinces())


def _citizen_id_check() -> Callable[[str], bool]:
    from gdx.thai import is_valid_citizen_id

    return is_valid_citizen_id


_MAYBE_ID = re.compile(r"\d(?:[ -]?\d){12}")
_UNDECLARED = (
    "holds a valid Thai citizen id, but the contract does not declare the property as personal data "
    "(it would cross the exchange in clear)"
)

SemanticCheck = Callable[[Any], "Violation | None"]


def _semantic_checks(prop: Property) -> list[SemanticCheck]:
    name = prop.name
    checks: list[SemanticCheck] = []
    if prop.semantic_type == "province_code":
        codes = _province_codes()

        def province(value: Any) -> Violation | None:
            if value in codes:
                return None
            return Violation(
                name, "unknown_province", f"{value!r} is not a Thai province code (TH-xx)", value
            )

        checks.append(province)
    elif prop.semantic_type == "thai_citizen_id":
        valid = _citizen_id_check()

        def citizen(value: Any) -> Violation | None:
            if isinstance(value, str) and valid(value):
                return None
            return Violation(name, "bad_citizen_id", "citizen ID fails the 13-digit checksum", value)

        checks.append(citizen)
    if prop.logical_type == "date":
        lo, hi = _bound(prop.minimum, date.fromisoformat), _bound(prop.maximum, date.fromisoformat)

        def real_date(value: Any) -> Violation | None:
            if not isinstance(value, str):
                return None  # the schema layer reports the type
            try:
                d = date.fromisoformat(value)
            except ValueError:
                return Violation(name, "impossible_date", f"{value!r} is not a real calendar date", value)
            if len(value) != 10:
                return Violation(name, "bad_format", f"{value!r} is not YYYY-MM-DD", value)
            return _range(name, d, lo, hi, value)

        checks.append(real_date)
    elif prop.logical_type == "timestamp":
        lo, hi = _bound(prop.minimum, datetime.fromisoformat), _bound(prop.maximum, datetime.fromisoformat)

        def real_timestamp(value: Any) -> Violation | None:
            if not isinstance(value, str):
                return None
            try:
                ts = datetime.fromisoformat(value)
            except ValueError:
                return Violation(name, "impossible_date", f"{value!r} is not a real date-time", value)
            if ts.tzinfo is None:
                return Violation(name, "bad_format", f"{value!r} has no UTC offset", value)
            return _range(name, ts, lo, hi, value)

        checks.append(real_timestamp)
    return checks


def _bound(raw: Any, parse: Callable[[str], Any]) -> Any:
    # Numeric bounds are JSON Schema's job; only textual (date/time) bounds are checked here.
    if isinstance(raw, str):
        try:
            return parse(raw)
        except ValueError:
            return None
    if isinstance(raw, date):
        return raw
    return None


def _range(name: str, v: Any, lo: Any, hi: Any, raw: Any) -> Violation | None:
    try:
        if lo is not None and v < lo:
            return Violation(name, "out_of_range", f"{raw!r} is before the minimum {lo.isoformat()}", raw)
        if hi is not None and v > hi:
            return Violation(name, "out_of_range", f"{raw!r} is after the maximum {hi.isoformat()}", raw)
    except TypeError:  # naive vs aware: already reported as bad_format
        return None
    return None


class EdgeChecker:
    """Validates normalised records against one contract; build once per contract and reuse."""

    def __init__(self, contract: Contract, schema: dict[str, Any] | None = None) -> None:
        import fastjsonschema

        self.contract = contract
        self.schema = schema if schema is not None else _to_jsonschema(contract)
        self._fast = fastjsonschema.compile(self.schema)
        self._full: Any = None
        self._semantic = [(p.name, c) for p in contract.properties for c in _semantic_checks(p)]
        self._personal = frozenset(p.name for p in contract.pii_properties)

    def check(self, record: Mapping[str, Any]) -> list[Violation]:
        """Every violation of `record` (empty list = valid)."""
        from fastjsonschema import JsonSchemaException

        try:
            self._fast(record)
        except JsonSchemaException:
            violations = self._explain(record)
        else:
            violations = []
        bad = {v.property for v in violations}
        for name, check in self._semantic:
            value = record.get(name)
            if value is None or name in bad:
                continue
            v = check(value)
            if v is not None:
                violations.append(v)
        undeclared = self._undeclared_personal_data(record)
        if undeclared:
            violations = [v for v in violations if v.property not in undeclared] + [
                Violation(name, "undeclared_personal_data", _UNDECLARED, None) for name in undeclared
            ]
        return violations

    def _undeclared_personal_data(self, record: Mapping[str, Any]) -> list[str]:
        from gdx.ingest.pii import has_clear_citizen_id

        personal = self._personal
        texts = [v for k, v in record.items() if type(v) is str and k not in personal]
        joined = "\x00".join(texts)
        if not (_MAYBE_ID.search(joined) or "\\u" in joined):  # one C-level pass for a clean record
            return []
        return [
            k for k, v in record.items() if type(v) is str and k not in personal and has_clear_citizen_id(v)
        ]

    def is_valid(self, record: Mapping[str, Any]) -> bool:
        return not self.check(record)

    def _explain(self, record: Mapping[str, Any]) -> list[Violation]:
        if self._full is None:
            import jsonschema

            cls = jsonschema.validators.validator_for(self.schema)
            self._full = cls(self.schema, format_checker=cls.FORMAT_CHECKER)
        out: list[Violation] = []
        missing: set[str] = set()
        for err in sorted(self._full.iter_errors(record), key=lambda e: list(e.absolute_path)):
            prop = str(err.absolute_path[0]) if err.absolute_path else None
            if err.validator == "required" and prop is None:
                m = _REQUIRED_MSG.match(err.message)
                prop = m.group(1) if m else None
            if err.validator == "additionalProperties" and prop is None:
                extra = [k for k in record if k not in (self.schema.get("properties") or {})]
                prop = extra[0] if extra else None
            code = _CODES.get(str(err.validator), str(err.validator))
            if err.validator == "format" and err.validator_value in ("date", "date-time"):
                code = "impossible_date"  # the pattern matched (else "pattern" fails): not a real date
            value = record.get(prop) if prop is not None and code != "missing_required" else None
            if prop is not None and value is None and code != "missing_required" and record.get(prop) is None:
                # a null in a required property fails type, enum, pattern…: report it once, as missing
                code, reason = "missing_required", f"{prop!r} is required but null"
            else:
                reason = err.message
            if code == "missing_required":
                if prop in missing:
                    continue
                missing.add(prop)  # type: ignore[arg-type]
            out.append(Violation(prop, code, reason, value))
        if not out:  # fastjsonschema and jsonschema disagree: report fastjsonschema's own message
            try:
                self._fast(record)
            except Exception as exc:  # any validation message is more useful than none
                out.append(Violation(None, "schema", str(exc)))
        return out
