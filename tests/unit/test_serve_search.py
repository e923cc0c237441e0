"""package_search logic: the Solr/Lucene subset parser, matching, sorting and facets."""

from __future__ import annotations

from typing import Any

import pytest

from gdx.serve.search import (
    And,
    Document,
    MatchAll,
    Not,
    Or,
    QuerySyntaxError,
    Range,
    SortError,
    Term,
    facets,
    matches,
    parse_query,
    parse_sort,
    sort_docs,
    thai_sort_key,
)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("", MatchAll()),
        ("*:*", MatchAll()),
        ("pm25", Term(None, "pm25")),
        ("organization:pcd", Term("organization", "pcd")),
        ('data_category:"ข้อมูลสาธารณะ"', Term("data_category", "ข้อมูลสาธารณะ", phrase=True)),
        ("+organization:pcd +tags:pm25", And((Term("organization", "pcd"), Term("tags", "pm25")))),
        ("organization:pcd AND -tags:fire", And((Term("organization", "pcd"), Not(Term("tags", "fire"))))),
        ("tags:(pm25 OR fire)", Or((Term("tags", "pm25"), Term("tags", "fire")))),
        ("a OR b c", Or((Term(None, "a"), And((Term(None, "b"), Term(None, "c")))))),
        ("NOT tags:x", Not(Term("tags", "x"))),
        (
            "!tags:x && tags:y || name:z",
            Or((And((Not(Term("tags", "x")), Term("tags", "y"))), Term("name", "z"))),
        ),
        ("ฝุ่น คุณภาพอากาศ", And((Term(None, "ฝุ่น"), Term(None, "คุณภาพอากาศ")))),
        (
            "metadata_modified:[2024-01-01T00:00:00Z TO *]",
            Range("metadata_modified", "2024-01-01T00:00:00Z", None),
        ),
        ("row_count:{10 TO 20]", Range("row_count", "10", "20", include_low=False, include_high=True)),
        (r"url:http\://x", Term("url", "http://x")),
        ("name:pcd-*", Term("name", "pcd-*")),
    ],
)
def test_parse_query(text: str, tree: Any) -> None:
    assert parse_query(text) == tree


@pytest.mark.parametrize("text", ["(a", "a)", "tags:", '"open', "x:[1 2]", "x:[1 TO 2", "a AND", "x" * 2001])
def test_parse_query_rejects_malformed(text: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse_query(text)


def _package(name: str, title: str, title_en: str, org: str, tags: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "id": f"id-{name}",
        "title": title,
        "title_en": title_en,
        "notes": extra.pop("notes", ""),
        "organization": {"id": f"org-{org}", "name": org, "title": f"หน่วยงาน {org}", "title_en": org.upper()},
        "tags": [{"name": t} for t in tags],
        "resources": [{"format": "CSV"}, {"format": "Parquet"}] if extra.pop("public", True) else [],
        "extras": [],
        **extra,
    }


PACKAGES = [
    _package(
        "pcd-air",
        "คุณภาพอากาศรายชั่วโมง",
        "Hourly air quality",
        "pcd",
        ["pm25", "clean-air"],
        data_category="ข้อมูลสาธารณะ",
        metadata_modified="2025-03-01T00:00:00",
        row_count=500,
    ),
    _package(
        "gistda-fire",
        "จุดความร้อน",
        "Fire hotspots",
        "gistda",
        ["fire", "clean-air"],
        data_category="ข้อมูลสาธารณะ",
        metadata_modified="2025-03-05T00:00:00",
        row_count=20,
    ),
    _package(
        "moi-debt",
        "เรื่องร้องเรียนหนี้นอกระบบ",
        "Informal debt cases",
        "moi",
        ["informal-debt"],
        data_category="ข้อมูลส่วนบุคคล",
        metadata_modified="2025-02-01T00:00:00",
        row_count=None,
        public=False,
    ),
    _package(
        "dla-waste",
        "ปริมาณขยะมูลฝอย",
        "Municipal waste",
        "dla",
        ["solid-waste"],
        data_category="ข้อมูลสาธารณะ",
        metadata_modified="2025-01-01T00:00:00",
        row_count=1000,
    ),
]
DOCS = [Document.of(p) for p in PACKAGES]


def _names(query: str) -> list[str]:
    node = parse_query(query)
    return [d.package["name"] for d in DOCS if matches(node, d)]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("*:*", ["pcd-air", "gistda-fire", "moi-debt", "dla-waste"]),
        ("อากาศ", ["pcd-air"]),  # Thai substring: no word breaks in Thai
        ("AIR quality", ["pcd-air"]),  # case-insensitive, all terms must match
        ('"air quality"', ["pcd-air"]),
        ("organization:gistda", ["gistda-fire"]),
        ("organization:GISTDA", ["gistda-fire"]),
        ("owner_org:org-dla", ["dla-waste"]),
        ("tags:clean-air", ["pcd-air", "gistda-fire"]),
        ("tags:clean-air -organization:pcd", ["gistda-fire"]),
        ("tags:(fire OR solid-waste)", ["gistda-fire", "dla-waste"]),
        ('data_category:"ข้อมูลส่วนบุคคล"', ["moi-debt"]),
        ("res_format:csv", ["pcd-air", "gistda-fire", "dla-waste"]),
        ("name:*-a*", ["pcd-air"]),
        ("title:*ขยะ*", ["dla-waste"]),
        ("metadata_modified:[2025-03-01T00:00:00 TO *]", ["pcd-air", "gistda-fire"]),
        ("row_count:[100 TO 1000}", ["pcd-air"]),
        ("หน่วยงาน", ["pcd-air", "gistda-fire", "moi-debt", "dla-waste"]),  # organisation title is text
        ("row_count:*", ["pcd-air", "gistda-fire", "dla-waste"]),
        ("nosuchfield:x", []),
    ],
)
def test_matches(query: str, names: list[str]) -> None:
    assert _names(query) == names


def test_parse_sort() -> None:
    assert parse_sort(None) == [("score", True), ("metadata_modified", True)]
    assert parse_sort("title_string asc, name desc") == [("title", False), ("name", True)]
    assert parse_sort("metadata_modified") == [("metadata_modified", False)]
    for bad in ("nope asc", "name sideways", "name asc extra"):
        with pytest.raises(SortError):
            parse_sort(bad)


def test_sort_docs_missing_values_last_in_both_directions() -> None:
    scored = [(d, 0.0) for d in DOCS]
    up = [d.package["name"] for d, _ in sort_docs(scored, [("row_count", False)])]
    down = [d.package["name"] for d, _ in sort_docs(scored, [("row_count", True)])]
    assert up == ["gistda-fire", "pcd-air", "dla-waste", "moi-debt"]
    assert down == ["dla-waste", "pcd-air", "gistda-fire", "moi-debt"]
    by_date = [d.package["name"] for d, _ in sort_docs(scored, [("metadata_modified", True)])]
    assert by_date == ["gistda-fire", "pcd-air", "moi-debt", "dla-waste"]


def test_thai_sort_key_puts_leading_vowels_after_their_consonant() -> None:
    # Thai dictionary order: เก sorts with ก (before ข), although เ (U+0E40) > ข (U+0E02) in code points.
    words = ["ขา", "เกม", "กา"]
    assert sorted(words, key=thai_sort_key) == ["กา", "เกม", "ขา"]


def test_facets_both_shapes() -> None:
    legacy, rich = facets(DOCS, ["organization", "tags", "data_category"], limit=50, mincount=1)
    assert legacy["tags"]["clean-air"] == 2
    assert list(legacy["tags"])[0] == "clean-air"  # most frequent first
    assert legacy["data_category"] == {"ข้อมูลสาธารณะ": 3, "ข้อมูลส่วนบุคคล": 1}
    org_items = {i["name"]: i for i in rich["organization"]["items"]}
    assert org_items["pcd"] == {"name": "pcd", "display_name": "หน่วยงาน pcd", "count": 1}
    assert rich["tags"]["title"] == "tags"
    limited, _ = facets(DOCS, ["tags"], limit=1, mincount=1)
    assert limited["tags"] == {"clean-air": 2}
    _, none = facets(DOCS, ["tags"], limit=-1, mincount=3)
    assert none["tags"]["items"] == []


def test_withheld_counts_do_not_fall_back_to_other_columns() -> None:
    from gdx.serve.catalog import _stats

    quality = {
        "current_rows": None,
        "rows_landed": 3,
        "rows_quarantined": 1,
        "share_valid": 0.75,
        "is_suppressed": True,
    }
    stats = _stats({"row_count": None, "is_suppressed": True}, quality)
    assert (stats.row_count, stats.rows_quarantined, stats.share_valid, stats.quality_score) == (None,) * 4
    shown = _stats({"row_count": 40}, {"rows_landed": 40, "rows_quarantined": 2, "share_valid": 0.95})
    assert (shown.row_count, shown.rows_quarantined, shown.share_valid) == (40, 2, 0.95)
