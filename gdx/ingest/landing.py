"""Bronze and quarantine tables of one batch, typed exactly as docs/conventions.md says.

Bronze columns come from `to_arrow_schema(contract)` in its order: the properties (personal ones
as `<name>_hmac` tokens, never in clear), then the metadata columns. For contracts that declare
personal data `_event_id` is keyed as well (`gdx.ingest.pii.Pseudonymiser.keyed_event_id`): the
wire event id is a plain SHA-256 of the canonical record, so next to the other columns it would let
anyone enumerate the citizen id. Quarantine rows hold the raw payload as text with citizen ids
tokenised and other long digit runs masked (`masks_hard`), encrypted personal data as its
ciphertext: never a clear id, whatever the failure.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from gdx.ingest.model import Failure

if TYPE_CHECKING:
    import pyarrow as pa

    from gdx.contracts.model import Contract
    from gdx.ingest.pii import Pseudonymiser


def quarantine_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("_kafka_topic", pa.string()),
            ("_kafka_partition", pa.int32()),
            ("_kafka_offset", pa.int64()),
            ("_kafka_timestamp", pa.timestamp("ms", tz="UTC")),
            ("_event_id", pa.string()),
            ("_batch_id", pa.string()),
            ("_contract_version", pa.string()),
            ("_ingested_at", pa.timestamp("us", tz="UTC")),
            ("rule_id", pa.string()),
            ("column", pa.string()),
            ("reason", pa.string()),
            ("raw_value", pa.string()),
        ]
    )


def bronze_table(
    contract: Contract,
    columns: pa.Table,
    *,
    topic: str,
    partitions: list[int] | Any,
    offsets: list[int] | Any,
    timestamps_ms: list[int] | Any,
    event_ids: list[Any],
    batch_id: str,
    ingested_at: datetime,
    pseudonymiser: Pseudonymiser,
    preset_tokens: dict[str, list[str | None]] | None = None,
    event_ids_keyed: bool = False,
) -> pa.Table:
    """`columns` holds the typed property values (personal data in clear) of the landed rows.

    `preset_tokens` (replay): per personal property, a token to land as is instead of keying the
    value (None = key it); `event_ids_keyed`: the ids are already keyed (replayed quarantine rows).
    """
    import pyarrow as pa

    from gdx.contracts.exporters import to_arrow_schema

    schema = to_arrow_schema(contract)
    n = columns.num_rows
    arrays: list[pa.Array] = []
    for prop in contract.properties:
        col = columns.column(prop.name)
        if prop.pii == "pseudonymise":
            col = pseudonymiser.tokens(col.combine_chunks() if hasattr(col, "combine_chunks") else col)
            preset = (preset_tokens or {}).get(prop.name)
            if preset:
                col = pa.array([t if t is not None else v for t, v in zip(preset, col.to_pylist(), strict=True)], pa.string())
        arrays.append(col)
    if contract.pii_properties and not event_ids_keyed:
        event_ids = [pseudonymiser.keyed_event_id(as_text(e)) for e in event_ids]  # type: ignore[arg-type]
    if event_ids and isinstance(event_ids[0], bytes):
        ids = pa.array(event_ids, pa.binary()).cast(pa.string())  # validated hex: no per-row decode
    else:
        ids = pa.array([as_text(e) for e in event_ids], pa.string())
    arrays += [
        ids,
        pa.array([topic] * n, pa.string()),
        pa.array(partitions, pa.int32()),
        pa.array(offsets, pa.int64()),
        pa.array(timestamps_ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        pa.array([batch_id] * n, pa.string()),
        pa.array([contract.version] * n, pa.string()),
        pa.array([ingested_at] * n, pa.timestamp("us", tz="UTC")),
    ]
    return pa.Table.from_arrays([_as_type(a, f.type) for a, f in zip(arrays, schema, strict=True)], schema=schema)


def as_text(value: str | bytes | None) -> str | None:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _as_type(arr: Any, t: pa.DataType) -> Any:
    return arr if arr.type == t else arr.cast(t)


def raw_text(value: bytes | None) -> str | None:
    """Payload bytes as text; invalid UTF-8 bytes become `\\xNN` escapes (a string column must be UTF-8)."""
    if value is None:
        return None
    return value.decode("utf-8", errors="backslashreplace")


def masks_hard(contract: Contract, failure: Failure) -> bool:
    """Whether a failed record's raw text gets every 13+ digit run masked, not only valid ids: a
    contract with personal data, a header failure (the record may be another contract's) and a
    record caught holding undeclared personal data."""
    return (
        bool(contract.pii_properties)
        or failure.rule_id.startswith("header.")
        or failure.rule_id.endswith(".undeclared_personal_data")
    )


def quarantine_rows(
    contract: Contract,
    *,
    topic: str,
    rows: list[tuple[int, int, int, Any, bytes | None, Failure, int]],
    batch_id: str,
    ingested_at: datetime,
    pseudonymiser: Pseudonymiser,
) -> tuple[pa.Table, list[str | None]]:
    """Quarantine table of failed rows + their masked raw text (reused for the dead letters).

    `rows`: (partition, offset, timestamp_ms, event_id, value, failure, more_failures).
    """
    import pyarrow as pa

    personal_contract = bool(contract.pii_properties)
    texts: list[str | None] = []
    out: dict[str, list[Any]] = {f.name: [] for f in quarantine_schema()}
    for partition, offset, ts, eid, value, failure, more in rows:
        text = raw_text(value)
        if text is not None:
            # Masked on the parsed JSON (escapes decoded); ciphertexts of personal data stay as
            # they are. A record that failed its header checks may be another contract's: mask hard.
            text = pseudonymiser.mask_text(text, masks_hard(contract, failure))
        texts.append(text)
        eid = as_text(eid)
        if eid is not None and personal_contract:
            eid = pseudonymiser.keyed_event_id(eid)
        reason = failure.reason + (f" (+{more} more failed check{'s' if more > 1 else ''})" if more else "")
        out["_kafka_topic"].append(topic)
        out["_kafka_partition"].append(partition)
        out["_kafka_offset"].append(offset)
        out["_kafka_timestamp"].append(ts)
        out["_event_id"].append(eid)
        out["_batch_id"].append(batch_id)
        out["_contract_version"].append(contract.version)
        out["_ingested_at"].append(ingested_at)
        out["rule_id"].append(failure.rule_id)
        out["column"].append(failure.column)
        out["reason"].append(reason)
        out["raw_value"].append(text)
    schema = quarantine_schema()
    arrays = []
    for f in schema:
        if f.name == "_kafka_timestamp":
            arrays.append(pa.array(out[f.name], pa.int64()).cast(f.type))
        else:
            arrays.append(pa.array(out[f.name], f.type))
    return pa.Table.from_arrays(arrays, schema=schema), texts
