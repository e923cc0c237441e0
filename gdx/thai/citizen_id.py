"""Thai national citizen ID numbers (เลขประจำตัวประชาชน, 13 digits).

The 13th digit is a checksum over the first 12:
``s = Σ d_i × (14 − i)`` for ``i = 1..12`` and ``check = (11 − s mod 11) mod 10``.

Know its limits before relying on it for deduplication: the weight of digit 3
is 11 ≡ 0 (mod 11), so **any change to the third digit goes undetected**, and
because residues 0 and 10 both give check digit 1, a small share of other
single-digit typos slip through too. It is a typo filter, not an identity
check.

IDs are printed grouped 1-4-5-2-1 (``"1-2345-67890-12-1"``); all functions
accept that form (dashes or spaces) and Thai digits.
"""

from __future__ import annotations

import re

from gdx.thai.digits import ARABIC_DIGITS, THAI_DIGITS

__all__ = ["is_valid_citizen_id", "make_citizen_id", "normalize_citizen_id"]

_DIGITS_TABLE = str.maketrans(THAI_DIGITS, ARABIC_DIGITS)
# One optional dash or space between any two digits: covers the printed
# grouping and its common variants without accepting arbitrary junk.
_ID_FORM = re.compile(r"[0-9](?:[ -]?[0-9]){12}")
_SEPARATORS = str.maketrans("", "", " -")


_WEIGHTS = tuple(range(13, 1, -1))


def _check_digit(first12: str) -> int:
    # ASCII digits only (guaranteed by callers), so ord() - 48 is the value.
    total = sum((ord(c) - 48) * w for c, w in zip(first12, _WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def normalize_citizen_id(text: str | None) -> str | None:
    """Return the 13-digit ID with separators removed, or ``None`` if invalid.

    ``"๑-๒๓๔๕-๖๗๘๙๐-๑๒-๑"`` and ``"1 2345 67890 12 1"`` both normalise to
    ``"1234567890121"``. Invalid means: not a ``str``, not 13 digits, or a
    wrong check digit.
    """
    if not isinstance(text, str):
        return None
    s = text.translate(_DIGITS_TABLE).strip()
    if _ID_FORM.fullmatch(s) is None:
        return None
    digits = s.translate(_SEPARATORS)
    if _check_digit(digits[:12]) != ord(digits[12]) - 48:
        return None
    return digits


def is_valid_citizen_id(text: str | None) -> bool:
    """Return whether ``text`` is a well-formed ID with a correct check digit."""
    return normalize_citizen_id(text) is not None


def make_citizen_id(prefix12: str) -> str:
    """Append the correct check digit to a 12-digit prefix (e.g. for test data).

    Raises:
        ValueError: ``prefix12`` is not exactly 12 digits (Thai digits allowed).
    """
    s = prefix12.translate(_DIGITS_TABLE) if isinstance(prefix12, str) else ""
    if len(s) != 12 or not s.isascii() or not s.isdigit():
        raise ValueError(f"citizen ID prefix must be 12 digits, got {prefix12!r}")
    return s + str(_check_digit(s))
