"""Thai digit handling.

Thai government documents and web forms freely mix Thai digits (๐-๙) with
Arabic digits (0-9), sometimes inside the same value. Every parser in
:mod:`gdx.thai` folds Thai digits to Arabic first, so this module is the one
place that knows about them.

We deliberately do not call ``pythainlp.util.thai_digit_to_arabic_digit``:
it is the same ``str.translate`` as below, but importing ``pythainlp`` costs
~130 ms and creates a ``~/pythainlp-data`` directory as a side effect, which is
unwelcome in read-only workers. The tests cross-check against it.
"""

from __future__ import annotations

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
ARABIC_DIGITS = "0123456789"

_THAI_TO_ARABIC = str.maketrans(THAI_DIGITS, ARABIC_DIGITS)


def thai_digits_to_arabic(text: str) -> str:
    """Return ``text`` with every Thai digit (๐-๙) replaced by its Arabic digit.

    All other characters are left untouched, e.g. ``"๑๒๓,๔๐๐.๒๕ บาท"`` becomes
    ``"123,400.25 บาท"``.

    Raises:
        TypeError: if ``text`` is not a ``str`` (an ``int`` here usually means a
            column was already parsed upstream, which is worth knowing).
    """
    if not isinstance(text, str):
        raise TypeError(f"thai_digits_to_arabic expects str, got {type(text).__name__}")
    return text.translate(_THAI_TO_ARABIC)
