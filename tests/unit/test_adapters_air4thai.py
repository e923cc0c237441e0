"""Air4Thai payload quirks: live getNewAQI_JSON and hourly history JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdx.adapters.air4thai import Air4ThaiAdapter, clean_value, province_from_area
from gdx.adapters.normalize import Normaliser
from gdx.contracts.model import get_contract

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sources"


@pytest.fixture(scope="module")
def contract():
    return get_contract("pcd.air_quality_hourly")


def _records(contract, name):
    rows = list(Air4ThaiAdapter().read(FIXTURES / name, contract, {}))
    normalise = Normaliser(contract).normalise
    return rows, [normalise(r.values) for r in rows]


def test_live_payload_quirks(contract):
    rows, out = _records(contract, "air4thai_live.json")
    assert [r.record for r in rows] == [1, 2, 3, 4]
    (first, v1), (second, v2), (bkk, v3), (cm, v4) = out
    assert not (v1 or v2 or v3 or v4)
    # trailing spaces trimmed; province = text after the last comma of areaTH, raw kept for audit
    assert first["station_name_th"] == "สำนักงานทรัพยากรธรรมชาติและสิ่งแวดล้อมจังหวัดเชียงราย"
    assert first["province_code"] == "TH-57" and first["province_raw"] == "จ.เชียงราย"
    assert second["province_raw"] == "เชียงราย" and second["province_code"] == "TH-57"
    assert bkk["province_code"] == "TH-10" and cm["province_code"] == "TH-50"
    # date + time are local time; every number is a string; "-1" means missing
    assert first["measured_at"] == "2024-03-15T13:00:00+07:00"
    assert first["pm25"] == 58.3 and first["pm10"] == 96.0 and first["co"] == 0.79
    assert first["no2"] is None and first["so2"] is None
    assert first["aqi"] == 152 and isinstance(first["aqi"], int)
    # AQI -999 / -9999 → null; a missing PM2.5 ("-1") → null, never 0
    assert bkk["aqi"] is None and bkk["pm25"] is None
    assert cm["aqi"] is None


def test_history_payload_uses_station_reference_and_nulls(contract):
    rows, out = _records(contract, "air4thai_history.json")
    assert len(rows) == 4
    records = [r for r, v in out]
    assert all(not v for _, v in out)
    assert records[0]["measured_at"] == "2024-03-01T00:00:00+07:00"
    assert records[0]["pm25"] == 41.2 and records[0]["o3"] is None
    # name and province come from the station table when the history export lacks them
    assert records[0]["station_name_th"] and records[0]["province_code"] == "TH-57"
    assert records[2]["pm25"] is None and records[2]["pm10"] is None
    assert records[3]["pm25"] is None  # negative sentinel in a history file


def test_missing_date_in_live_payload_is_a_violation(contract, tmp_path):
    path = tmp_path / "live.json"
    path.write_text(
        '{"stations":[{"stationID":"57t","nameTH":"x","areaTH":"a, เชียงราย","AQILast":{"PM25":{"value":"1"}}}]}'
    )
    (row,) = Air4ThaiAdapter().read(path, contract, {})
    assert row.violations[0].property == "measured_at"


def test_not_an_air4thai_payload(contract, tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="stations"):
        list(Air4ThaiAdapter().read(path, contract, {}))


@pytest.mark.parametrize(
    ("area", "province"),
    [
        ("ต.เวียง อ.เมือง, จ.เชียงราย", "จ.เชียงราย"),
        ("a, b, กรุงเทพฯ ", "กรุงเทพฯ"),
        ("เชียงใหม่", "เชียงใหม่"),
        ("", None),
        (None, None),
    ],
)
def test_province_from_area(area, province):
    assert province_from_area(area) == province


@given(st.sampled_from(["-1", "-999", "-9999", "-1.0", "", "-", " -1 "]))
def test_missing_markers_become_null(marker):
    assert clean_value(marker) is None


@given(st.floats(min_value=0, max_value=1000, allow_nan=False))
def test_non_negative_numbers_are_kept(value):
    assert clean_value(value) == value
    assert clean_value(repr(value)) == repr(value)


@given(st.floats(max_value=-0.0001, allow_nan=False, allow_infinity=False))
def test_negative_numbers_are_missing(value):
    assert clean_value(value) is None
