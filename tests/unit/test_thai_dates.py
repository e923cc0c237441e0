"""Tests for gdx.thai.dates: parse_date, parse_datetime, BE/CE and fiscal years."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gdx.thai import (
    BANGKOK_TZ,
    be_to_ce,
    ce_to_be,
    fiscal_year,
    parse_date,
    parse_datetime,
)
from gdx.thai.dates import THAI_MONTHS, THAI_MONTHS_ABBR

TO_THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
EN_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# 2-digit years mean 2500-2599 BE, i.e. 1957-2056 CE.
two_digit_year_dates = st.dates(min_value=date(1957, 1, 1), max_value=date(2056, 12, 31))
any_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2300, 12, 31))


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


# --- parse_date: documented forms -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31", date(2024, 1, 31)),
        ("2567-01-31", date(2024, 1, 31)),
        (" 2024-01-31 ", date(2024, 1, 31)),
        ("2024/01/31", date(2024, 1, 31)),
        ("2024-1-5", date(2024, 1, 5)),
        ("๒๕๖๗-๐๑-๓๑", date(2024, 1, 31)),
        ("31/01/2567", date(2024, 1, 31)),
        ("31/1/2567", date(2024, 1, 31)),
        ("31/01/2024", date(2024, 1, 31)),
        ("1/2/2024", date(2024, 2, 1)),
        ("01/02/2024", date(2024, 2, 1)),
        ("1-2-2567", date(2024, 2, 1)),
        ("31.01.2567", date(2024, 1, 31)),
        ("31 / 01 / 2567", date(2024, 1, 31)),
        ("31/01/67", date(2024, 1, 31)),
        ("๓๑/๐๑/๒๕๖๗", date(2024, 1, 31)),
        ("7 ธ.ค.66", date(2023, 12, 7)),
        ("7 ธ.ค. 66", date(2023, 12, 7)),
        ("7ธ.ค.66", date(2023, 12, 7)),
        ("7 ธค 66", date(2023, 12, 7)),
        ("7 ธ. ค. 66", date(2023, 12, 7)),
        ("๗ ธ.ค.๖๖", date(2023, 12, 7)),
        ("28 ก.พ. 67", date(2024, 2, 28)),
        ("16 ม.ค.2569", date(2026, 1, 16)),
        ("23 ธันวาคม 2566", date(2023, 12, 23)),
        ("23  ธันวาคม  2566", date(2023, 12, 23)),
        ("23 ธันวา 66", date(2023, 12, 23)),
        ("วันจันทร์ที่ 28 กันยายน 2569", date(2026, 9, 28)),
        ("วันจันทร์ ที่ 28 กันยายน 2569", date(2026, 9, 28)),
        ("วันพฤหัสบดีที่ 7 ธันวาคม 2566", date(2023, 12, 7)),
        ("วันพฤหัสที่ 7 ธ.ค. 66", date(2023, 12, 7)),
        ("วันที่ 5 มกราคม 2567", date(2024, 1, 5)),
        ("วันที่ 31/01/2567", date(2024, 1, 31)),
        ("1 มกราคม พ.ศ. 2567", date(2024, 1, 1)),
        ("1 ม.ค. พ.ศ.2567", date(2024, 1, 1)),
        ("1 ม.ค. พ.ศ. 67", date(2024, 1, 1)),
        ("1 มกราคม ค.ศ. 2024", date(2024, 1, 1)),
        ("7 Dec 2023", date(2023, 12, 7)),
        ("7 December 2023", date(2023, 12, 7)),
        ("7 DEC 2566", date(2023, 12, 7)),
        ("07-Dec-2023", date(2023, 12, 7)),
        ("7th Dec 2023", date(2023, 12, 7)),
        ("1 Sept 2023", date(2023, 9, 1)),
        ("Dec 7, 2023", date(2023, 12, 7)),
        ("December 7 2023", date(2023, 12, 7)),
        ("Thursday, 7 December 2023", date(2023, 12, 7)),
        ("Thu 7 Dec 2023", date(2023, 12, 7)),
        ("7\u200bธ.ค.\u200b66", date(2023, 12, 7)),
    ],
)
def test_parse_date_forms(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "29/02/2567",  # 2024, leap
        "29 ก.พ. 2567",
        "29 ก.พ. 67",
        "2567-02-29",
        "29/02/2024",
        "29/02/2543",  # 2000, leap (divisible by 400)
    ],
)
def test_29_february_in_leap_years(text):
    assert parse_date(text).day == 29


@pytest.mark.parametrize(
    "text",
    [
        "30/02/2567",
        "30 ก.พ. 2567",
        "31/04/2567",
        "31 เม.ย. 2567",
        "31/06/2024",
        "1/13/2567",
        "1/0/2567",
        "0/1/2567",
        "32/1/2567",
        "2024-02-30",
        "2024-13-01",
        "2567-02-30",
        # The leap check is on the CE year: BE 2568 is divisible by 4, 2025 is not leap.
        "29/02/2568",
        "29 ก.พ. 68",
        "2568-02-29",
        "29/02/2566",
        "29/02/2023",
        "29/02/2443",  # 1900: not a leap year
    ],
)
def test_impossible_dates_raise(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_date(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "2024",
        "2024-01",
        "31/01",
        "ธันวาคม 2566",
        "7 ธ.ค.",
        "7 ธ.ค. 2",
        "7 ธ.ค. 256",
        "7 ธ.ค. 25667",
        "1/1/567",
        "7 Foo 2023",
        "7 มกราคมม 2567",
        "31/01-2567",  # mixed separators
        "31012567",
        "2024-01-31T00:00:00",
        "2024-01-31 extra",
        "1 ม.ค. พ.ศ. 2024",  # พ.ศ. with a CE-looking year
        "1 ม.ค. ค.ศ. 2567",  # ค.ศ. with a BE-looking year
        "วันอังคารที่ 28 กันยายน 2569",  # 28 Sep 2026 is a Monday
        "Friday, 7 December 2023",  # a Thursday
    ],
)
def test_unparseable_dates_raise_naming_the_input(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_date(text)


@pytest.mark.parametrize("value", [None, 20240131, date(2024, 1, 31), b"2024-01-31"])
def test_parse_date_rejects_non_strings(value):
    with pytest.raises(TypeError):
        parse_date(value)  # type: ignore[arg-type]


def test_year_rules():
    # > 2400 is BE, <= 2400 is CE, 2 digits are 25xx BE.
    assert parse_date("1/1/2401").year == 1858
    assert parse_date("1/1/2400").year == 2400
    assert parse_date("1/1/00").year == 1957
    assert parse_date("31/12/99").year == 2056


# --- parse_date: properties -------------------------------------------------------------------


def _thai_forms(d: date) -> list[str]:
    be = ce_to_be(d.year)
    m = d.month - 1
    return [
        f"{be:04d}-{d.month:02d}-{d.day:02d}",
        f"{d.day}/{d.month}/{be}",
        f"{d.day:02d}/{d.month:02d}/{be}",
        f"{d.day}-{d.month}-{be}",
        f"{d.day} {THAI_MONTHS[m]} {be}",
        f"{d.day} {THAI_MONTHS_ABBR[m]} {be}",
        f"{d.day} {THAI_MONTHS_ABBR[m]}{be}",
        f"{d.day} {THAI_MONTHS_ABBR[m].replace('.', '')} {be}",
        f"{d.day} {THAI_MONTHS[m]} พ.ศ. {be}",
        f"{d.day} {THAI_MONTHS_ABBR[m]} พ.ศ.{be}",
        f"{d.day} {EN_ABBR[m]} {be}",
    ]


@given(any_dates)
def test_thai_be_forms_round_trip(d):
    for form in _thai_forms(d):
        assert parse_date(form) == d, form
        assert parse_date(form.translate(TO_THAI_DIGITS)) == d, form


@given(two_digit_year_dates)
def test_two_digit_be_year_forms_round_trip(d):
    yy = ce_to_be(d.year) % 100
    m = d.month - 1
    for form in (
        f"{d.day} {THAI_MONTHS_ABBR[m]}{yy:02d}",
        f"{d.day} {THAI_MONTHS_ABBR[m]} {yy:02d}",
        f"{d.day} {THAI_MONTHS[m]} {yy:02d}",
        f"{d.day:02d}/{d.month:02d}/{yy:02d}",
    ):
        assert parse_date(form) == d, form


@given(st.dates(min_value=date(1, 1, 1), max_value=date(2400, 12, 31)))
def test_ce_iso_and_english_forms_round_trip(d):
    assert parse_date(d.isoformat()) == d
    if d.year >= 1000:
        assert parse_date(f"{d.day} {EN_ABBR[d.month - 1]} {d.year}") == d
        assert parse_date(f"{d.day}/{d.month}/{d.year}") == d


@given(
    be_year=st.integers(min_value=2401, max_value=2999),
    month=st.integers(min_value=0, max_value=13),
    day=st.integers(min_value=0, max_value=32),
)
def test_numeric_dates_parse_iff_the_ce_date_exists(be_year, month, day):
    text = f"{day}/{month}/{be_year}"
    try:
        expected = date(be_year - 543, month, day)
    except ValueError:
        with pytest.raises(ValueError, match=re.escape(repr(text))):
            parse_date(text)
    else:
        assert parse_date(text) == expected


@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_value_error(text):
    try:
        result = parse_date(text)
    except ValueError:
        return
    assert isinstance(result, date)


@given(any_dates)
def test_pythainlp_formatted_dates_parse(pythainlp_util, d):
    dt = datetime(d.year, d.month, d.day)
    for fmt in ("%-d %B %Y", "%d %B %Y", "%d %b %Y", "%x", "%A %d %B %Y", "%v"):
        text = pythainlp_util.thai_strftime(dt, fmt)
        assert parse_date(text) == d, (fmt, text)
    assume(1957 <= d.year <= 2056)
    assert parse_date(pythainlp_util.thai_strftime(dt, "%d %b %y")) == d


def test_month_names_agree_with_pythainlp(pythainlp_util):
    from pythainlp.util import date as pythainlp_date

    assert THAI_MONTHS == tuple(pythainlp_date.thai_full_months)
    assert THAI_MONTHS_ABBR == tuple(pythainlp_date.thai_abbr_months)


# --- parse_datetime ---------------------------------------------------------------------------


def _bkk(*args: int) -> datetime:
    return datetime(*args, tzinfo=BANGKOK_TZ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-31 13:00", _bkk(2024, 1, 31, 13, 0)),
        ("2024-01-31T13:00", _bkk(2024, 1, 31, 13, 0)),
        ("2024-01-31 13:00:05", _bkk(2024, 1, 31, 13, 0, 5)),
        ("2567-01-31 13:00", _bkk(2024, 1, 31, 13, 0)),
        ("2024-01-31T13:00:00+07:00", _bkk(2024, 1, 31, 13, 0)),
        ("2024-01-31T13:00:00+0700", _bkk(2024, 1, 31, 13, 0)),
        ("2024-01-31T06:00:00Z", _bkk(2024, 1, 31, 13, 0)),
        ("2024-01-31T06:00:00z", _bkk(2024, 1, 31, 13, 0)),
        ("2024-01-31T06:00:00+00:00", _bkk(2024, 1, 31, 13, 0)),
        ("2024-01-30T20:00:00-10:00", _bkk(2024, 1, 31, 13, 0)),
        ("2024-01-31T20:00:00Z", _bkk(2024, 2, 1, 3, 0)),  # crosses midnight in Bangkok
        ("2024-01-31T06:00:00.5Z", _bkk(2024, 1, 31, 13, 0, 0, 500000)),
        ("2024-01-31T06:00:00.123456789Z", _bkk(2024, 1, 31, 13, 0, 0, 123456)),
        ("31/01/2567 13:00", _bkk(2024, 1, 31, 13, 0)),
        ("31/01/2024 13:00:59", _bkk(2024, 1, 31, 13, 0, 59)),
        ("31/01/2567, 13:00", _bkk(2024, 1, 31, 13, 0)),
        ("7 ธ.ค.66 13.30 น.", _bkk(2023, 12, 7, 13, 30)),
        ("7 ธ.ค.66 13.30น.", _bkk(2023, 12, 7, 13, 30)),
        ("7 ธ.ค.66 13.30 น", _bkk(2023, 12, 7, 13, 30)),
        ("7 ธ.ค.66 เวลา 13.30 น.", _bkk(2023, 12, 7, 13, 30)),
        ("7 ธันวาคม 2566 เวลา 9.05 นาฬิกา", _bkk(2023, 12, 7, 9, 5)),
        ("๗ ธ.ค. ๖๖ ๑๓.๓๐ น.", _bkk(2023, 12, 7, 13, 30)),
        ("31.01.2567 13.30", _bkk(2024, 1, 31, 13, 30)),
        ("7 Dec 2023 00:00", _bkk(2023, 12, 7, 0, 0)),
    ],
)
def test_parse_datetime_forms(text, expected):
    result = parse_datetime(text)
    assert result == expected
    assert result.tzinfo is BANGKOK_TZ
    assert (result.year, result.hour, result.minute) == (expected.year, expected.hour, expected.minute)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2024-01-31",  # date only: no midnight guess
        "7 ธ.ค.66",
        "13:00",
        "2024-01-31 24:00",
        "2024-01-31 13:60",
        "2024-01-31 13:00:61",
        "31/01/2567 25.00 น.",
        "30/02/2567 13:00",
        "2024-01-31T13:00:00+25:00",
        "2024-01-31 1300",
        "7 ธ.ค.66 13.30 น. ค่ะ",
    ],
)
def test_parse_datetime_errors_name_the_input(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_datetime(text)


@given(st.datetimes(min_value=datetime(1958, 1, 1), max_value=datetime(2055, 12, 31), timezones=st.just(UTC)))
def test_utc_instants_are_preserved(dt):
    dt = dt.replace(microsecond=0)
    text = dt.isoformat().replace("+00:00", "Z")
    result = parse_datetime(text)
    assert result == dt
    assert result.utcoffset() == timedelta(hours=7)


@given(st.datetimes(min_value=datetime(1958, 1, 1), max_value=datetime(2055, 12, 31)))
def test_thai_datetime_forms_round_trip(dt):
    dt = dt.replace(second=0, microsecond=0)
    be = ce_to_be(dt.year)
    text = f"{dt.day} {THAI_MONTHS_ABBR[dt.month - 1]}{be % 100:02d} {dt.hour}.{dt.minute:02d} น."
    assert parse_datetime(text) == dt.replace(tzinfo=BANGKOK_TZ)
    assert parse_datetime(f"{dt.day:02d}/{dt.month:02d}/{be} {dt:%H:%M}") == dt.replace(tzinfo=BANGKOK_TZ)


# --- BE/CE and fiscal year --------------------------------------------------------------------


def test_be_ce_conversion():
    assert be_to_ce(2567) == 2024
    assert ce_to_be(2024) == 2567


@given(st.integers(min_value=-10_000, max_value=10_000))
def test_be_ce_round_trip(year):
    assert be_to_ce(ce_to_be(year)) == year
    assert ce_to_be(be_to_ce(year)) == year


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (date(2023, 9, 30), 2566),
        (date(2023, 10, 1), 2567),
        (date(2024, 1, 1), 2567),
        (date(2024, 9, 30), 2567),
        (date(2024, 10, 1), 2568),
        (date(2024, 12, 31), 2568),
        (datetime(2024, 10, 1, 0, 0, tzinfo=BANGKOK_TZ), 2568),
    ],
)
def test_fiscal_year_boundaries(d, expected):
    assert fiscal_year(d) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_fiscal_year_property(d):
    fy = fiscal_year(d)
    # The fiscal year starts on 1 October of the previous CE year...
    start = date(be_to_ce(fy) - 1, 10, 1)
    end = date(be_to_ce(fy), 9, 30)
    assert start <= d <= end
    # ...and is constant within it, changing exactly at the boundary.
    assert fiscal_year(start) == fiscal_year(end) == fy
    assert fiscal_year(start - timedelta(days=1)) == fy - 1
