"""Tests for gdx.thai.provinces: reference table and normalize_province."""

from __future__ import annotations

import csv
import dataclasses
import re
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdx.thai import Province, all_provinces, normalize_province, province_name

PROVINCES = all_provinces()
ISO_CODES = {p.iso_3166_2 for p in PROVINCES}


def _to_thai_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))


# --- reference table -------------------------------------------------------------------------


def test_reference_table_has_77_unique_provinces():
    assert len(PROVINCES) == 77
    for field in ("dopa_code", "iso_3166_2", "name_th", "name_en"):
        values = [getattr(p, field) for p in PROVINCES]
        assert len(set(values)) == 77, field


def test_reference_table_matches_csv_file():
    text = resources.files("gdx.reference").joinpath("th_provinces.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(text.splitlines()))
    assert [p.dopa_code for p in PROVINCES] == [r["province_code"] for r in rows]
    assert [p.name_th for p in PROVINCES] == [r["name_th"] for r in rows]
    lop_buri = next(p for p in PROVINCES if p.iso_3166_2 == "TH-16")
    assert lop_buri.name_en_variants == ("Loburi", "Lopburi")


def test_province_fields_are_well_formed():
    regions = {"Central", "East", "Northeast", "North", "West", "South"}
    for p in PROVINCES:
        assert isinstance(p, Province)
        assert re.fullmatch(r"[1-9][0-9]", p.dopa_code)
        assert p.iso_3166_2 == f"TH-{p.dopa_code}"
        assert p.region_en in regions
        assert p.region_th.startswith("ภาค")


def test_province_is_frozen_and_all_provinces_returns_a_copy():
    first = all_provinces()
    with pytest.raises(dataclasses.FrozenInstanceError):
        first[0].name_en = "x"  # type: ignore[misc]
    first.clear()
    assert len(all_provinces()) == 77


# --- normalize_province: documented forms ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "จ.เชียงราย",
        "จ. เชียงราย",
        "จ .เชียงราย",
        "จว.เชียงราย",
        "จังหวัดเชียงราย",
        "จังหวัด เชียงราย",
        "เชียงราย",
        " เชียง ราย ",
        "Chiang Rai",
        "Chiangrai",
        "CHIANG RAI",
        "chiang rai",
        "chiang-rai",
        "Chiang_Rai",
        "  Chiang \t  Rai\n",
        "Chiang Rai Province",
        "Province of Chiang Rai",
        "TH-57",
        "TH57",
        "th-57",
        "th57",
        " TH - 57 ",
        "57",
        " 57 ",
        "๕๗",
        "TH-๕๗",
        "เชียง\u200bราย",
        "\ufeffเชียงราย",
        "Chiang\u00a0Rai",
    ],
)
def test_chiang_rai_forms(text):
    assert normalize_province(text) == "TH-57"


def test_int_code_is_accepted():
    assert normalize_province(57) == "TH-57"  # type: ignore[arg-type]
    assert normalize_province(10) == "TH-10"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "กรุงเทพฯ",
        "กรุงเทพ ฯ",
        "กรุงเทพ",
        "กรุงเทพมหานคร",
        "จ.กรุงเทพมหานคร",
        "กทม.",
        "กทม",
        "ก.ท.ม.",
        "Bangkok",
        "BANGKOK",
        "Krung Thep Maha Nakhon",
        "Krung Thep",
        "Bangkok Metropolis",
        "TH-10",
        "10",
        "๑๐",
    ],
)
def test_bangkok_forms(text):
    assert normalize_province(text) == "TH-10"


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Lopburi", "TH-16"),
        ("Loburi", "TH-16"),
        ("Lop Buri", "TH-16"),
        ("อยุธยา", "TH-14"),
        ("Ayutthaya", "TH-14"),
        ("โคราช", "TH-30"),
        ("Korat", "TH-30"),
        ("Phang Nga", "TH-82"),
        ("Chonburi", "TH-20"),
        ("Sisaket", "TH-33"),
        ("Nakhon Ratchasima", "TH-30"),
    ],
)
def test_variants_and_aliases(text, iso):
    assert normalize_province(text) == iso


@pytest.mark.parametrize("text", ["จันทบุรี", "จ.จันทบุรี", "จังหวัดจันทบุรี", "Chanthaburi"])
def test_province_starting_with_jo_jan_is_not_mangled_by_prefix_stripping(text):
    # "จ." is stripped as a prefix; จันทบุรี itself starts with "จ".
    assert normalize_province(text) == "TH-22"


def test_decomposed_sara_am_is_folded():
    # ำ typed as nikhahit + sara aa renders identically and is common in old data.
    assert normalize_province("ก\u0e4d\u0e32แพงเพชร") == "TH-62"
    assert normalize_province("จ.ล\u0e4d\u0e32ปาง") == "TH-52"


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "-",
        "Chiang",
        "เชียง",
        "Chiang Raii",
        "99",
        "TH-99",
        "TH-",
        "TH",
        "5",
        "057",
        "570",
        "จ.",
        "จังหวัด",
        "Province",
        "Thailand",
        "เชียงราย เชียงใหม่",
        "Chiang Rai, Thailand",
    ],
)
def test_unknown_returns_none(text):
    assert normalize_province(text) is None


@pytest.mark.parametrize("value", [57.0, True, b"57", ["57"]])
def test_non_string_non_int_returns_none(value):
    assert normalize_province(value) is None  # type: ignore[arg-type]


# --- normalize_province: every reference row --------------------------------------------------


@pytest.mark.parametrize("province", PROVINCES, ids=lambda p: p.iso_3166_2)
def test_every_province_round_trips(province: Province):
    iso = province.iso_3166_2
    forms = [
        iso,
        iso.lower(),
        iso.replace("-", ""),
        province.dopa_code,
        _to_thai_digits(province.dopa_code),
        province.name_th,
        f"จ.{province.name_th}",
        f"จ. {province.name_th}",
        f"จังหวัด{province.name_th}",
        f" {province.name_th} ",
        province.name_en,
        province.name_en.upper(),
        province.name_en.lower(),
        province.name_en.replace(" ", ""),
        province.name_en.replace(" ", "-"),
        f"{province.name_en} Province",
        *province.name_en_variants,
    ]
    for form in forms:
        assert normalize_province(form) == iso, form
    assert province_name(iso) == province.name_th
    assert province_name(iso, "en") == province.name_en


@given(
    province=st.sampled_from(PROVINCES),
    data=st.data(),
)
def test_english_names_ignore_case_and_spacing(province: Province, data):
    name = data.draw(st.sampled_from((province.name_en, *province.name_en_variants)))
    chars = []
    for ch in name.replace(" ", ""):
        chars.append(ch.upper() if data.draw(st.booleans()) else ch.lower())
        chars.append(data.draw(st.sampled_from(["", "", " ", "-", "  "])))
    assert normalize_province("".join(chars)) == province.iso_3166_2


@given(st.text(max_size=30))
def test_arbitrary_text_never_raises(text):
    result = normalize_province(text)
    assert result is None or result in ISO_CODES


@given(province=st.sampled_from(PROVINCES), cut=st.integers(min_value=1, max_value=3))
def test_truncated_names_are_not_guessed(province: Province, cut):
    # A prefix of a name is never matched to the province (no fuzzy guessing).
    truncated = province.name_en.replace(" ", "")[:-cut]
    result = normalize_province(truncated)
    assert result != province.iso_3166_2 or truncated.lower() in {
        v.replace(" ", "").lower() for v in province.name_en_variants
    }


# --- province_name ----------------------------------------------------------------------------


def test_province_name():
    assert province_name("TH-57") == "เชียงราย"
    assert province_name("TH-57", lang="en") == "Chiang Rai"
    assert province_name("TH-10", "th") == "กรุงเทพมหานคร"
    # Any form normalize_province understands is accepted.
    assert province_name("th57", "en") == "Chiang Rai"
    assert province_name("กทม.", "en") == "Bangkok"


@pytest.mark.parametrize("iso", ["TH-99", "", "Chiang"])
def test_province_name_unknown_raises(iso):
    with pytest.raises(ValueError, match="unknown province"):
        province_name(iso)


def test_province_name_bad_lang_raises():
    with pytest.raises(ValueError, match="lang"):
        province_name("TH-57", "fr")
