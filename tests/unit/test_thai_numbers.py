"""Tests for gdx.thai.numbers.parse_number and gdx.thai.digits."""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdx.thai import parse_number, thai_digits_to_arabic
from gdx.thai.numbers import MISSING_MARKERS

TO_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")

finite_decimals = st.decimals(
    allow_nan=False, allow_infinity=False, min_value=-(10**15), max_value=10**15, places=4
)


@pytest.fixture(scope="module")
def pythainlp_util(tmp_path_factory):
    """pythainlp as an independent oracle (it writes a data dir on import; keep it in tmp)."""
    old = os.environ.get("PYTHAINLP_DATA_DIR")
    os.environ.setdefault("PYTHAINLP_DATA_DIR", str(tmp_path_factory.mktemp("pythainlp-data")))
    try:
        yield pytest.importorskip("pythainlp.util")
    finally:
        if old is None:
            os.environ.pop("PYTHAINLP_DATA_DIR", None)


# --- thai_digits_to_arabic --------------------------------------------------------------------


def test_thai_digits_to_arabic():
    assert thai_digits_to_arabic("๐๑๒๓๔๕๖๗๘๙") == "0123456789"
    assert thai_digits_to_arabic("เป็นจำนวน ๑๒๓,๔๐๐.๒๕ บาท") == "เป็นจำนวน 123,400.25 บาท"
    assert thai_digits_to_arabic("") == ""
    assert thai_digits_to_arabic("abc 123") == "abc 123"


def test_thai_digits_to_arabic_rejects_non_str():
    with pytest.raises(TypeError):
        thai_digits_to_arabic(123)  # type: ignore[arg-type]


@given(st.text())
def test_thai_digits_agree_with_pythainlp(pythainlp_util, text):
    assert thai_digits_to_arabic(text) == pythainlp_util.thai_digit_to_arabic_digit(text)


# --- parse_number -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,890", "12890"),
        ("1,234,567", "1234567"),
        ("1,234,567.25", "1234567.25"),
        ("๑๒๓.๕", "123.5"),
        ("๑๒,๘๙๐", "12890"),
        ("-12.5", "-12.5"),
        ("+3", "3"),
        ("  42 ", "42"),
        ("\u00a042\t", "42"),
        ("0", "0"),
        ("007", "7"),
        (".5", "0.5"),
        ("-.5", "-0.5"),
        ("(1,200)", "-1200"),
        ("( 1,200.50 )", "-1200.50"),
        ("(0)", "0"),
        ("−7", "-7"),  # U+2212 minus sign
        ("1e3", "1000"),
        ("1.5E-2", "0.015"),
        ("-2e+2", "-200"),
        ("123", "123"),
        ("999", "999"),
        ("1,000", "1000"),
    ],
)
def test_parse_number_forms(text, expected):
    result = parse_number(text)
    assert isinstance(result, Decimal)
    assert result == Decimal(expected)


def test_parse_number_preserves_written_precision():
    assert str(parse_number("1,234.50")) == "1234.50"
    long = "12345678901234567890123456789012345.123456789"
    assert str(parse_number(long)) == long
    assert str(parse_number(f"({long})")) == "-" + long


@pytest.mark.parametrize(
    "text", [None, "", "   ", "-", "--", "—", "–", "N/A", "n/a", "NA", "na", "null", "NULL", "nan", "None"]
)
def test_missing_values_return_none(text):
    assert parse_number(text) is None


def test_missing_markers_are_casefolded():
    assert all(marker == marker.casefold().strip() for marker in MISSING_MARKERS)


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "12,34,5x",
        "12,34",
        "1,2,3",
        "1,23",
        "1,2345",
        "1234,567",
        ",123",
        "123,",
        "1,234.5,6",
        "1,234.50 บาท",
        "บาท 100",
        "$100",
        "100%",
        "1 234",
        "1.2.3",
        "5.",
        "12-",
        "--5",
        "+-5",
        "(-5)",
        "-(5)",
        "(5",
        "5)",
        "()",
        "1,000e3",
        "1e",
        "e3",
        "inf",
        "Infinity",
        "NaN5",
        "0x10",
        "1_000",
        "١٢٣",  # Arabic-Indic digits are not Thai digits
        "１２３",  # fullwidth digits
    ],
)
def test_non_numbers_raise_naming_the_input(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_number(text)


def test_non_string_inputs():
    assert parse_number(42) == Decimal(42)
    assert parse_number(-7) == Decimal(-7)
    assert parse_number(0.1) == Decimal("0.1")
    assert parse_number(1e20) == Decimal("1e20")
    assert parse_number(Decimal("3.50")) == Decimal("3.50")
    assert parse_number(float("nan")) is None
    assert parse_number(Decimal("NaN")) is None
    with pytest.raises(ValueError):
        parse_number(float("inf"))
    with pytest.raises(ValueError):
        parse_number(Decimal("-Infinity"))


@pytest.mark.parametrize("value", [True, False, [1], b"1", object()])
def test_unsupported_types_raise_type_error(value):
    with pytest.raises(TypeError):
        parse_number(value)  # type: ignore[arg-type]


def test_exponent_forms_are_consistent_between_str_and_float():
    # str(float) can produce an exponent, so string exponents are accepted as well.
    assert parse_number(1e-7) == parse_number("1e-07") == Decimal("1e-7")


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_grouped_integers_round_trip(n):
    assert parse_number(f"{n:,}") == n
    assert parse_number(f"{n}") == n
    assert parse_number(f"{n:,}".translate(TO_THAI_DIGITS)) == n
    if n > 0:
        assert parse_number(f"({n:,})") == -n


@given(finite_decimals)
def test_grouped_decimals_round_trip(d):
    text = f"{d:,f}"
    assert parse_number(text) == d
    assert parse_number(f"  {text}  ") == d


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_round_trip_exactly_as_printed(f):
    result = parse_number(f)
    assert result == Decimal(repr(f))
    assert float(result) == f


@given(n=st.integers(min_value=1000, max_value=10**12), data=st.data())
def test_misplaced_group_separator_is_rejected(n, data):
    digits = str(n)
    # Any comma position that is not a multiple of 3 from the right is malformed.
    pos = data.draw(st.integers(min_value=1, max_value=len(digits) - 1))
    if (len(digits) - pos) % 3 == 0:
        pos = pos - 1 if pos > 1 else pos + 1
    text = digits[:pos] + "," + digits[pos:]
    with pytest.raises(ValueError):
        parse_number(text)


@given(st.text(max_size=20))
def test_arbitrary_text_returns_decimal_none_or_value_error(text):
    try:
        result = parse_number(text)
    except ValueError:
        return
    assert result is None or (isinstance(result, Decimal) and result.is_finite())
