"""Edge check: JSON Schema (fast path + per-property reasons) and Thai semantic checks."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdx.contracts.model import get_contract
from gdx.producer.edge_check import EdgeChecker
from gdx.producer.pipeline import encode
from gdx.producer.publish import oversize_reason
from gdx.thai import make_citizen_id

AIR = {
    "station_id": "57t", "station_name_th": "สถานี", "province_code": "TH-57", "province_raw": "เชียงราย",
    "measured_at": "2024-03-01T13:00:00+07:00", "pm25": 41.2, "pm10": None, "o3": None, "co": None, "no2": None,
    "so2": None, "aqi": 85,
}  # fmt: skip


@pytest.fixture(scope="module")
def air():
    return EdgeChecker(get_contract("pcd.air_quality_hourly"))


@pytest.fixture(scope="module")
def debt():
    return EdgeChecker(get_contract("moi.informal_debt_cases"))


@cache
def _debt_checker() -> EdgeChecker:
    return EdgeChecker(get_contract("moi.informal_debt_cases"))


def _codes(violations):
    return {(v.property, v.code) for v in violations}


def test_valid_record_passes(air):
    assert air.check(AIR) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"pm25": 1500.0}, ("pm25", "out_of_range")),
        ({"pm25": "41"}, ("pm25", "wrong_type")),
        ({"station_id": "X1"}, ("station_id", "pattern_mismatch")),
        ({"measured_at": None}, ("measured_at", "missing_required")),
        ({"province_code": "TH-99"}, ("province_code", "not_in_enum")),
        ({"measured_at": "2024-02-30T13:00:00+07:00"}, ("measured_at", "impossible_date")),
        ({"measured_at": "2009-12-31T23:00:00+07:00"}, ("measured_at", "out_of_range")),
        ({"extra": 1}, ("extra", "unknown_property")),
    ],
)
def test_violations_name_the_property_and_rule(air, change, expected):
    assert expected in _codes(air.check({**AIR, **change}))


def test_every_broken_property_is_listed(air):
    bad = {**AIR, "pm25": -5.0, "aqi": 900, "station_id": None}
    assert {("pm25", "out_of_range"), ("aqi", "out_of_range"), ("station_id", "missing_required")} <= _codes(
        air.check(bad)
    )
    assert len([v for v in air.check(bad) if v.property == "station_id"]) == 1


def _debt(**change):
    rec = {
        "case_id": "BRM-2567-000001", "citizen_id": make_citizen_id("110170012345"), "province_code": "TH-31",
        "province_raw": "บุรีรัมย์", "district_name": None, "creditor_type": "informal_lender", "principal_thb": 50000.0,
        "status": "registered", "registered_on": "2024-03-01", "mediated_on": None, "settled_on": None,
        "settled_amount_thb": None, "debt_reduced_thb": None,
    }  # fmt: skip
    rec.update(change)
    return rec


def test_citizen_id_checksum(debt):
    assert debt.check(_debt()) == []
    good = make_citizen_id("110170012345")
    wrong = good[:12] + str((int(good[12]) + 1) % 10)
    assert ("citizen_id", "bad_citizen_id") in _codes(debt.check(_debt(citizen_id=wrong)))


@settings(max_examples=50, deadline=None)
@given(st.from_regex(r"[1-8][0-9]{11}", fullmatch=True), st.integers(1, 9))
def test_any_wrong_check_digit_is_caught(prefix, delta):
    checker = _debt_checker()
    good = make_citizen_id(prefix)
    assert checker.check(_debt(citizen_id=good)) == []
    wrong = good[:12] + str((int(good[12]) + delta) % 10)
    assert ("citizen_id", "bad_citizen_id") in _codes(checker.check(_debt(citizen_id=wrong)))


@pytest.mark.parametrize("day", ["2024-02-30", "2023-02-29", "2024-04-31"])
def test_impossible_calendar_dates(debt, day):
    assert ("registered_on", "impossible_date") in _codes(debt.check(_debt(registered_on=day)))


def test_date_minimum(debt):
    assert ("registered_on", "out_of_range") in _codes(debt.check(_debt(registered_on="2014-12-31")))


def test_oversize_records_are_reported_before_delivery():
    contract = get_contract("pcd.air_quality_hourly")
    key, value, headers = encode(contract, AIR)
    assert oversize_reason(key, value, headers, 1_048_576) is None
    big = b"x" * 1_100_000
    reason = oversize_reason(key, big, headers, 1_048_576)
    assert reason is not None and "1048576" in reason
    assert oversize_reason(key, value, headers, 200) is not None
