"""JSON Schema (draft 2020-12) of a contract's NORMALISED record, for the producer edge check.

Why not `datacontract export jsonschema`: it emits draft-07 with non-standard keywords
(`primaryKey`), puts string bounds on dates (`"minimum": "2015-01-01"`, invalid in JSON Schema),
leaves `additionalProperties` open and knows nothing of GDX's rules. This schema is strict:
`additionalProperties: false`, required properties non-null, optional ones nullable, enums (with
`null` when optional), numeric ranges, lengths, patterns, `format: date` / `date-time` plus a
pattern for each (so the check holds whether or not the validator asserts formats).

Rules are mapped where JSON Schema can express them: a province_code property gets the enum of
the 77 ISO 3166-2:TH codes, `conditional` rules become `if`/`then`/`else`, `first_of_month`
becomes a pattern. Rules it cannot express (citizen-id checksum, sums, comparisons between
fields, local dates) and date/timestamp ranges are listed in `$comment` and left to the GX suite.
"""

from __future__ import annotations

from typing import Any

from gdx.contracts.exporters._common import GENERATED_NOTE, one_line, per_contract, typed_bound
from gdx.contracts.model import Contract, Property, Rule

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DATE_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
TIMESTAMP_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
FIRST_OF_MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])-01$"
_JSON_TYPES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "date": "string",
    "timestamp": "string",
}
EXPRESSED_RULE_KINDS = frozenset({"province_code_known", "conditional", "first_of_month"})


def _province_codes() -> list[str]:
    from gdx.thai.provinces import all_provinces

    return sorted(p.iso_3166_2 for p in all_provinces())


def _property_schema(prop: Property, contract: Contract) -> dict[str, Any]:
    json_type = _JSON_TYPES[prop.logical_type]
    schema: dict[str, Any] = {"type": json_type if prop.required else [json_type, "null"]}
    if prop.description:
        schema["description"] = one_line(prop.description)
    if prop.logical_type == "date":
        schema["format"] = "date"
        schema["pattern"] = DATE_PATTERN
        if any(r.kind == "first_of_month" and r.params["column"] == prop.name for r in contract.rules):
            schema["pattern"] = FIRST_OF_MONTH_PATTERN
    elif prop.logical_type == "timestamp":
        schema["format"] = "date-time"
        schema["pattern"] = TIMESTAMP_PATTERN
    elif prop.pattern:
        schema["pattern"] = prop.pattern
    if prop.logical_type == "string":
        if prop.min_length is not None:
            schema["minLength"] = prop.min_length
        if prop.max_length is not None:
            schema["maxLength"] = prop.max_length
    if prop.logical_type in {"integer", "number"}:
        if isinstance(prop.minimum, int | float):
            schema["minimum"] = typed_bound(prop.logical_type, prop.minimum)
        if isinstance(prop.maximum, int | float):
            schema["maximum"] = typed_bound(prop.logical_type, prop.maximum)
    enum: list[Any] | None = list(prop.enum) if prop.enum is not None else None
    if enum is None and prop.semantic_type == "province_code":
        enum = _province_codes()
    if enum is not None:
        schema["enum"] = enum if prop.required else [*enum, None]
    if prop.unit:
        schema["x-unit"] = prop.unit
    return schema


def _conditional(rule: Rule) -> list[dict[str, Any]]:
    p = rule.params

    def branch(name: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        props = {col: {"enum": [*values, None]} for col, values in (p.get(f"{name}_in") or {}).items()}
        props.update({col: {"not": {"type": "null"}} for col in p.get(f"{name}_not_null") or []})
        props.update({col: {"type": "null"} for col in p.get(f"{name}_null") or []})
        if props:
            out["properties"] = props
        required = list(p.get(f"{name}_not_null") or [])
        if required:
            out["required"] = required
        return out

    when = p["when"]
    matched = {
        "properties": {col: {"enum": list(values)} for col, values in when.items()},
        "required": list(when),
    }
    label = f"rule {rule.id}" + (f": {rule.name}" if rule.name else "")
    clauses: list[dict[str, Any]] = []
    then, other = branch("then"), branch("else")
    if then:
        clauses.append({"$comment": label, "if": matched, "then": then})
    if other:
        # "else" applies only when every `when` column has a value and they do not all match
        # (a null `when` column passes, as in gdx.contracts.rules).
        present = {"properties": {col: {"not": {"type": "null"}} for col in when}, "required": list(when)}
        clauses.append({"$comment": f"{label} (otherwise)", "if": {**present, "not": matched}, "then": other})
    return clauses


@per_contract
def to_jsonschema(contract: Contract) -> dict[str, Any]:
    """Draft 2020-12 JSON Schema of one normalised record (property name → JSON value); cached."""
    not_expressed = [r.id for r in contract.rules if r.kind not in EXPRESSED_RULE_KINDS]
    ranges = [
        p.name
        for p in contract.properties
        if p.logical_type in {"date", "timestamp"} and (p.minimum or p.maximum)
    ]
    comment = GENERATED_NOTE + ". Checked by the GX suite only:"
    comment += (
        f" rules {', '.join(not_expressed) or '-'}; date/timestamp ranges of {', '.join(ranges) or '-'}."
    )
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:gdx:contract:{contract.id}:{contract.version}",
        "$comment": comment,
        "title": f"{contract.title_en} ({contract.id} {contract.version})",
        "description": one_line(contract.title_th),
        "type": "object",
        "properties": {p.name: _property_schema(p, contract) for p in contract.properties},
        "required": [p.name for p in contract.properties if p.required],
        "additionalProperties": False,
    }
    conditionals = [c for r in contract.rules if r.kind == "conditional" for c in _conditional(r)]
    if conditionals:
        schema["allOf"] = conditionals
    return schema
