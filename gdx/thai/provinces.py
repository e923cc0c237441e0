"""Thai province reference data and normalisation to ISO 3166-2:TH codes.

The pipeline's canonical province identifier is the ISO 3166-2:TH code
(``"TH-57"``). Source systems write provinces in many ways: Thai names with or
without the ``จ.`` / ``จังหวัด`` prefix, several English romanisations, the
two-digit DOPA (กรมการปกครอง) code, the ISO code itself, Thai digits, and
colloquial forms of Bangkok (``กทม.``, ``กรุงเทพฯ``).

:func:`normalize_province` maps all of those to the ISO code and returns
``None`` for anything it does not recognise *exactly* -- there is no fuzzy
matching, because a wrong province silently corrupts every downstream
aggregate whereas ``None`` is visible in data-quality checks.

The reference table is ``gdx/reference/th_provinces.csv`` (package data, 77
provinces). The lookup index is built once, lazily, on first use; after that
each lookup is one ``str.translate`` plus a dict lookup, because it runs once
per record on very large feeds.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from gdx.thai.digits import ARABIC_DIGITS, THAI_DIGITS

__all__ = ["Province", "all_provinces", "normalize_province", "province_name"]


@dataclass(frozen=True, slots=True)
class Province:
    """One row of the province reference table.

    Attributes:
        dopa_code: two-digit province code of the Department of Provincial
            Administration (DOPA), e.g. ``"57"``; also the first two digits of
            Thai house and area codes.
        iso_3166_2: ISO 3166-2:TH code, e.g. ``"TH-57"``; the pipeline's key.
        name_th: official Thai name without the ``จังหวัด`` prefix.
        name_en: official English (RTGS) name.
        region_en / region_th: six-region grouping used in reporting.
        name_en_variants: other English spellings seen in source data.
    """

    dopa_code: str
    iso_3166_2: str
    name_th: str
    name_en: str
    region_en: str
    region_th: str
    name_en_variants: tuple[str, ...] = ()


# Colloquial forms that are not in the reference CSV (the CSV holds official
# names only). Keys are written naturally and go through the same key function
# as input, so spacing and punctuation here do not matter.
_ALIASES: dict[str, str] = {
    "กรุงเทพ": "TH-10",
    "กรุงเทพฯ": "TH-10",
    "กทม.": "TH-10",
    "Krung Thep": "TH-10",
    "Krung Thep Maha Nakhon": "TH-10",
    "Bangkok Metropolis": "TH-10",
    "อยุธยา": "TH-14",
    "Ayutthaya": "TH-14",
    "โคราช": "TH-30",
    "Korat": "TH-30",
    "Khorat": "TH-30",
}

# Prefixes/suffixes only tried after the whole key missed, so a province whose
# name merely starts with "จ" (จันทบุรี) is never stripped. Longest first.
_KEY_PREFIXES = ("จังหวัด", "จว", "จ", "changwat", "provinceof")
_KEY_SUFFIXES = ("province",)

# Characters that carry no identity: whitespace (including NBSP and the
# zero-width characters common in text copied from Thai web pages),
# punctuation used around abbreviations, and ไปยาลน้อย (ฯ) as in "กรุงเทพฯ".
_DROP_CHARS = " \t\r\n\f\v\u00a0\u2007\u202f\u3000\u200b\u200c\u200d\ufeff.-_,'’()ฯ"
_KEY_TABLE = str.maketrans(THAI_DIGITS, ARABIC_DIGITS, _DROP_CHARS)

# Sara am (ำ) is sometimes typed as nikhahit + sara aa (ํ + า), with any tone
# mark in between; both render identically, so fold them to the composed form.
_DECOMPOSED_SARA_AM = re.compile("\u0e4d([\u0e48-\u0e4b]?)\u0e32")


def _key(text: str) -> str:
    key = text.translate(_KEY_TABLE).lower()
    if "\u0e4d" in key:
        key = _DECOMPOSED_SARA_AM.sub("\\1\u0e33", key)
    return key


def _load_csv_text() -> str:
    ref = resources.files("gdx.reference").joinpath("th_provinces.csv")
    # utf-8-sig: the file is maintained by hand and may be re-saved from Excel.
    return ref.read_text(encoding="utf-8-sig")


@cache
def _provinces() -> tuple[Province, ...]:
    rows = csv.DictReader(io.StringIO(_load_csv_text()))
    provinces = []
    for row in rows:
        code = row["province_code"].strip()
        iso = row["iso_3166_2"].strip()
        if iso != f"TH-{code}":
            raise ValueError(f"th_provinces.csv: {iso!r} does not match code {code!r}")
        variants = tuple(v.strip() for v in row["name_en_variants"].split(";") if v.strip())
        provinces.append(
            Province(
                dopa_code=code,
                iso_3166_2=iso,
                name_th=row["name_th"].strip(),
                name_en=row["name_en"].strip(),
                region_en=row["region_en"].strip(),
                region_th=row["region_th"].strip(),
                name_en_variants=variants,
            )
        )
    return tuple(provinces)


@cache
def _by_iso() -> dict[str, Province]:
    return {p.iso_3166_2: p for p in _provinces()}


@cache
def _index() -> dict[str, str]:
    index: dict[str, str] = {}

    def add(form: str, iso: str) -> None:
        key = _key(form)
        existing = index.setdefault(key, iso)
        # A key shared by two provinces would make lookups order-dependent;
        # fail loudly at build time instead (it means the CSV or aliases are wrong).
        if existing != iso:
            raise ValueError(f"province form {form!r} is ambiguous: {existing} vs {iso}")

    for p in _provinces():
        iso = p.iso_3166_2
        for form in (p.dopa_code, iso, p.name_th, p.name_en, *p.name_en_variants):
            add(form, iso)
        # The prefixed Thai forms are the most common in source data; index them
        # directly so they cost one lookup instead of the prefix-stripping loop.
        for prefix in ("จ.", "จังหวัด"):
            add(prefix + p.name_th, iso)
    for form, iso in _ALIASES.items():
        if iso not in _by_iso():
            raise ValueError(f"alias {form!r} points at unknown province {iso}")
        add(form, iso)
    return index


def normalize_province(text: str | None) -> str | None:
    """Return the ISO 3166-2:TH code (``"TH-57"``) for a province, or ``None``.

    Accepted forms (case, whitespace, dots and hyphens are ignored; Thai
    digits are accepted anywhere):

    * Thai name, optionally prefixed ``จ.``, ``จว.`` or ``จังหวัด``:
      ``"จ. เชียงราย"``, ``"จังหวัดเชียงราย"``, ``"เชียงราย"``
    * English name or any variant in the reference CSV:
      ``"Chiang Rai"``, ``"Chiangrai"``, ``"CHIANG RAI"``, ``"chiang-rai"``,
      optionally suffixed ``"Province"``
    * ISO code ``"TH-57"``, ``"TH57"``, ``"th-57"``; DOPA code ``"57"`` / ``"๕๗"``
      (an ``int`` such as ``57`` is accepted too)
    * Bangkok: ``"กรุงเทพฯ"``, ``"กรุงเทพมหานคร"``, ``"กทม."``, ``"Bangkok"``,
      ``"Krung Thep Maha Nakhon"``; plus a few colloquial names (อยุธยา, โคราช).

    Returns ``None`` for ``None``, blank or unrecognised input. Partial names
    (``"Chiang"``) and unknown codes (``"99"``, ``"TH-99"``) are never guessed.
    """
    if isinstance(text, str):
        key = _key(text)
    elif isinstance(text, int) and not isinstance(text, bool):
        key = str(text)
    else:
        return None
    if not key:
        return None
    index = _index()
    iso = index.get(key)
    if iso is not None:
        return iso
    for prefix in _KEY_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            iso = index.get(key[len(prefix) :])
            if iso is not None:
                return iso
    for suffix in _KEY_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            iso = index.get(key[: -len(suffix)])
            if iso is not None:
                return iso
    return None


def province_name(iso: str, lang: str = "th") -> str:
    """Return the official name of a province in ``lang`` (``"th"`` or ``"en"``).

    ``iso`` is normally an ISO 3166-2:TH code (``"TH-57"``); any other form
    :func:`normalize_province` understands is accepted as well.

    Raises:
        ValueError: unknown province or unsupported ``lang``.
    """
    if lang not in ("th", "en"):
        raise ValueError(f"unsupported lang {lang!r}; expected 'th' or 'en'")
    province = _by_iso().get(iso) if isinstance(iso, str) else None
    if province is None:
        code = normalize_province(iso)
        if code is None:
            raise ValueError(f"unknown province {iso!r}")
        province = _by_iso()[code]
    return province.name_th if lang == "th" else province.name_en


def all_provinces() -> list[Province]:
    """Return all 77 provinces in DOPA-code order (a fresh list on each call)."""
    return list(_provinces())
