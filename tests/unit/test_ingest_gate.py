"""The GX gate: finds every failing row by (partition, offset), keeps values out of its results,
and refuses to decide when GX and the independent prediction disagree."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from gdx.contracts.model import get_contract
from gdx.events import headers_for
from gdx.ingest import gate as gate_module
from gdx.ingest.config import IngestConfig
from gdx.ingest.gate import RESULT_FORMAT, Gate, GateDisagreement
from gdx.ingest.model import RawBatch
from gdx.ingest.pii import PiiKey, Pseudonymiser
from gdx.ingest.validate import Validator
from gdx.sample import valid_records
from gdx.testing.wire import decryptor, wire_value
from gdx.thai.citizen_id import make_citizen_id


def _raw(contract: Any, records: list[dict[str, Any]], partition: int = 2, first: int = 100) -> RawBatch:
    raw = RawBatch(contract.topic)
    for i, rec in enumerate(records):
        value = wire_value(contract, rec)  # personal data sealed, as a producer sends it
        raw.partitions.append(partition)
        raw.offsets.append(first + i)
        raw.timestamps.append(1_709_272_800_000 + i)
        raw.keys.append(None)
        raw.values.append(value)
        raw.headers.append(headers_for(contract, value))
    return raw


@pytest.fixture(scope="module")
def air() -> Any:
    return get_contract("pcd.air_quality_hourly")


def test_gate_identifies_every_failing_row(air: Any) -> None:
    records = list(valid_records(air.id, 200, seed=5))
    records[3]["pm25"] = 5000.0  # range
    records[7]["station_id"] = "x7"  # pattern
    records[11]["province_code"] = "TH-99"  # rule.province_code_known
    records[13]["station_name_th"] = None  # not null
    records[17]["measured_at"] = "2001-01-01T00:00:00+07:00"  # range (timestamp bound)
    records[19]["aqi"] = -1  # range
    validated = Validator(air, IngestConfig(), Pseudonymiser(None)).validate(_raw(air, records))
    got = {i: f.rule_id for i, f in validated.failures.items()}
    assert got == {
        3: "pm25.range",
        7: "station_id.pattern",
        11: "rule.province_code_known",
        13: "station_name_th.not_null",
        17: "measured_at.range",
        19: "aqi.range",
    }
    assert all(f.stage == "gate" for f in validated.failures.values())
    assert len(validated.landed) == 194
    assert validated.gate.ran and not validated.gate.success
    assert validated.gate.evaluated == len(validated.gate.checks)
    # duplicate keys are revisions in an event log, not failures
    assert "primary_key.unique" in Validator(air, IngestConfig(), Pseudonymiser(None)).gate.skipped


def test_gate_raises_when_prediction_disagrees(air: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    records = list(valid_records(air.id, 50, seed=5))
    records[3]["pm25"] = 5000.0
    original = gate_module.predict

    def wrong(expectation: dict[str, Any], table: pa.Table) -> Any:
        p = original(expectation, table)
        if expectation["meta"]["gdx_check"] == "pm25.range":
            return type(p)(np.zeros_like(p.unexpected), True, p.element_count)  # "nothing wrong here"
        return p

    monkeypatch.setattr(gate_module, "predict", wrong)
    validator = Validator(air, IngestConfig(), Pseudonymiser(None))
    with pytest.raises(GateDisagreement, match=r"pm25\.range.*\(2, 103\)"):
        validator.validate(_raw(air, records))


def test_gate_cross_check_covers_every_suite_expectation() -> None:
    from gdx.contracts.model import load_all

    for contract in load_all().values():
        if not contract.is_seed:
            Gate(contract)  # raises UnsupportedExpectation for an expectation without a predictor


def test_gx_results_hold_no_values() -> None:
    moi = get_contract("moi.informal_debt_cases")
    records = list(valid_records(moi.id, 30, seed=2))
    bad_id = make_citizen_id("310170020754")[:-1] + "0"  # wrong check digit
    records[4]["citizen_id"] = bad_id
    good_id = records[5]["citizen_id"]
    records[5]["principal_thb"] = -1.0
    validator = Validator(moi, IngestConfig(), Pseudonymiser(PiiKey.parse("k1:" + "s" * 32)), decryptor(moi))
    validated = validator.validate(_raw(moi, records))
    assert validated.failures[4].rule_id == "rule.citizen_id_checksum"
    assert validated.failures[5].rule_id == "principal_thb.range"
    # the same GX call the gate makes, result serialised as it would be stored
    gate = validator.gate
    table = validated.properties.take(pa.array(list(range(len(records)))))
    from gdx.ingest.rules import rule_columns

    for name, col in rule_columns(moi, table).items():
        table = table.append_column(name, col)
    df = gate.frame(table, np.zeros(len(records), dtype=np.int64), np.arange(len(records)))
    batch = gate_module._batch_definition(gate.suite_name).get_batch(batch_parameters={"dataframe": df})
    result = json.dumps(batch.validate(gate._live_suite(), result_format=RESULT_FORMAT).to_json_dict())
    assert bad_id not in result and good_id not in result
    assert '"unexpected_index_list"' in result
