"""Parsing of Thai-style dates and times, Buddhist Era years and fiscal years.

Thai sources write dates day-first and usually in the Buddhist Era (BE,
พ.ศ. = CE + 543), with Thai month names or abbreviations, Thai digits and
two-digit years (``"7 ธ.ค.66"`` is 7 December 2566 BE = 2023-12-07). Some
systems emit ISO dates with a BE year (``"2567-01-31"``).

Year rules, applied to every form:

* a 4-digit year greater than 2400 is BE and has 543 subtracted;
  any other 4-digit year is CE;
* a 2-digit year is BE in the 2500s (``66`` -> 2566 BE -> 2023 CE);
* an explicit era marker (``พ.ศ.`` / ``ค.ศ.``) must agree with those rules.

The calendar check (30 February, 29 February in a common year) is done on the
CE year after conversion -- BE 2568 is divisible by 4 but 2025 is not a leap
year. Anything unparseable or impossible raises :class:`ValueError` naming the
input; nothing is ever rolled over into the next month.

Times (:func:`parse_datetime`) are returned as aware datetimes in
Asia/Bangkok, the zone every Thai government source means when it gives none.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from gdx.thai.digits import ARABIC_DIGITS, THAI_DIGITS

__all__ = [
    "BANGKOK_TZ",
    "BE_OFFSET",
    "be_to_ce",
    "ce_to_be",
    "fiscal_year",
    "parse_date",
    "parse_datetime",
]

BANGKOK_TZ = ZoneInfo("Asia/Bangkok")
BE_OFFSET = 543
# 4-digit years above this are Buddhist Era. 2400 BE is 1857 CE, and no CE
# year we handle is anywhere near 2400, so the split is unambiguous.
_BE_THRESHOLD = 2400

THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
THAI_MONTHS_ABBR = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
# Spoken/informal forms ("มกรา 67") that drop the -คม/-ยน/-พันธ์ ending.
_THAI_MONTHS_SHORT = (
    "มกรา",
    "กุมภา",
    "มีนา",
    "เมษา",
    "พฤษภา",
    "มิถุนา",
    "กรกฎา",
    "สิงหา",
    "กันยา",
    "ตุลา",
    "พฤศจิกา",
    "ธันวา",
)
_EN_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
THAI_WEEKDAYS = ("จันทร์", "อังคาร", "พุธ", "พฤหัสบดี", "ศุกร์", "เสาร์", "อาทิตย์")

# Month tokens are looked up after removing dots and whitespace and
# lower-casing, so "ธ.ค.", "ธ. ค.", "ธค" and "DEC" all hit the same key.
_MONTH_TOKEN_TABLE = str.maketrans("", "", ". \t\u00a0\u200b/-,")


def _build_month_index() -> dict[str, int]:
    index: dict[str, int] = {"sept": 9}
    columns = (THAI_MONTHS, THAI_MONTHS_ABBR, _THAI_MONTHS_SHORT, _EN_MONTHS, [m[:3] for m in _EN_MONTHS])
    for names in columns:
        for number, name in enumerate(names, start=1):
            index[name.translate(_MONTH_TOKEN_TABLE).lower()] = number
    return index


_MONTHS = _build_month_index()

# Era markers as they appear in a month token once dots/spaces are removed
# ("ม.ค. พ.ศ." -> "มคพศ").
_ERA_BE = "พศ"
_ERA_CE = "คศ"

_NORMALISE_TABLE = str.maketrans(THAI_DIGITS, ARABIC_DIGITS, "\u200b\u200c\u200d\ufeff")

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_YMD = re.compile(r"([0-9]{4})\s*([-/.])\s*([0-9]{1,2})\s*\2\s*([0-9]{1,2})")
_DMY = re.compile(r"([0-9]{1,2})\s*([-/.])\s*([0-9]{1,2})\s*\2\s*([0-9]{4}|[0-9]{2})")
# Day, month name, year: the month part is everything non-numeric in between
# and is validated by the month lookup, which keeps this regex simple.
_D_MON_Y = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)?([^0-9]+?)([0-9]{4}|[0-9]{2})", re.IGNORECASE)
# English style "Dec 7, 2023".
_MON_D_Y = re.compile(r"([^\W\d_][^0-9]*?)\s*([0-9]{1,2})(?:st|nd|rd|th)?\s*,?\s*([0-9]{4})")

_TH_WEEKDAY_PREFIX = re.compile(
    r"วัน\s*(?P<wd>" + "|".join(sorted(THAI_WEEKDAYS + ("พฤหัส",), key=len, reverse=True)) + r")?\s*(?:ที่)?\s*"
)
_EN_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_EN_WEEKDAY_PREFIX = re.compile(r"(?P<wd>mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\s*,?\s+", re.IGNORECASE)

_ISO_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?"
    r"\s*(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?",
    re.IGNORECASE,
)
# A trailing time: "13:30", "13.30 น.", "เวลา 13.30 นาฬิกา", "13:30:05".
# Whitespace (or a comma) before it is required so that "1.12.66" stays a date.
_TIME_TAIL = re.compile(
    r"(?:\s*,\s*|\s+)(?:เวลา\s*)?([0-9]{1,2})[:.]([0-9]{2})(?:[:.]([0-9]{2}))?"
    r"\s*(?:น\.?|นาฬิกา)?$"
)


def be_to_ce(year: int) -> int:
    """Convert a Buddhist Era year to the Common Era (2567 -> 2024)."""
    return year - BE_OFFSET


def ce_to_be(year: int) -> int:
    """Convert a Common Era year to the Buddhist Era (2024 -> 2567)."""
    return year + BE_OFFSET


def fiscal_year(d: date) -> int:
    """Return the Thai government fiscal year (BE) that ``d`` falls in.

    The fiscal year runs 1 October - 30 September and is named after the year
    it ends in: 2023-10-01 .. 2024-09-30 is fiscal year 2567.
    """
    return ce_to_be(d.year + 1 if d.month >= 10 else d.year)


def _normalise(text: str) -> str:
    # Zero-width spaces are common in Thai text copied from the web and are
    # not whitespace to str.split().
    return " ".join(text.translate(_NORMALISE_TABLE).split())


def _year(raw: str, era: str | None, original: str) -> int:
    """Resolve a 2- or 4-digit year string to a CE year (see module docstring)."""
    value = int(raw)
    if len(raw) == 2:
        # Only an explicit ค.ศ. makes a 2-digit year CE; otherwise it is 25xx BE.
        return value + 2000 if era == "ce" else be_to_ce(2500 + value)
    if era == "be":
        if value <= _BE_THRESHOLD:
            raise ValueError(f"invalid date {original!r}: year {value} marked พ.ศ. is not BE")
        return be_to_ce(value)
    if era == "ce":
        if value > _BE_THRESHOLD:
            raise ValueError(f"invalid date {original!r}: year {value} marked ค.ศ. looks BE")
        return value
    return be_to_ce(value) if value > _BE_THRESHOLD else value


def _make_date(year: int, month: int, day: int, original: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"invalid date {original!r}: {exc}") from None


def _month_and_era(token: str, original: str) -> tuple[int, str | None]:
    key = token.translate(_MONTH_TOKEN_TABLE).lower()
    era = None
    for marker, name in ((_ERA_BE, "be"), (_ERA_CE, "ce")):
        if key.endswith(marker):
            key, era = key[: -len(marker)], name
            break
    month = _MONTHS.get(key)
    if month is None:
        raise ValueError(f"unrecognised date {original!r}: unknown month {token.strip()!r}")
    return month, era


def _strip_weekday(text: str) -> tuple[str, int | None]:
    """Remove a leading weekday ("วันจันทร์ที่", "วันที่", "Monday,").

    Returns the rest and the weekday number (Monday=0) if one was named, so the
    caller can check it against the date: a mismatch usually means the year
    was misread (BE vs CE), which we must not let through silently.
    """
    match = _TH_WEEKDAY_PREFIX.match(text)
    if match is not None:
        wd = match.group("wd")
        if wd == "พฤหัส":
            wd = "พฤหัสบดี"
        return text[match.end() :], THAI_WEEKDAYS.index(wd) if wd else None
    match = _EN_WEEKDAY_PREFIX.match(text)
    if match is not None:
        return text[match.end() :], _EN_WEEKDAYS.index(match.group("wd").lower())
    return text, None


def _parse_date_part(text: str, original: str) -> date:
    """Parse an already digit-folded, whitespace-collapsed date string."""
    body, weekday = _strip_weekday(text)
    if m := _YMD.fullmatch(body):
        year, _sep, month, day = m.groups()
        result = _make_date(_year(year, None, original), int(month), int(day), original)
    elif m := _DMY.fullmatch(body):
        result = _make_date(_year(m.group(4), None, original), int(m.group(3)), int(m.group(1)), original)
    elif m := _D_MON_Y.fullmatch(body):
        month, era = _month_and_era(m.group(2), original)
        result = _make_date(_year(m.group(3), era, original), month, int(m.group(1)), original)
    elif m := _MON_D_Y.fullmatch(body):
        month, era = _month_and_era(m.group(1), original)
        result = _make_date(_year(m.group(3), era, original), month, int(m.group(2)), original)
    else:
        raise ValueError(f"unrecognised date {original!r}")

    if weekday is not None and result.weekday() != weekday:
        raise ValueError(
            f"invalid date {original!r}: weekday does not match {result.isoformat()} "
            f"({result.strftime('%A')})"
        )
    return result


def parse_date(text: str) -> date:
    """Parse a Thai or international date string into a :class:`datetime.date`.

    Accepted forms (Thai digits allowed anywhere, whitespace is flexible):

    * ISO ``"2024-01-31"``, also with a BE year ``"2567-01-31"``; ``"2024/1/31"``
    * day first ``"31/01/2567"``, ``"31/1/2024"``, ``"31-1-2567"``,
      ``"31.01.2567"``, ``"31/01/67"``
    * Thai month names and abbreviations, dots and spaces optional:
      ``"7 ธ.ค.66"``, ``"28 ก.พ. 67"``, ``"16 ม.ค.2569"``, ``"23 ธันวาคม 2566"``,
      ``"1 มกราคม พ.ศ. 2567"``, ``"1 ม.ค. พ.ศ.2567"``
    * an optional weekday prefix ``"วันจันทร์ที่ 28 กันยายน 2569"`` / ``"วันที่ 5 …"``
      (a named weekday must match the date)
    * English month names ``"7 Dec 2023"``, ``"07-Dec-2023"``, ``"Dec 7, 2023"``

    Raises:
        ValueError: unrecognised format or impossible date; the message names
            the input.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_date expects str, got {type(text).__name__}")
    # Fast path: most machine-generated feeds send plain ISO dates.
    m = _ISO_DATE.fullmatch(text)
    if m is not None:
        year = int(m.group(1))
        if year > _BE_THRESHOLD:
            year -= BE_OFFSET
        return _make_date(year, int(m.group(2)), int(m.group(3)), text)
    return _parse_date_part(_normalise(text), text)


def parse_datetime(text: str) -> datetime:
    """Parse a date-time string into an aware datetime in Asia/Bangkok.

    Accepted forms:

    * ISO ``"2024-01-31 13:00"``, ``"2024-01-31T13:00:00"`` (BE years allowed);
      with ``Z`` or an offset (``"+07:00"``) the instant is converted to Bangkok
      time, without one it is taken as Bangkok local time
    * any :func:`parse_date` form followed by a time ``H:MM[:SS]`` or Thai style
      ``H.MM`` with optional ``น.`` / ``นาฬิกา`` and ``เวลา`` prefix:
      ``"31/01/2567 13:00"``, ``"7 ธ.ค.66 13.30 น."``

    A time is required: a bare date raises rather than guessing midnight --
    use :func:`parse_date` for date-only fields.

    Raises:
        ValueError: unrecognised format or impossible date/time.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_datetime expects str, got {type(text).__name__}")
    norm = _normalise(text)

    m = _ISO_DATETIME.fullmatch(norm)
    if m is not None:
        year, month, day, hour, minute, second, fraction, offset = m.groups()
        result = _make_datetime(
            _year(year, None, text),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            text,
        )
        if offset is None:
            return result
        return result.replace(tzinfo=_parse_offset(offset, text)).astimezone(BANGKOK_TZ)

    m = _TIME_TAIL.search(norm)
    if m is None:
        raise ValueError(f"unrecognised date-time {text!r}: no time of day found")
    d = _parse_date_part(norm[: m.start()], text)
    hour, minute, second = m.group(1), m.group(2), m.group(3)
    return _make_datetime(d.year, d.month, d.day, int(hour), int(minute), int(second or 0), 0, text)


def _make_datetime(
    year: int, month: int, day: int, hour: int, minute: int, second: int, micro: int, original: str
) -> datetime:
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=BANGKOK_TZ)
    except ValueError as exc:
        raise ValueError(f"invalid date-time {original!r}: {exc}") from None


def _parse_offset(offset: str, original: str) -> timezone:
    if offset in ("Z", "z"):
        return UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"invalid date-time {original!r}: bad UTC offset {offset!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
