"""DCAT-AP JSON-LD from the running server, parsed with rdflib (inline context, nothing fetched)."""

# The fixtures come from serve_fixtures (tests/conftest.py is shared): test arguments named like
# them shadow the import on purpose.
# ruff: noqa: F811

from __future__ import annotations

import pytest
import requests
from rdflib import RDF, Graph, Literal, Namespace, URIRef

from gdx.contracts.model import load_all
from gdx.serve.dcat import ACCESS_PUBLIC
from tests.integration.serve_fixtures import CONTRACTS_DIR, serve_url, serve_warehouse  # noqa: F401

pytestmark = pytest.mark.integration

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
REQUIRED = (
    DCT.title,
    DCT.description,
    DCT.identifier,
    DCT.publisher,
    DCAT.contactPoint,
    DCT.accessRights,
    DCT.license,
    DCT.accrualPeriodicity,
    DCT.temporal,
    DCT.spatial,
    DCAT.keyword,
    DCT.modified,
)


def _graph(url: str) -> Graph:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    return Graph().parse(data=response.text, format="json-ld")


def test_catalog_jsonld(serve_url: str) -> None:
    graph = _graph(f"{serve_url}/catalog.jsonld")
    contracts = load_all(CONTRACTS_DIR)
    names = {
        p["name"]
        for p in requests.get(f"{serve_url}/api/3/action/package_search?rows=1000", timeout=30).json()[
            "result"
        ]["results"]
    }
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    assert datasets == {URIRef(f"{serve_url}/dataset/{n}") for n in names}
    assert len(datasets) == len(contracts)
    catalog = URIRef(f"{serve_url}/catalog")
    assert set(graph.objects(catalog, DCAT.dataset)) == datasets
    for dataset in datasets:
        public = graph.value(dataset, DCT.accessRights) == URIRef(ACCESS_PUBLIC)
        for prop in REQUIRED:
            if prop == DCT.temporal and not public:  # anonymous: no time coverage of restricted data
                assert graph.value(dataset, prop) is None, dataset
                continue
            assert graph.value(dataset, prop) is not None, (dataset, prop)
        distributions = list(graph.objects(dataset, DCAT.distribution))
        assert bool(distributions) == public
        for dist in distributions:
            assert (dist, RDF.type, DCAT.Distribution) in graph
            assert graph.value(dist, DCAT.downloadURL) is not None
            assert graph.value(dist, DCT["format"]) is not None
            assert graph.value(dist, DCAT.mediaType) is not None


def test_dataset_jsonld_for_every_dataset(serve_url: str) -> None:
    for contract in load_all(CONTRACTS_DIR).values():
        package = requests.get(
            f"{serve_url}/api/3/action/package_show", params={"id": contract.id}, timeout=30
        ).json()["result"]
        graph = _graph(f"{serve_url}/dataset/{package['name']}.jsonld")
        dataset = URIRef(f"{serve_url}/dataset/{package['name']}")
        assert (dataset, RDF.type, DCAT.Dataset) in graph
        assert Literal(contract.title_th, lang="th") in set(graph.objects(dataset, DCT.title))
        assert Literal(contract.title_en, lang="en") in set(graph.objects(dataset, DCT.title))
        temporal = graph.value(dataset, DCT.temporal)
        if package.get("temporal_start"):
            assert str(graph.value(temporal, DCAT.startDate)) == package["temporal_start"]
        downloads = {str(graph.value(d, DCAT.downloadURL)) for d in graph.objects(dataset, DCAT.distribution)}
        assert downloads == {r["url"] for r in package["resources"]}


def test_unknown_dataset_jsonld_is_404(serve_url: str) -> None:
    assert requests.get(f"{serve_url}/dataset/nope.jsonld", timeout=30).status_code == 404
