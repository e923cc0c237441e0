"""Thai data normalisation shared by every GDX data adapter.

Source systems of Thai government agencies write the same facts in many ways:
Buddhist Era dates with Thai month abbreviations, Thai digits, province names
in Thai or in several romanisations, numbers with thousands separators and
"-" for missing. This package turns them into canonical values:

========================  ==================================================
Concern                   Canonical form / functions
========================  ==================================================
Provinces                 ISO 3166-2:TH code ``"TH-57"`` --
                          :func:`normalize_province`, :func:`province_name`,
                          :func:`all_provinces`, :class:`Province`
Dates and times           :class:`datetime.date`; aware datetime in
                          Asia/Bangkok -- :func:`parse_date`,
                          :func:`parse_datetime`, :func:`be_to_ce`,
                          :func:`ce_to_be`, :func:`fiscal_year`
Numbers                   :class:`decimal.Decimal` or ``None`` --
                          :func:`parse_number`
Citizen IDs               13 ASCII digits -- :func:`normalize_citizen_id`,
                          :func:`is_valid_citizen_id`, :func:`make_citizen_id`
Digits                    :func:`thai_digits_to_arabic`
========================  ==================================================

Conventions: parsers of *required* values raise :class:`ValueError` naming the
offending input; lookups that may legitimately miss (province, citizen ID)
return ``None``. Nothing is fuzzy-matched or silently rolled over.
"""

from gdx.thai.citizen_id import is_valid_citizen_id, make_citizen_id, normalize_citizen_id
from gdx.thai.dates import (
    BANGKOK_TZ,
    be_to_ce,
    ce_to_be,
    fiscal_year,
    parse_date,
    parse_datetime,
)
from gdx.thai.digits import thai_digits_to_arabic
from gdx.thai.numbers import parse_number
from gdx.thai.provinces import Province, all_provinces, normalize_province, province_name

__all__ = [
    "BANGKOK_TZ",
    "Province",
    "all_provinces",
    "be_to_ce",
    "ce_to_be",
    "fiscal_year",
    "is_valid_citizen_id",
    "make_citizen_id",
    "normalize_citizen_id",
    "normalize_province",
    "parse_date",
    "parse_datetime",
    "parse_number",
    "province_name",
    "thai_digits_to_arabic",
]
