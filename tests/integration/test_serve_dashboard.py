"""The governor dashboard and catalog pages as HTML (no browser): values, links, escaping, headers."""

# The fixtures come from serve_fixtures (tests/conftest.py is shared): test arguments named like
# them shadow the import on purpose.
# ruff: noqa: F811

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from gdx.serve.config import ServeSettings
from gdx.serve.kpis import PILOT_CODES
from tests.integration.serve_fixtures import (  # noqa: F401
    CONTRACTS_DIR,
    KPI_SPECS,
    ServerThread,
    ServeWarehouse,
    build_serve_warehouse,
    expected_headline,
    free_port,
    serve_url,
    serve_warehouse,
)

pytestmark = pytest.mark.integration


class _Collect(HTMLParser):
    """Elements with data-kpi, and every URL the page would load or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.kpis: list[dict[str, str]] = []
        self.loads: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "data-kpi" in values:
            self.kpis.append(values)
        if "src" in values or (tag == "link" and "href" in values):
            self.loads.append(values.get("src") or values["href"])
        if tag == "a" and "href" in values:
            self.links.append(values["href"])


def _page(url: str) -> tuple[requests.Response, _Collect]:
    response = requests.get(url, timeout=30)
    parser = _Collect()
    parser.feed(response.text)
    return response, parser


def _assert_kpis_match(parser: _Collect, warehouse: ServeWarehouse, provinces: tuple[str, ...]) -> None:
    expected = {
        (spec[0], spec[1]): expected_headline(warehouse.kpis, spec[0], spec[1])
        for spec in KPI_SPECS
        if spec[0] in provinces
    }
    shown = {(k["data-province"], k["data-kpi"]): float(k["data-value"]) for k in parser.kpis}
    assert shown == expected


def test_overview_shows_every_pilot_province_kpi(serve_url: str, serve_warehouse: ServeWarehouse) -> None:
    response, parser = _page(f"{serve_url}/")
    assert response.status_code == 200
    for code in PILOT_CODES:
        assert f'data-province="{code}"' in response.text
    _assert_kpis_match(parser, serve_warehouse, PILOT_CODES)
    assert "เชียงราย" in response.text and "อุบลราชธานี" in response.text
    assert all(not re.match(r"^(https?:)?//", url) for url in parser.loads)  # offline: nothing from elsewhere
    assert "Content-Security-Policy" in response.headers


def test_english(serve_url: str) -> None:
    response, parser = _page(f"{serve_url}/?lang=en")
    assert 'lang="en"' in response.text
    assert "Chiang Rai" in response.text and "Days PM2.5 above standard" in response.text
    assert all("lang=en" in link for link in parser.links if link.startswith("/province/"))


@pytest.mark.parametrize("code", PILOT_CODES)
def test_province_page(serve_url: str, serve_warehouse: ServeWarehouse, code: str) -> None:
    response, parser = _page(f"{serve_url}/province/{code}")
    assert response.status_code == 200
    _assert_kpis_match(parser, serve_warehouse, (code,))
    assert response.text.count('<svg class="trend"') == sum(1 for spec in KPI_SPECS if spec[0] == code)
    datasets = [link for link in parser.links if link.startswith("/dataset/")]
    assert datasets, "each KPI links to the catalog entries of its datasets"
    for link in datasets:
        assert requests.get(f"{serve_url}{link}", timeout=30).status_code == 200
    assert "data-share-valid" in response.text and "data-freshness" in response.text


def test_unknown_province_is_404(serve_url: str) -> None:
    assert requests.get(f"{serve_url}/province/TH-99", timeout=30).status_code == 404
    assert requests.get(f"{serve_url}/province/TH-10", timeout=30).status_code == 404  # not a pilot, no KPIs
    assert requests.get(f"{serve_url}/no/such/page", timeout=30).status_code == 404


def test_catalog_page_search_and_filters(serve_url: str) -> None:
    everything = requests.get(f"{serve_url}/catalog", timeout=30).text
    count = requests.get(f"{serve_url}/api/3/action/package_list", timeout=30).json()["result"]
    assert f'data-count="{len(count)}"' in everything
    pcd = requests.get(f"{serve_url}/catalog", params={"organization": "pcd"}, timeout=30).text
    assert pcd.count('class="result"') == 1 and 'data-name="pcd-air-quality-hourly"' in pcd
    thai = requests.get(f"{serve_url}/catalog", params={"q": "ขยะ"}, timeout=30).text
    assert 'data-name="dla-municipal-waste-monthly"' in thai
    personal = requests.get(f"{serve_url}/catalog", params={"data_category": "ข้อมูลส่วนบุคคล"}, timeout=30).text
    assert 'data-name="moi-informal-debt-cases"' in personal and personal.count('class="result"') == 1
    broken = requests.get(f"{serve_url}/catalog", params={"q": "tags:(pm25"}, timeout=30)
    assert broken.status_code == 200 and 'class="error"' in broken.text


def test_everything_user_supplied_is_escaped(serve_url: str) -> None:
    attack = '"><script>alert(1)</script>'
    for url in (f"{serve_url}/catalog", f"{serve_url}/dataset/x"):
        text = requests.get(url, params={"q": attack, "organization": attack}, timeout=30).text
        assert "<script>alert(1)</script>" not in text
    text = requests.get(f"{serve_url}/province/{attack}", timeout=30).text
    assert "<script>alert(1)</script>" not in text


def test_dataset_pages(serve_url: str) -> None:
    public = requests.get(f"{serve_url}/dataset/pcd-air-quality-hourly", timeout=30).text
    assert "/download/pcd-air-quality-hourly.csv" in public
    restricted = requests.get(f"{serve_url}/dataset/moi-informal-debt-cases", timeout=30).text
    assert "/download/" not in restricted and 'class="notice restricted"' in restricted
    redirect = requests.get(f"{serve_url}/organization/pcd", timeout=30, allow_redirects=False)
    assert redirect.status_code == 303 and redirect.headers["location"] == "/catalog?organization=pcd"


@pytest.mark.parametrize(("exports", "duckdb"), [(False, True), (True, False)])
def test_marts_read_from_either_source_without_locking(tmp_path: Path, exports: bool, duckdb: bool) -> None:
    """Exports only, or the DuckDB file only (opened read-only and closed again after each read)."""
    import duckdb as ddb

    warehouse = build_serve_warehouse(tmp_path, with_exports=exports, with_duckdb=duckdb)
    settings = ServeSettings(
        port=free_port(),
        warehouse=warehouse.warehouse,
        contracts_dir=CONTRACTS_DIR,
        lake_root=str(warehouse.lake_root),
    )
    with ServerThread(settings) as server:
        _, parser = _page(f"{server.url}/")
        _assert_kpis_match(parser, warehouse, PILOT_CODES)
        health = requests.get(f"{server.url}/healthz", timeout=30).json()
        assert set(health["marts"].values()) == {"export" if exports else "duckdb"}
        if duckdb:
            writer = ddb.connect(str(warehouse.warehouse))  # dbt can still take the write lock
            writer.execute("create table main_marts.dbt_was_here as select 1 as x")
            writer.close()
        package = requests.get(
            f"{server.url}/api/3/action/package_show", params={"id": "pcd.air_quality_hourly"}, timeout=30
        )
        assert package.json()["result"]["freshness_status"] in ("fresh", "stale")


def test_marts_not_built_yet(tmp_path: Path) -> None:
    """A fresh checkout: no warehouse at all. Everything answers; figures are empty."""
    settings = ServeSettings(
        port=free_port(),
        warehouse=tmp_path / "none.duckdb",
        contracts_dir=CONTRACTS_DIR,
        lake_root=str(tmp_path / "lake"),
    )
    with ServerThread(settings) as server:
        overview = requests.get(f"{server.url}/", timeout=30)
        assert overview.status_code == 200 and "mart_provincial_kpi" in overview.text
        package = requests.get(
            f"{server.url}/api/3/action/package_show", params={"id": "pcd.air_quality_hourly"}, timeout=30
        )
        assert package.json()["result"]["freshness_status"] == "unknown"
        csv = requests.get(f"{server.url}/download/pcd-air-quality-hourly.csv", timeout=30)
        assert (
            csv.status_code == 200 and len(csv.content.decode("utf-8-sig").splitlines()) == 1
        )  # header only
