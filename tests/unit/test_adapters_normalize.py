"""The Normaliser: Thai source values → the contract's wire types (property-based where it fits)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdx.adapters.normalize import Normaliser
from gdx.contracts.model import get_contract
from gdx.sample.common import THAI_DIGITS, be_date_text


@cache
def _normaliser(contract_id: str) -> Normaliser:
    return Normaliser(get_contract(contract_id))


@pytest.fixture(scope="module")
def debt():
    return Normaliser(get_contract("moi.informal_debt_cases"))


@pytest.fixture(scope="module")
def air():
    return Normaliser(get_contract("pcd.air_quality_hourly"))


@settings(deadline=None)
@given(st.decimals(min_value=0, max_value=10_000_000, places=2, allow_nan=False), st.booleans())
def test_numbers_with_thousands_separators_and_thai_digits(value, thai):
    text = f"{value:,.2f}"
    if thai:
        text = text.translate(THAI_DIGITS)
    record, violations = _normaliser("moi.informal_debt_cases").normalise({"principal_thb": text})
    assert not [v for v in violations if v.property == "principal_thb"]
    assert Decimal(str(record["principal_thb"])) == value.quantize(Decimal("0.01"))


@settings(deadline=None)
@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)), st.integers(0, 3))
def test_buddhist_era_dates(d, style):
    record, violations = _normaliser("moi.informal_debt_cases").normalise(
        {"registered_on": be_date_text(d, style)}
    )
    if style == 3 and not 1957 <= d.year <= 2056:
        return  # a two-digit BE year means 25xx (BE 2500-2599 = CE 1957-2056); other years cannot be written so
    assert record["registered_on"] == d.isoformat() and not violations


def test_citizen_id_kept_even_with_bad_checksum(debt):
    record, violations = debt.normalise({"citizen_id": "1-1017-00123-45-6"})
    assert record["citizen_id"] == "1101700123456" and not violations  # the edge check reports the checksum


def test_timestamps_get_the_local_offset(air):
    for text, expected in [
        ("2024-03-01 13:00:00", "2024-03-01T13:00:00+07:00"),
        ("2024-03-01T06:00:00Z", "2024-03-01T13:00:00+07:00"),
        ("1 มี.ค. 2567 13.00 น.", "2024-03-01T13:00:00+07:00"),
        ("2567-03-01 13:00", "2024-03-01T13:00:00+07:00"),
    ]:
        record, violations = air.normalise({"measured_at": text})
        assert record["measured_at"] == expected and not violations, text


@pytest.mark.parametrize("missing", ["", "-", "N/A", "  ", None])
def test_missing_values_are_null(air, missing):
    record, violations = air.normalise({"pm25": missing, "aqi": missing})
    assert record["pm25"] is None and record["aqi"] is None and not violations


@pytest.mark.parametrize(
    ("value", "ok"), [("12", 12), ("1,200", 1200), ("12.0", 12), (12.0, 12), ("12.5", None), ("inf", None)]
)
def test_integers(air, value, ok):
    record, violations = air.normalise({"aqi": value})
    if ok is None:
        assert violations and violations[0].code == "wrong_type"
    else:
        assert record["aqi"] == ok and isinstance(record["aqi"], int) and not violations


def test_every_property_is_present(air):
    record, _ = air.normalise({})
    assert set(record) == {p.name for p in get_contract("pcd.air_quality_hourly").properties}
