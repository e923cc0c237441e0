"""The search index answers exactly what the reference matcher, sort and facets answer.

`search.matches` / `search.sort_docs` / `search.facets` scan every package and define the
semantics; `SearchIndex` must give the same hits, the same order and the same facets. Compared
over a generated scale world (real contracts plus clones, Thai and English titles, restricted
datasets in their metadata-only form) for queries of every kind the parser knows.
"""

from __future__ import annotations

from typing import Any

import pytest

from gdx.serve import ckan_api
from gdx.serve.access import RequestAccess
from gdx.serve.catalog import Catalog
from gdx.serve.data import MartStore
from gdx.serve.search import (
    Document,
    facets,
    free_text_terms,
    matches,
    parse_query,
    parse_sort,
    score,
    sort_docs,
)
from gdx.serve.views import dumps
from gdx.testing.scale_world import build_scale_world

BASE = "http://catalog.test"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    root = tmp_path_factory.mktemp("scale")
    world = build_scale_world(root / "world", 60, copy_dbt=False)
    return Catalog(world.contracts_dir, MartStore(root / "no-warehouse" / "onedata.duckdb"))


QUERIES = [
    ("", ""),
    ("อากาศ", ""),
    ("คุณภาพ อากาศ", ""),
    ("air quality", ""),
    ('"air quality"', ""),
    ("AIR", "organization:a0003"),
    ("pm2*", ""),
    ("*ขยะ*", ""),
    ("", "tags:pm25"),
    ("", 'tags:"pm25" OR organization:pcd'),
    ("", "res_format:CSV"),
    ("", "-res_format:csv"),
    ("", "organization:a00*"),
    ("", "title:อากาศ"),
    ("", "name:pcd-*"),
    ("", "owner_org:a0002"),
    ("hotspots", "-organization:gistda"),
    ("", "tags:(pm25 OR fire)"),
    ("", "access_level:restricted"),
    ("", "row_count:*"),
    ("", "metadata_modified:[2000-01-01T00:00:00Z TO *]"),
    ("", "num_resources:[1 TO 5]"),
    ("waste NOT border", ""),
    ("title:ขยะ || notes:air", ""),
]
SORTS = [
    None,
    "metadata_modified desc",
    "title asc",
    "name desc",
    "score desc, name asc",
    "title_en desc, name asc",
]
FACETS = ["organization", "tags", "res_format", "license_id", "data_category", "owner_org"]


def _reference(docs: list[Document], q: str, fq: str, sort: str | None) -> tuple[list[str], Any]:
    query, filt = parse_query(q), parse_query(fq)
    terms = free_text_terms(query)
    hits = []
    for doc in docs:
        if matches(query, doc) and matches(filt, doc):
            hits.append((doc, score(doc, terms)))
    ordered = sort_docs(hits, parse_sort(sort))
    return [d.package["name"] for d, _ in ordered], facets([d for d, _ in ordered], FACETS, -1, 1)


@pytest.mark.parametrize("readable", ["anonymous", "all restricted"])
def test_index_answers_what_the_reference_matcher_answers(catalog: Catalog, readable: str) -> None:
    catalog.packages(BASE)
    restricted = frozenset(c for c, k in catalog.contracts.items() if k.access_level != "public")
    assert restricted, "the world has restricted datasets"
    access = RequestAccess.anonymous(catalog, BASE)
    access.readable = frozenset() if readable == "anonymous" else restricted
    ctx = ckan_api.ActionContext(catalog, BASE, "t", access)
    packages = access.packages()
    assert any(p["metadata_only"] for p in packages) == (readable == "anonymous")
    docs = [Document.of(p) for p in packages]
    counted = 0
    # twice: the second pass is answered from the index's result and facet caches
    for k, (q, fq) in [*enumerate(QUERIES), *enumerate(QUERIES)]:
        for sort in SORTS if k < 3 else [SORTS[k % len(SORTS)]]:
            names, (legacy, rich) = _reference(docs, q, fq, sort)
            data = {"q": q, "fq": fq, "rows": 1000, "facet.field": FACETS, "facet.limit": -1}
            if sort:
                data["sort"] = sort
            got = ckan_api.package_search(ctx, data)
            assert [p["name"] for p in got["results"]] == names, (q, fq, sort)
            assert got["count"] == len(names)
            assert got["facets"] == legacy and got["search_facets"] == rich, (q, fq, sort)
            envelope = {"help": "h", "success": True, "result": got}
            assert catalog.package_json(BASE).encode(envelope) == dumps(envelope)  # spliced = plain
            counted += len(names)
    assert counted > 600  # the queries are not all empty


def test_views_are_per_caller_class(catalog: Catalog) -> None:
    restricted = sorted(c for c, k in catalog.contracts.items() if k.access_level != "public")
    anonymous = catalog.caller_view(BASE)
    granted = catalog.caller_view(BASE, frozenset(restricted[:1]))
    assert anonymous is catalog.caller_view(BASE, frozenset())
    assert granted is not anonymous
    shown = {p["contract_id"]: p for p in granted.packages}
    hidden = {p["contract_id"]: p for p in anonymous.packages}
    assert not shown[restricted[0]]["metadata_only"] and shown[restricted[0]]["resources"]
    assert hidden[restricted[0]]["metadata_only"] and not hidden[restricted[0]]["resources"]
    assert all(shown[c]["metadata_only"] for c in restricted[1:])
    assert anonymous.find(restricted[0])["metadata_only"] is True
    assert granted.find(restricted[0])["metadata_only"] is False
