"""Strict parsing of numbers as written in Thai government data.

Values arrive as text with thousands separators (``"12,890"``), Thai digits
(``"๑๒๓.๕"``), accounting-style negatives (``"(1,200)"``) and a zoo of
"no value" markers (``"-"``, ``"N/A"``, ``"—"``). :func:`parse_number` turns
them into :class:`~decimal.Decimal` -- never ``float``, because budget and
statistics figures must add up exactly -- or ``None`` for a missing value.

It is deliberately strict: anything that is not clearly a number raises
:class:`ValueError`, including units (``"1,234 บาท"``) and malformed grouping
(``"12,34"``, which in some locales is a decimal comma). Silently dropping
characters would turn data errors into wrong numbers.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from gdx.thai.digits import ARABIC_DIGITS, THAI_DIGITS

__all__ = ["MISSING_MARKERS", "parse_number"]

# Compared after stripping and case-folding. "nan"/"none"/"null" are what
# pandas and Python write for missing values when a frame is dumped to CSV.
MISSING_MARKERS = frozenset({"", "-", "--", "—", "–", "n/a", "na", "nan", "none", "null"})

# U+2212 MINUS SIGN appears in documents typeset from Word/PDF.
_NORMALISE_TABLE = str.maketrans(THAI_DIGITS + "\u2212", ARABIC_DIGITS + "-")

# Either correctly grouped thousands (1,234,567) or plain digits, optional
# fraction; or scientific notation (as written by Excel and by str(float)),
# which is never combined with grouping.
_NUMBER = re.compile(
    r"(?P<sign>[+-]?)"
    r"(?:"
    r"(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?P<frac>\.[0-9]+)?"
    r"|(?P<bare_frac>\.[0-9]+)"
    r"|(?P<sci>(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)[eE][+-]?[0-9]+)"
    r")"
)


def parse_number(text: str | int | float | Decimal | None) -> Decimal | None:
    """Parse a number into a :class:`~decimal.Decimal`, or ``None`` if missing.

    Accepted string forms (surrounding whitespace ignored, Thai digits allowed):
    ``"42"``, ``"-12.5"``, ``"+3"``, ``".5"``, ``"12,890"``, ``"1,234,567.25"``,
    ``"(1,200)"`` (accounting negative, -1200) and ``"1e3"`` / ``"1.5E-2"``.

    Missing values -- ``None``, float NaN and the strings in
    :data:`MISSING_MARKERS` (``""``, ``"-"``, ``"—"``, ``"N/A"``, ``"NA"``, ...)
    -- return ``None``. ``int``, ``float`` and ``Decimal`` inputs are converted
    exactly as they print (``0.1`` becomes ``Decimal("0.1")``).

    Raises:
        ValueError: text that is not a well-formed number (``"abc"``,
            ``"12,34"``, ``"1,234 บาท"``) or an infinite value.
        TypeError: unsupported input type (including ``bool``, which is
            almost always a bug upstream rather than the number 0 or 1).
    """
    if text is None:
        return None
    if isinstance(text, str):
        return _parse_str(text)
    if isinstance(text, bool):
        raise TypeError(f"parse_number does not accept bool: {text!r}")
    if isinstance(text, int):
        return Decimal(text)
    if isinstance(text, float):
        if math.isnan(text):
            return None
        if math.isinf(text):
            raise ValueError(f"not a finite number: {text!r}")
        # repr() is the shortest string that round-trips, so 0.1 -> Decimal("0.1")
        # rather than the exact binary expansion 0.1000000000000000055511151231...
        return Decimal(repr(text))
    if isinstance(text, Decimal):
        if text.is_nan():
            return None
        if text.is_infinite():
            raise ValueError(f"not a finite number: {text!r}")
        return text
    raise TypeError(f"parse_number expects str, int, float or None, got {type(text).__name__}")


def _parse_str(text: str) -> Decimal | None:
    s = text.translate(_NORMALISE_TABLE).strip()
    if s.casefold() in MISSING_MARKERS:
        return None
    negate = False
    if len(s) >= 2 and s[0] == "(" and s[-1] == ")":
        s = s[1:-1].strip()
        negate = True
    m = _NUMBER.fullmatch(s)
    # "(-5)" would be a double negative; treat as malformed rather than guess.
    if m is None or (negate and m.group("sign")):
        raise ValueError(f"not a number: {text!r}")
    try:
        value = Decimal(s.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the regex only admits valid syntax
        raise ValueError(f"not a number: {text!r}") from None
    # copy_negate, not unary minus: minus applies the context and would round
    # values longer than 28 significant digits.
    return value.copy_negate() if negate else value
