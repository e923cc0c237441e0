"""Decoding never crashes: every hostile record becomes a failure with a rule id; good ones type."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from gdx.contracts.model import get_contract
from gdx.events import H_CONTRACT_ID, H_EVENT_ID, canonical_json, headers_for
from gdx.ingest.config import IngestConfig
from gdx.ingest.decode import Decoder
from gdx.ingest.model import RawBatch
from gdx.ingest.pii import PiiKey, Pseudonymiser

AIR = get_contract("pcd.air_quality_hourly")
GOOD = {
    "station_id": "57t", "station_name_th": "ศาลากลาง <script>alert(1)</script>'; DROP TABLE x;--",
    "province_code": "TH-57", "province_raw": "เชียงราย", "measured_at": "2024-03-01T13:00:00+07:00",
    "pm25": 12.5, "pm10": 30, "o3": None, "co": 0.4, "no2": 1.0, "so2": None, "aqi": 57,
}  # fmt: skip


def _batch(values: list[Any], headers: list[Any] | None = None) -> RawBatch:
    raw = RawBatch(AIR.topic)
    for i, v in enumerate(values):
        value = canonical_json(v) if isinstance(v, dict) else v
        raw.partitions.append(0)
        raw.offsets.append(i)
        raw.timestamps.append(1_709_272_800_000)
        raw.keys.append(b"k")
        raw.values.append(value)
        if headers is not None and headers[i] is not None:
            raw.headers.append(headers[i])
        else:
            raw.headers.append(headers_for(AIR, value if value is not None else b""))
    return raw


def _decode(values: list[Any], headers: list[Any] | None = None, **config: Any) -> Any:
    return Decoder(AIR, IngestConfig(**config), Pseudonymiser(None)).decode(_batch(values, headers))


def _with(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


HOSTILE: list[tuple[str, Any, str]] = [
    ("bad json", b'{"station_id": "57t"', "message.invalid_json"),
    ("invalid utf-8", b'{"station_id": "\xff\xfe"}', "message.invalid_utf8"),
    ("raw NUL byte", b'{"station_id":"5\x007t"}', "message.invalid_json"),
    ("escaped NUL", _with(station_name_th="a\u0000b"), "station_name_th.control_characters"),
    ("newline in patterned id", _with(station_id="57t\n"), "station_id.control_characters"),
    ("huge number", b'{"pm25": 1e400}', "message.invalid_json"),
    ("huge integer", _with(aqi=2**63 + 5), "aqi.type"),
    ("fraction for integer", _with(aqi=1.5), "aqi.type"),
    ("bool for number", _with(pm25=True), "pm25.type"),
    ("string for number", _with(pm25="12.5"), "pm25.type"),
    ("object for string", _with(station_id={"a": 1}), "station_id.type"),
    ("deep nesting", b"[" * 10_000 + b"]" * 10_000, "message.too_deep"),
    ("deep nesting in a field", b'{"station_id":' + b"[" * 10_000 + b"]" * 10_000 + b"}", "message.too_deep"),
    ("array", b"[1, 2]", "message.not_object"),
    ("scalar", b'"hello"', "message.not_object"),
    ("json null", b"null", "message.not_object"),
    ("unknown key", _with(extra_field=1), "record.unknown_property"),
    ("oversized field", _with(station_name_th="x" * 70_000), "station_name_th.oversized"),
    ("naive timestamp", _with(measured_at="2024-03-01T13:00:00"), "measured_at.format"),
    ("impossible date", _with(measured_at="2024-02-30T13:00:00+07:00"), "measured_at.format"),
    ("BE year as CE", _with(measured_at="2567-03-01T13:00:00+07:00"), "measured_at.out_of_range"),
    ("undeclared citizen id", _with(station_name_th="ผู้แจ้ง 1-1017-00207-54-4"), "station_name_th.undeclared_personal_data"),
]


@pytest.mark.parametrize(("label", "value", "rule"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_record_fails_with_rule(label: str, value: Any, rule: str) -> None:
    decoded = _decode([GOOD, value, GOOD])
    assert set(decoded.failures.first) == {1}, decoded.failures.first
    failure = decoded.failures.first[1]
    assert failure.rule_id == rule
    assert failure.reason
    # reasons never quote the value
    assert "alert" not in failure.reason and "1017" not in failure.reason


def test_good_record_types_from_contract_schema() -> None:
    decoded = _decode([GOOD, _with(pm10=None, aqi=None), _with(aqi=57.0)])
    assert len(decoded.failures) == 0
    cols = decoded.columns
    assert cols["pm10"].type == pa.float64() and cols["pm10"].to_pylist() == [30.0, None, 30.0]
    assert cols["aqi"].type == pa.int64() and cols["aqi"].to_pylist() == [57, None, 57]
    assert str(cols["measured_at"].type) == "timestamp[us, tz=Asia/Bangkok]"
    assert cols["station_name_th"].to_pylist()[0] == GOOD["station_name_th"]  # injection strings are data


def test_absent_keys_are_null() -> None:
    record = dict(GOOD)
    del record["so2"], record["pm10"]
    decoded = _decode([record])
    assert len(decoded.failures) == 0
    assert decoded.columns["pm10"].to_pylist() == [None]


@pytest.mark.parametrize(
    ("headers", "rule"),
    [
        ([], "header.missing"),
        ([(H_CONTRACT_ID, b"moi.informal_debt_cases")], "header.missing"),
        ("other_contract", "header.contract_mismatch"),
        ("extra", "header.unexpected"),
        ("duplicate", "header.duplicate"),
        ("bad_event_id", "header.event_id_mismatch"),
        ("short_event_id", "header.event_id"),
        ("major_2", "header.version_mismatch"),
    ],
)
def test_header_failures(headers: Any, rule: str) -> None:
    value = canonical_json(GOOD)
    good = headers_for(AIR, value)
    if headers == "other_contract":
        headers = [(k, b"moi.informal_debt_cases" if k == H_CONTRACT_ID else v) for k, v in good]
    elif headers == "extra":
        headers = [*good, ("traceparent", b"00-abc")]
    elif headers == "duplicate":
        headers = [*good, good[0]]
    elif headers == "bad_event_id":
        headers = [(k, b"0" * 64 if k == H_EVENT_ID else v) for k, v in good]
    elif headers == "short_event_id":
        headers = [(k, b"abc" if k == H_EVENT_ID else v) for k, v in good]
    elif headers == "major_2":
        headers = [(k, b"2.0.0" if k == "gdx.contract.version" else v) for k, v in good]
    decoded = _decode([GOOD], headers=[headers])
    assert decoded.failures.first[0].rule_id == rule


def test_reordered_headers_are_fine() -> None:
    value = canonical_json(GOOD)
    decoded = _decode([GOOD], headers=[list(reversed(headers_for(AIR, value)))])
    assert len(decoded.failures) == 0
    assert decoded.event_ids[0] is not None


def test_tombstone_and_too_large() -> None:
    decoded = _decode([None, _with(station_name_th="x" * 2000)], max_message_bytes=1000)
    assert decoded.failures.first[0].rule_id == "message.null_value"
    assert decoded.failures.first[1].rule_id == "message.too_large"


def test_unknown_key_names_are_masked() -> None:
    key = Pseudonymiser(PiiKey.parse("k1:" + "s" * 32))
    raw = _batch([_with(**{"1101700207544": 1})])
    decoded = Decoder(AIR, IngestConfig(), key).decode(raw)
    failure = decoded.failures.first[0]
    assert failure.rule_id == "record.unknown_property"
    assert "1101700207544" not in (failure.column or "") + failure.reason


def test_swapped_key_is_unknown_not_missing() -> None:
    record = dict(GOOD)
    del record["so2"]
    record["so3"] = 1.0  # same number of keys as the contract
    decoded = _decode([GOOD, record])
    assert decoded.failures.first[1].rule_id == "record.unknown_property"
    assert 0 not in decoded.failures
