"""FIRMS / GISTDA hotspot CSV quirks: unpadded UTC times, MODIS vs VIIRS, duplicates, province."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdx.adapters.firms import FirmsAdapter, acquired_at, hotspot_id, modis_class, parse_acq_time
from gdx.adapters.normalize import Normaliser
from gdx.contracts.model import get_contract

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sources"


@pytest.fixture(scope="module")
def contract():
    return get_contract("gistda.fire_hotspots")


def _read(contract, name):
    stats: dict[str, int] = {}
    rows = list(FirmsAdapter().read(FIXTURES / name, contract, stats))
    normalise = Normaliser(contract).normalise
    return stats, rows, [normalise(r.values) for r in rows]


@pytest.mark.parametrize(
    ("text", "hm"), [("5", (0, 5)), ("45", (0, 45)), ("130", (1, 30)), ("0130", (1, 30)), ("2359", (23, 59))]
)
def test_unpadded_acq_time(text, hm):
    assert parse_acq_time(text) == hm


@pytest.mark.parametrize("text", ["2575", "1360", "12345", "ab", ""])
def test_bad_acq_time(text):
    with pytest.raises(ValueError):
        parse_acq_time(text)


@given(st.integers(0, 23), st.integers(0, 59))
def test_any_hhmm_unpadded_round_trips(hour, minute):
    assert parse_acq_time(str(hour * 100 + minute)) == (hour, minute)


def test_utc_to_bangkok_changes_the_local_date():
    at = acquired_at("2024-03-01", "1835")
    assert at.isoformat() == "2024-03-02T01:35:00+07:00"
    assert acquired_at("2024-03-01", "642").isoformat() == "2024-03-01T13:42:00+07:00"


def test_hotspot_id_matches_the_contract_definition():
    at = datetime(2024, 3, 1, 6, 42, tzinfo=UTC)
    expected = hashlib.sha256(b"19.9105|99.8312|2024-03-01T06:42Z|N20").hexdigest()[:20]
    assert hotspot_id(19.9105, 99.8312, at, "N20") == expected


def test_viirs_file(contract):
    stats, rows, out = _read(contract, "firms_viirs.csv")
    assert stats["duplicates_dropped"] == 1
    assert [r.line for r in rows] == [2, 4, 5, 6]  # line 3 repeats line 2
    first, v = out[0]
    assert not v
    assert first["acquired_at"] == "2024-03-01T13:42:00+07:00" and first["acq_date_local"] == "2024-03-01"
    assert first["satellite"] == "N20" and first["instrument"] == "VIIRS"
    assert first["confidence_class"] == "nominal" and first["confidence_pct"] is None
    assert first["brightness"] == 345.2 and first["daynight"] == "D"
    assert first["province_code"] == "TH-57" and first["province_raw"] is None  # geocoded
    assert first["hotspot_id"] == hashlib.sha256(b"19.9105|99.8312|2024-03-01T06:42Z|N20").hexdigest()[:20]
    night, v = out[1]
    assert not v and night["acq_date_local"] == "2024-03-02" and night["confidence_class"] == "high"
    early, v = out[2]
    assert (
        not v and early["acquired_at"] == "2024-03-02T07:05:00+07:00" and early["confidence_class"] == "low"
    )
    # a pixel in Laos (Luang Prabang) is rejected as outside Thailand
    laos, v = out[3]
    assert any(x.code == "outside_thailand" and x.property == "province_code" for x in rows[3].violations)


def test_modis_file(contract):
    _, rows, out = _read(contract, "firms_modis.csv")
    (terra, v1), (aqua, v2) = out
    assert not v1 and not v2
    assert terra["satellite"] == "Terra" and terra["instrument"] == "MODIS"
    assert terra["confidence_pct"] == 85 and terra["confidence_class"] == "high"
    assert terra["acquired_at"] == "2024-03-01T08:30:00+07:00"
    assert aqua["confidence_pct"] == 25 and aqua["confidence_class"] == "low"
    assert aqua["province_code"] == "TH-50"


def test_gistda_export_with_province_columns(contract):
    _, rows, out = _read(contract, "gistda_hotspots.csv")
    (a, v1), (b, v2) = out
    assert not v1 and not v2
    assert a["province_code"] == "TH-57" and a["province_raw"] == "เชียงราย"
    assert b["province_code"] == "TH-50" and b["province_raw"] == "จ.เชียงใหม่"
    assert a["land_use"] == "conservation_forest" and b["land_use"] == "agricultural"
    assert a["instrument"] == "VIIRS"  # implied by the satellite


def test_not_a_firms_file(contract, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a FIRMS"):
        list(FirmsAdapter().read(path, contract, {}))


@given(st.floats(0, 100))
def test_modis_confidence_classes(pct):
    expected = "low" if pct < 30 else "nominal" if pct < 80 else "high"
    assert modis_class(pct) == expected
