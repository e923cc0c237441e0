"""The vectorised `_rule_*` columns agree with the reference `evaluate_rule` on every record."""

from __future__ import annotations

import random
from typing import Any

import pytest

from gdx.contracts.model import get_contract
from gdx.contracts.rules import evaluate_rule
from gdx.events import headers_for
from gdx.ingest.config import IngestConfig
from gdx.ingest.decode import Decoder
from gdx.ingest.model import RawBatch
from gdx.ingest.pii import Pseudonymiser
from gdx.ingest.rules import citizen_id_valid, rule_columns
from gdx.sample import valid_records
from gdx.testing.wire import decryptor, wire_value
from gdx.thai.citizen_id import is_valid_citizen_id, make_citizen_id

CONTRACTS = [
    "pcd.air_quality_hourly",
    "moi.informal_debt_cases",
    "dla.municipal_waste_monthly",
    "dga.eservice_transactions_daily",
    "customs.border_trade_daily",
]


def _mutate(rng: random.Random, record: dict[str, Any], contract: Any) -> dict[str, Any]:
    """Break rules on purpose: nulls, swapped dates, unbalanced sums, unknown provinces, bad ids."""
    r = dict(record)
    for rule in contract.rules:
        if rng.random() < 0.3:
            col = rng.choice(rule.columns)
            prop = contract.prop(col)
            if prop.required and rng.random() < 0.5:
                continue
            choice = rng.random()
            if choice < 0.3 and not prop.required:
                r[col] = None
            elif prop.logical_type == "number" and isinstance(r.get(col), int | float):
                r[col] = round(r[col] * rng.choice([0.5, 1.02, 1.5, 3.0]) + rng.choice([0, 0.4, 0.6]), 2)
            elif prop.logical_type == "integer" and isinstance(r.get(col), int):
                r[col] = r[col] + rng.randint(-5, 50)
            elif prop.logical_type == "date":
                r[col] = rng.choice(["2016-01-01", "2024-02-29", "2030-12-15", "2024-06-01", "2024-06-30"])
            elif prop.semantic_type == "province_code":
                r[col] = rng.choice(["TH-99", "TH-10", "TH-57", "TH-38"])
            elif prop.semantic_type == "thai_citizen_id":
                r[col] = rng.choice([make_citizen_id(f"{rng.randint(10**11, 10**12 - 1)}"), "1234567890123", "1111111111111"])
            elif prop.enum:
                r[col] = rng.choice(list(prop.enum))
    return r


def _typed_table(contract: Any, records: list[dict[str, Any]]) -> Any:
    raw = RawBatch(contract.topic)
    for i, rec in enumerate(records):
        value = wire_value(contract, rec)  # personal data sealed, as a producer sends it
        raw.partitions.append(0)
        raw.offsets.append(i)
        raw.timestamps.append(1_709_272_800_000 + i)
        raw.keys.append(None)
        raw.values.append(value)
        raw.headers.append(headers_for(contract, value))
    decoded = Decoder(contract, IngestConfig(), Pseudonymiser(None), decryptor(contract)).decode(raw)
    assert len(decoded.failures) == 0, decoded.failures.first
    import pyarrow as pa

    return pa.table(decoded.columns)


@pytest.mark.parametrize("contract_id", CONTRACTS)
def test_vectorised_rules_match_reference(contract_id: str) -> None:
    contract = get_contract(contract_id)
    rng = random.Random(7)
    records = [_mutate(rng, r, contract) for r in valid_records(contract_id, 600, seed=3)]
    table = _typed_table(contract, records)
    columns = rule_columns(contract, table)
    for rule in contract.rules:
        got = columns[rule.column].to_pylist()
        want = [evaluate_rule(rule, r) for r in records]
        assert None not in got
        mismatches = [i for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
        assert not mismatches, f"{rule.id}: rows {mismatches[:5]} e.g. {records[mismatches[0]]}"
        if rule.kind != "thai_citizen_id_checksum" or contract_id == "moi.informal_debt_cases":
            assert any(want) and (not all(want) or rule.kind in {"first_of_month"}), f"{rule.id} was not exercised"


def test_citizen_id_checksum_matches_reference() -> None:
    import pyarrow as pa

    rng = random.Random(1)
    values = [make_citizen_id(f"{rng.randint(10**11, 10**12 - 1)}") for _ in range(300)]
    values += [f"{rng.randint(10**12, 10**13 - 1)}" for _ in range(300)]
    values += ["", "123", "12345678901234", "1-2345-67890-12-1", "๑๒๓๔๕๖๗๘๙๐๑๒๑", None, " 1234567890121"]
    got = citizen_id_valid(pa.array(values, pa.string())).to_pylist()
    for v, g in zip(values, got, strict=True):
        if v is None:
            assert g is None
        else:
            # only 13 ASCII digits count on the wire (the contract's pattern), as the reference rule says
            assert g == (len(v) == 13 and v.isascii() and v.isdigit() and is_valid_citizen_id(v)), v
