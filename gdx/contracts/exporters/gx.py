"""Great Expectations 1.24 ExpectationSuite (as a JSON dict) of a contract.

The suite validates the frame built by `gdx.contracts.rules.validation_frame`: one column per
contract property (normalised values, personal data still in clear — validation happens before
pseudonymisation), typed (dates as `date` objects, timestamps tz-aware), plus the rule columns.

Rule-column convention: GX has no native expectation for GDX's semantic and cross-field rules
(citizen-id checksum, known province, `generated = proper + recycled + improper`, …). For every
rule in `Contract.rules` the ingestion engine computes a boolean column named `_rule_<rule id>`
(True = the record passes; `gdx.contracts.rules.validation_frame` does it) before running the
suite, and the suite asserts it with `expect_column_values_to_be_in_set(value_set=[True])`.
E.g. `_rule_citizen_id_checksum`, `_rule_province_code_known`, `_rule_waste_balance`.

Every expectation carries `meta.gdx_check` (`<property>.<check>` or `rule.<rule id>`) and
`meta.column` (the property it judges, or the first property a rule reads), which is what the
quarantine writes as `rule_id` / `column`.

Why not `datacontract export great-expectations`: its suite demands the exact column set (our
frame carries `_rule_*` columns), checks pandas dtypes by name, makes each primary-key column
unique on its own instead of the compound key, and ignores our customProperties-based rules.
Build a live suite with `gx.ExpectationSuite(**to_gx_suite(contract))`.
"""

from __future__ import annotations

from typing import Any

from gdx.contracts.exporters._common import GENERATED_NOTE, one_line, per_contract, typed_bound
from gdx.contracts.model import Contract, Property


def _exp(
    type_: str, kwargs: dict[str, Any], check: str, column: str | None, description: str
) -> dict[str, Any]:
    meta: dict[str, Any] = {"gdx_check": check}
    if column is not None:
        meta["column"] = column
    return {"type": type_, "kwargs": kwargs, "meta": meta, "description": description}


def _bound(prop: Property, value: Any) -> Any:
    if prop.logical_type == "date" and value is not None:
        return str(value)[:10]
    if prop.logical_type == "timestamp" and value is not None:
        return str(value)
    return typed_bound(prop.logical_type, value)


def _property_expectations(prop: Property) -> list[dict[str, Any]]:
    name = prop.name
    out = [_exp("expect_column_to_exist", {"column": name}, f"{name}.exists", name, f"{name} is present")]
    if prop.required:
        out.append(
            _exp(
                "expect_column_values_to_not_be_null",
                {"column": name},
                f"{name}.not_null",
                name,
                f"{name} is required",
            )
        )
    if prop.enum is not None:
        out.append(
            _exp(
                "expect_column_values_to_be_in_set",
                {"column": name, "value_set": list(prop.enum)},
                f"{name}.enum",
                name,
                f"{name} is one of {', '.join(map(str, prop.enum))}",
            )
        )
    if prop.logical_type in {"integer", "number", "date", "timestamp"} and (
        prop.minimum is not None or prop.maximum is not None
    ):
        kwargs: dict[str, Any] = {"column": name}
        if prop.minimum is not None:
            kwargs["min_value"] = _bound(prop, prop.minimum)
        if prop.maximum is not None:
            kwargs["max_value"] = _bound(prop, prop.maximum)
        out.append(
            _exp(
                "expect_column_values_to_be_between",
                kwargs,
                f"{name}.range",
                name,
                f"{name} between {prop.minimum if prop.minimum is not None else '-inf'} and {prop.maximum if prop.maximum is not None else 'inf'}",
            )
        )
    if prop.logical_type == "string" and prop.pattern:
        out.append(
            _exp(
                "expect_column_values_to_match_regex",
                {"column": name, "regex": prop.pattern},
                f"{name}.pattern",
                name,
                f"{name} matches {prop.pattern}",
            )
        )
    if prop.logical_type == "string" and (prop.min_length is not None or prop.max_length is not None):
        kwargs = {"column": name}
        if prop.min_length is not None:
            kwargs["min_value"] = prop.min_length
        if prop.max_length is not None:
            kwargs["max_value"] = prop.max_length
        out.append(
            _exp(
                "expect_column_value_lengths_to_be_between",
                kwargs,
                f"{name}.length",
                name,
                f"{name} length between {prop.min_length or 0} and {prop.max_length if prop.max_length is not None else 'inf'}",
            )
        )
    return out


@per_contract
def to_gx_suite(contract: Contract) -> dict[str, Any]:
    """The contract's expectation suite as a GX 1.x `ExpectationSuite` dict (cached per contract)."""
    expectations: list[dict[str, Any]] = []
    for prop in contract.properties:
        expectations += _property_expectations(prop)
    key = list(contract.primary_key)
    if len(key) > 1:
        expectations.append(
            _exp(
                "expect_compound_columns_to_be_unique",
                {"column_list": key},
                "primary_key.unique",
                key[0],
                f"primary key ({', '.join(key)}) is unique",
            )
        )
    elif key:
        expectations.append(
            _exp(
                "expect_column_values_to_be_unique",
                {"column": key[0]},
                "primary_key.unique",
                key[0],
                f"primary key {key[0]} is unique",
            )
        )
    for rule in contract.rules:
        expectations.append(
            _exp(
                "expect_column_values_to_be_in_set",
                {"column": rule.column, "value_set": [True]},
                f"rule.{rule.id}",
                rule.columns[0],
                one_line(rule.description or rule.name or rule.id),
            )
        )
    return {
        "name": f"{contract.id}.v{contract.major}",
        "expectations": expectations,
        "meta": {
            "notes": GENERATED_NOTE,
            "contract_id": contract.id,
            "contract_version": contract.version,
            "rule_columns": [rule.column for rule in contract.rules],
        },
    }
