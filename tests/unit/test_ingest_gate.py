"""The GX gate: finds every failing row by (partition, offset), keeps values out of its results,
and quarantines the rows GX and the independent prediction disagree about (`gate.disagreement`)."""

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
from gdx.ingest.gate import DISAGREEMENT, RESULT_FORMAT, Gate, GateError
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


def _patched_predict(monkeypatch: pytest.MonkeyPatch, check: str, change: Any) -> None:
    original = gate_module.predict

    def patched(expectation: dict[str, Any], table: pa.Table) -> Any:
        p = original(expectation, table)
        return change(p) if expectation["meta"]["gdx_check"] == check else p

    monkeypatch.setattr(gate_module, "predict", patched)


def test_prediction_missing_a_failure_quarantines_that_row_as_disputed(air: Any, monkeypatch, caplog) -> None:
    records = list(valid_records(air.id, 50, seed=5))
    records[3]["pm25"] = 5000.0  # GX: fail; the (wrong) prediction: pass
    records[9]["aqi"] = -1  # both agree: fail
    _patched_predict(
        monkeypatch, "pm25.range", lambda p: type(p)(np.zeros_like(p.unexpected), True, p.element_count)
    )
    with caplog.at_level("ERROR", logger="gdx.ingest.gate"):
        validated = Validator(air, IngestConfig(), Pseudonymiser(None)).validate(_raw(air, records))
    assert {i: f.rule_id for i, f in validated.failures.items()} == {3: DISAGREEMENT, 9: "aqi.range"}
    reason = validated.failures[3].reason
    assert (
        "pm25.range" in reason
        and "Great Expectations says fail" in reason
        and "prediction says pass" in reason
    )
    assert "5000" not in reason
    assert validated.failures[3].column == "pm25" and validated.failures[3].stage == "gate"
    assert validated.disputed() == 1 and validated.gate.disputed == 1
    assert len(validated.landed) == 48 and 3 not in validated.landed
    assert not validated.gate.success
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert (
        len(errors) == 1 and "(2, 103)" in errors[0].getMessage() and DISAGREEMENT in errors[0].getMessage()
    )


def test_prediction_flagging_an_extra_row_quarantines_it_with_both_verdicts(air: Any, monkeypatch) -> None:
    records = list(valid_records(air.id, 40, seed=6))

    def extra_row(p: Any) -> Any:
        unexpected = p.unexpected.copy()
        unexpected[7] = True  # the prediction says row 7 fails; GX (right) says it passes
        return type(p)(unexpected, False, p.element_count)

    _patched_predict(monkeypatch, "station_id.pattern", extra_row)
    validated = Validator(air, IngestConfig(), Pseudonymiser(None)).validate(_raw(air, records))
    assert list(validated.failures) == [7]
    f = validated.failures[7]
    assert f.rule_id == DISAGREEMENT
    assert (
        "station_id.pattern: Great Expectations says pass, the independent prediction says fail" in f.reason
    )
    assert len(validated.landed) == 39


def test_disagreement_without_rows_holds_every_candidate_row(air: Any, monkeypatch) -> None:
    """Same rows flagged, another success flag: the dispute names no rows, so no row lands
    unverified — and the batch does not fail (it would on every retry)."""
    records = list(valid_records(air.id, 30, seed=7))
    records[2] = {**records[2], "pm25": "not a number"}  # a decode failure: not a gate candidate
    _patched_predict(
        monkeypatch, "aqi.range", lambda p: type(p)(p.unexpected, not p.success, p.element_count)
    )
    validated = Validator(air, IngestConfig(), Pseudonymiser(None)).validate(_raw(air, records))
    assert len(validated.landed) == 0
    assert validated.failures[2].rule_id != DISAGREEMENT  # its decode failure stays its reason
    disputed = {i for i, f in validated.failures.items() if f.rule_id == DISAGREEMENT}
    assert disputed == set(range(30)) - {2}
    reason = validated.failures[0].reason
    assert (
        "aqi.range" in reason
        and "GX success=True, prediction success=False" in reason
        and "names no rows" in reason
    )


def test_gx_result_missing_for_a_check_holds_the_batch(air: Any, monkeypatch) -> None:
    records = list(valid_records(air.id, 20, seed=8))
    validator = Validator(air, IngestConfig(), Pseudonymiser(None))
    gate = validator.gate
    dropped = gate.expectations[-1]["meta"]["gdx_check"]
    real = gate_module._batch_definition(gate.suite_name).get_batch

    class OneResultLess:
        def __init__(self, batch: Any) -> None:
            self.batch = batch

        def validate(self, *args: Any, **kwargs: Any) -> Any:
            result = self.batch.validate(*args, **kwargs)
            result.results = [
                r for r in result.results if (r.expectation_config.meta or {}).get("gdx_check") != dropped
            ]
            return result

    definition = gate_module._batch_definition(gate.suite_name)
    monkeypatch.setattr(type(definition), "get_batch", lambda self, **kw: OneResultLess(real(**kw)))
    validated = validator.validate(_raw(air, records))
    assert len(validated.landed) == 0 and validated.disputed() == 20
    assert f"{dropped}: GX returned no result" in validated.failures[0].reason


def test_gx_raising_is_still_an_error(air: Any, monkeypatch) -> None:
    records = list(valid_records(air.id, 10, seed=9))
    validator = Validator(air, IngestConfig(), Pseudonymiser(None))
    definition = gate_module._batch_definition(validator.gate.suite_name)
    real = definition.get_batch

    class Raising:
        def __init__(self, batch: Any) -> None:
            self.batch = batch

        def validate(self, *args: Any, **kwargs: Any) -> Any:
            result = self.batch.validate(*args, **kwargs)
            result.results[0].exception_info = {"raised_exception": True, "exception_message": "boom"}
            return result

    monkeypatch.setattr(type(definition), "get_batch", lambda self, **kw: Raising(real(**kw)))
    with pytest.raises(GateError, match="GX raised while evaluating"):
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
