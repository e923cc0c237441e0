"""DCAT-AP mapping of catalog packages: vocabularies, access rights, and a graph rdflib can read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef

from gdx.contracts.model import load_all
from gdx.serve.catalog import DatasetStats, build_metadata_package, build_package, organization
from gdx.serve.dcat import (
    ACCESS_NON_PUBLIC,
    ACCESS_PUBLIC,
    ACCESS_RESTRICTED,
    EU,
    access_rights_uri,
    catalog_document,
    dataset_document,
    frequency_uri,
)

REPO = Path(__file__).resolve().parents[2]
BASE = "http://catalog.test"
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")


@pytest.mark.parametrize(
    ("unit", "interval", "code"),
    [
        ("ชั่วโมง", 1, "HOURLY"),
        ("ชั่วโมง", 3, "TRIHOURLY"),
        ("วัน", 1, "DAILY"),
        ("วัน", "1", "DAILY"),
        ("สัปดาห์", 1, "WEEKLY"),
        ("สัปดาห์", 2, "BIWEEKLY"),
        ("เดือน", 1, "MONTHLY"),
        ("เดือน", 3, "QUARTERLY"),
        ("ไตรมาส", 1, "QUARTERLY"),
        ("ปี", 1, "ANNUAL"),
        ("ปี", 2, "BIENNIAL"),
        ("ปี", None, "ANNUAL"),
        ("day", 1, "DAILY"),
        ("วัน", 5, "OTHER"),
        ("ไม่มีการปรับปรุงหลังจากการจัดเก็บข้อมูล", 0, "NEVER"),
        ("ไม่แน่นอน", None, "IRREG"),
        ("เรียลไทม์", None, "UPDATE_CONT"),
        ("ทุกฤดู", 1, "UNKNOWN"),
    ],
)
def test_frequency_uri(unit: str, interval: Any, code: str) -> None:
    assert frequency_uri(unit, interval) == f"{EU}/frequency/{code}"


def test_frequency_uri_without_unit() -> None:
    assert frequency_uri(None, 1) is None


@pytest.mark.parametrize(
    ("package", "uri"),
    [
        ({"access_level": "public", "data_category": "ข้อมูลสาธารณะ"}, ACCESS_PUBLIC),
        (
            {"access_level": "restricted", "data_category": "ข้อมูลส่วนบุคคล", "data_classification": "ลับ"},
            ACCESS_NON_PUBLIC,
        ),
        ({"access_level": "restricted", "data_category": "ข้อมูลความมั่นคง"}, ACCESS_NON_PUBLIC),
        (
            {"access_level": "restricted", "data_category": "ข้อมูลสาธารณะ", "data_classification": "ลับที่สุด"},
            ACCESS_NON_PUBLIC,
        ),
        (
            {"access_level": "restricted", "data_category": "ข้อมูลสาธารณะ", "data_classification": "ใช้ภายใน"},
            ACCESS_RESTRICTED,
        ),
    ],
)
def test_access_rights(package: dict[str, Any], uri: str) -> None:
    assert access_rights_uri(package) == uri


@pytest.fixture(scope="module")
def packages() -> list[dict[str, Any]]:
    contracts = load_all(REPO / "contracts")
    stats = DatasetStats(
        row_count=10,
        temporal_start="2024-01-01",
        temporal_end="2025-03-19",
        last_updated="2025-03-20T02:30:00+00:00",
    )
    return [
        build_package(c, stats, organization(c, {}), BASE, "2025-01-01T00:00:00.000000")
        for c in contracts.values()
    ]


def _graph(document: dict[str, Any]) -> Graph:
    # Round-trip through text: what a harvester receives. The context is inline, nothing is fetched.
    return Graph().parse(data=json.dumps(document, ensure_ascii=False), format="json-ld")


def test_catalog_graph_has_one_dataset_per_package(packages: list[dict[str, Any]]) -> None:
    graph = _graph(catalog_document(packages, BASE, "GDX One Data"))
    catalog = URIRef(f"{BASE}/catalog")
    assert (catalog, RDF.type, DCAT.Catalog) in graph
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert datasets == {URIRef(f"{BASE}/dataset/{p['name']}") for p in packages}
    assert set(graph.objects(catalog, DCAT.dataset)) == datasets


@pytest.mark.parametrize("index", range(8))
def test_dataset_properties(packages: list[dict[str, Any]], index: int) -> None:
    if index >= len(packages):
        pytest.skip("fewer contracts")
    package = packages[index]
    graph = _graph(dataset_document(package, BASE))
    ds = URIRef(f"{BASE}/dataset/{package['name']}")
    assert (ds, RDF.type, DCAT.Dataset) in graph
    titles = set(graph.objects(ds, DCT.title))
    assert Literal(package["title"], lang="th") in titles
    assert Literal(package["title_en"], lang="en") in titles
    assert graph.value(ds, DCT.identifier) == Literal(package["contract_id"])
    assert graph.value(ds, DCT.description) is not None
    publisher = graph.value(ds, DCT.publisher)
    assert (publisher, RDF.type, FOAF.Agent) in graph
    assert Literal(package["organization"]["title"], lang="th") in set(graph.objects(publisher, FOAF.name))
    contact = graph.value(ds, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in graph
    assert graph.value(contact, VCARD.hasEmail) == URIRef(f"mailto:{package['maintainer_email']}")
    temporal = graph.value(ds, DCT.temporal)
    assert str(graph.value(temporal, DCAT.startDate)) == "2024-01-01"
    assert str(graph.value(temporal, DCAT.endDate)) == "2025-03-19"
    assert URIRef(f"{EU}/country/THA") in set(graph.objects(ds, DCT.spatial))
    assert graph.value(ds, DCT.accrualPeriodicity) is not None
    assert graph.value(ds, DCT.license) is not None
    assert {str(k) for k in graph.objects(ds, DCAT.keyword)} == {t["name"] for t in package["tags"]}
    rights = graph.value(ds, DCT.accessRights)
    distributions = list(graph.objects(ds, DCAT.distribution))
    if package["access_level"] == "public":
        assert rights == URIRef(ACCESS_PUBLIC)
        assert len(distributions) == 2
        for dist in distributions:
            url = str(graph.value(dist, DCAT.downloadURL))
            assert url.startswith(f"{BASE}/download/{package['name']}.")
            assert str(graph.value(dist, DCAT.accessURL)) == url
            assert str(graph.value(dist, DCT["format"])).startswith(f"{EU}/file-type/")
            assert str(graph.value(dist, DCAT.mediaType)).startswith(
                "https://www.iana.org/assignments/media-types/"
            )
    else:  # the full view, as the agencies its contract grants see it: token-protected downloads
        assert rights in (URIRef(ACCESS_NON_PUBLIC), URIRef(ACCESS_RESTRICTED))
        assert len(distributions) == 2
        for dist in distributions:
            assert graph.value(dist, DCT.rights) == rights


def test_metadata_only_dataset_has_no_distribution_or_coverage() -> None:
    """What everyone else sees of a restricted dataset: described, with no data details at all."""
    stats = DatasetStats(row_count=10, temporal_start="2024-01-01", temporal_end="2025-03-19")
    restricted = [c for c in load_all(REPO / "contracts").values() if c.access_level != "public"]
    assert restricted
    for contract in restricted:
        package = build_metadata_package(
            contract, stats, organization(contract, {}), BASE, "2025-01-01T00:00:00"
        )
        graph = _graph(dataset_document(package, BASE))
        ds = URIRef(f"{BASE}/dataset/{package['name']}")
        assert Literal(contract.title_th, lang="th") in set(graph.objects(ds, DCT.title))
        assert graph.value(ds, DCT.accessRights) in (URIRef(ACCESS_NON_PUBLIC), URIRef(ACCESS_RESTRICTED))
        assert list(graph.objects(ds, DCAT.distribution)) == []
        assert graph.value(ds, DCT.temporal) is None
        assert "2024-01-01" not in json.dumps(dataset_document(package, BASE))


def test_pilot_province_is_a_spatial_location(packages: list[dict[str, Any]]) -> None:
    package = next(p for p in packages if "TH-57" in p["coverage_provinces"])
    graph = _graph(dataset_document(package, BASE))
    place = URIRef(f"{BASE}/province/TH-57")
    assert place in set(graph.objects(URIRef(f"{BASE}/dataset/{package['name']}"), DCT.spatial))
    assert (place, RDF.type, DCT.Location) in graph
