"""Bronze Parquet schema of a contract (pyarrow), as docs/conventions.md defines it.

Contract properties come first, in contract order, typed from their logicalType; a property with
`pii: pseudonymise` lands as `<name>_hmac` (string `k<keyversion>:<hex hmac-sha256>`), never in
clear. Then the metadata columns, exactly as listed in docs/conventions.md. A property is
nullable unless it is required; metadata columns are never null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gdx.contracts.exporters._common import GENERATED_NOTE, one_line, per_contract
from gdx.contracts.model import Contract, Property

if TYPE_CHECKING:
    import pyarrow as pa

TIMEZONE = "Asia/Bangkok"

# (name, type spec) — the order and types are part of the lake contract (docs/conventions.md).
METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_event_id", "string"),
    ("_kafka_topic", "string"),
    ("_kafka_partition", "int32"),
    ("_kafka_offset", "int64"),
    ("_kafka_timestamp", "timestamp[ms, tz=UTC]"),
    ("_batch_id", "string"),
    ("_contract_version", "string"),
    ("_ingested_at", "timestamp[us, tz=UTC]"),
)


def _arrow_type(spec: str) -> pa.DataType:
    import pyarrow as pa

    simple = {
        "string": pa.string(),
        "int32": pa.int32(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "date32": pa.date32(),
        "timestamp[ms, tz=UTC]": pa.timestamp("ms", tz="UTC"),
        "timestamp[us, tz=UTC]": pa.timestamp("us", tz="UTC"),
        f"timestamp[us, tz={TIMEZONE}]": pa.timestamp("us", tz=TIMEZONE),
    }
    return simple[spec]


def property_type(prop: Property) -> str:
    """Arrow type spec (pyarrow's string form) of a property as landed."""
    if prop.pii == "pseudonymise":
        return "string"
    return {
        "string": "string",
        "integer": "int64",
        "number": "float64",
        "boolean": "bool",
        "date": "date32",
        "timestamp": f"timestamp[us, tz={TIMEZONE}]",
    }[prop.logical_type]


def _field_metadata(prop: Property) -> dict[str, str]:
    meta = {"description": one_line(prop.description)}
    if prop.unit:
        meta["unit"] = prop.unit
    if prop.pii:
        meta["pii"] = prop.pii
        meta["source_property"] = prop.name
    return meta


def arrow_schema_json(contract: Contract) -> dict[str, Any]:
    """JSON form of the bronze schema: what `contracts/_generated/…/arrow_schema.json` holds."""
    fields = [
        {
            "name": prop.landed_name,
            "type": property_type(prop),
            "nullable": not prop.required,
            "metadata": _field_metadata(prop),
        }
        for prop in contract.properties
    ]
    fields += [
        {"name": name, "type": spec, "nullable": False, "metadata": {}} for name, spec in METADATA_COLUMNS
    ]
    return {
        "$comment": GENERATED_NOTE,
        "contract_id": contract.id,
        "contract_version": contract.version,
        "fields": fields,
        "metadata": {
            "gdx.contract.id": contract.id,
            "gdx.contract.version": contract.version,
            "gdx.contract.major": str(contract.major),
        },
    }


@per_contract
def to_arrow_schema(contract: Contract) -> pa.Schema:
    """The live `pyarrow.Schema` of the contract's bronze Parquet files (cached per contract)."""
    import pyarrow as pa

    spec = arrow_schema_json(contract)
    fields = [
        pa.field(
            f["name"],
            _arrow_type(f["type"]),
            nullable=f["nullable"],
            metadata={k.encode(): v.encode() for k, v in f["metadata"].items()} or None,
        )
        for f in spec["fields"]
    ]
    return pa.schema(fields, metadata={k.encode(): v.encode() for k, v in spec["metadata"].items()})
