"""The CKAN Action API through the real `ckanapi.RemoteCKAN` client, against a running server."""

# The fixtures come from serve_fixtures (tests/conftest.py is shared): test arguments named like
# them shadow the import on purpose.
# ruff: noqa: F811

from __future__ import annotations

import json
from typing import Any

import ckanapi
import pytest
import requests

from gdx.contracts.model import load_all
from tests.integration.serve_fixtures import CONTRACTS_DIR, ServeWarehouse, serve_url, serve_warehouse  # noqa: F401

pytestmark = pytest.mark.integration

GD_CATALOG_FIELDS = (
    "data_type",
    "objective",
    "update_frequency_unit",
    "update_frequency_interval",
    "geo_coverage",
    "data_source",
    "data_format",
    "data_category",
    "license_id",
    "data_language",
)


@pytest.fixture(scope="module", params=["post", "get"])
def ckan(request: pytest.FixtureRequest, serve_url: str) -> Any:
    """ckanapi as scripts use it: POST with a JSON body (default) and GET-only mode."""
    with ckanapi.RemoteCKAN(serve_url, get_only=request.param == "get", user_agent="gdx-tests/1.0") as client:
        yield client


@pytest.fixture(scope="module")
def contracts() -> dict[str, Any]:
    return load_all(CONTRACTS_DIR)


def test_status_and_list(ckan: Any, contracts: dict[str, Any]) -> None:
    status = ckan.action.status_show()
    assert status["ckan_version"].startswith("2.")
    names = ckan.action.package_list()
    assert len(names) == len(contracts) and names == sorted(names)
    assert ckan.action.package_list(limit=2, offset=1) == names[1:3]


def test_search_q_thai_and_english(ckan: Any) -> None:
    thai = ckan.action.package_search(q="คุณภาพอากาศ")
    english = ckan.action.package_search(q="air quality")
    assert [p["name"] for p in thai["results"]] == ["pcd-air-quality-hourly"]
    assert [p["name"] for p in english["results"]] == ["pcd-air-quality-hourly"]
    assert ckan.action.package_search(q="pm25")["count"] >= 1  # a tag
    assert ckan.action.package_search(q="zzz-nothing")["count"] == 0


def test_search_fq_rows_start_sort_facets(ckan: Any, contracts: dict[str, Any]) -> None:
    public_count = sum(1 for c in contracts.values() if c.gd_catalog.get("data_category") == "ข้อมูลสาธารณะ")
    result = ckan.action.package_search(
        fq='data_category:"ข้อมูลสาธารณะ"',
        rows=2,
        start=0,
        sort="name asc",
        **{"facet.field": ["organization", "tags", "data_category"]},
    )
    assert result["count"] == public_count
    assert len(result["results"]) == 2
    assert result["sort"] == "name asc"
    assert result["facets"]["data_category"] == {"ข้อมูลสาธารณะ": public_count}
    items = result["search_facets"]["organization"]["items"]
    assert sum(i["count"] for i in items) == public_count
    assert all({"name", "display_name", "count"} == set(i) for i in items)
    second_page = ckan.action.package_search(
        fq='data_category:"ข้อมูลสาธารณะ"', rows=2, start=2, sort="name asc"
    )
    first_names = [p["name"] for p in result["results"]]
    assert not set(first_names) & {p["name"] for p in second_page["results"]}

    by_org = ckan.action.package_search(fq="organization:pcd")
    assert [p["organization"]["name"] for p in by_org["results"]] == ["pcd"]
    by_tag = ckan.action.package_search(fq="tags:clean-air")
    assert {p["name"] for p in by_tag["results"]} == {"pcd-air-quality-hourly", "gistda-fire-hotspots"}
    newest = ckan.action.package_search(sort="metadata_modified desc", rows=1000)["results"]
    stamps = [p["metadata_modified"] for p in newest]
    assert stamps == sorted(stamps, reverse=True)
    titles = ckan.action.package_search(sort="title_en asc", rows=1000)["results"]
    assert [p["title_en"].casefold() for p in titles] == sorted(p["title_en"].casefold() for p in titles)


def test_show_every_public_dataset(
    ckan: Any, contracts: dict[str, Any], serve_warehouse: ServeWarehouse
) -> None:
    figures = {r["dataset_id"]: r for r in serve_warehouse.catalog}
    for contract in contracts.values():
        package = ckan.action.package_show(id=contract.id)
        assert package["contract_id"] == contract.id
        assert package["title"] == contract.title_th and package["title_en"] == contract.title_en
        assert package["organization"]["name"] == (contract.owner_agency.get("code") or contract.agency)
        assert {t["name"] for t in package["tags"]} == set(contract.tags)
        for field in GD_CATALOG_FIELDS:
            if field in contract.gd_catalog:
                assert package[field] == contract.gd_catalog[field], field
                if field != "license_id":  # a CKAN core field, not an extra
                    assert field in {e["key"] for e in package["extras"]}
        assert package["kpis"] == figures[contract.id]["kpi_codes"]
        if contract.access_level == "public":
            assert package["row_count"] == figures[contract.id]["row_count"]
            assert package["freshness_status"] == figures[contract.id]["freshness_status"]
            assert package["quality_score"] == figures[contract.id]["quality_score"]
            formats = {r["format"]: r["url"] for r in package["resources"]}
            assert set(formats) == {"CSV", "Parquet"}
            for url in formats.values():
                assert requests.head(url, timeout=30).status_code in (200, 405)
        else:  # anonymous: metadata only; the token matrix is tests/integration/test_serve_access.py
            assert package["resources"] == [] and package["metadata_only"] is True
            assert "row_count" not in package and "quality_score" not in package


def test_restricted_datasets_have_no_downloads(ckan: Any, contracts: dict[str, Any], serve_url: str) -> None:
    restricted = [c for c in contracts.values() if c.access_level != "public"]
    assert restricted, "the contracts should include a non-public dataset"
    for contract in restricted:
        package = ckan.action.package_show(id=contract.id)
        assert package["resources"] == []
        for ext in ("csv", "parquet"):
            response = requests.get(f"{serve_url}/download/{package['name']}.{ext}", timeout=30)
            assert response.status_code == 403
            assert response.json()["error"]["__type"] == "Authorization Error"


def test_organizations_and_tags(ckan: Any) -> None:
    orgs = ckan.action.organization_list(all_fields=True)
    assert all({"name", "title", "package_count"} <= set(o) for o in orgs)
    assert ckan.action.organization_show(id="pcd")["title"] == "กรมควบคุมมลพิษ"
    assert "pm25" in ckan.action.tag_list()


def test_errors_become_ckanapi_exceptions(ckan: Any) -> None:
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.organization_show(id="nobody")
    with pytest.raises(ckanapi.ValidationError) as info:
        ckan.action.package_search(rows=-1)
    assert info.value.error_dict["rows"] == ["Must be a natural number"]
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(rows="abc")
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(fq="tags:(pm25")
    with pytest.raises(ckanapi.CKANAPIError):
        ckan.action.package_create(name="x")  # read-only: no such action


@pytest.mark.parametrize("prefix", ["/api/3/action", "/api/action"])
def test_raw_error_shapes(serve_url: str, prefix: str) -> None:
    missing = requests.get(f"{serve_url}{prefix}/package_show", params={"id": "nope"}, timeout=30)
    assert missing.status_code == 404
    body = missing.json()
    assert body["success"] is False and body["error"]["__type"] == "Not Found Error" and "help" in body

    for rows, message in (("-1", "Must be a natural number"), ("abc", "Invalid integer")):
        bad = requests.get(f"{serve_url}{prefix}/package_search", params={"rows": rows}, timeout=30)
        assert bad.status_code == 409
        assert bad.json()["error"] == {"__type": "Validation Error", "rows": [message]}

    unknown = requests.post(f"{serve_url}{prefix}/package_delete", json={"id": "x"}, timeout=30)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == "Bad request - Action name not known: package_delete"

    not_json = requests.post(
        f"{serve_url}{prefix}/package_search",
        data=b"{nope",
        timeout=30,
        headers={"Content-Type": "application/json"},
    )
    assert not_json.status_code == 400 and not_json.json()["success"] is False
    not_object = requests.post(f"{serve_url}{prefix}/package_search", json=[1, 2], timeout=30)
    assert not_object.status_code == 400


def test_post_form_and_body_limits(serve_url: str) -> None:
    form = requests.post(
        f"{serve_url}/api/3/action/package_search", data={"q": "pm25", "rows": "1"}, timeout=30
    )
    assert form.status_code == 200 and form.json()["result"]["count"] >= 1
    huge = requests.post(
        f"{serve_url}/api/3/action/package_search",
        data=json.dumps({"q": "x" * 200_000}),
        timeout=30,
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413 and huge.json()["success"] is False
    capped = requests.get(f"{serve_url}/api/3/action/package_search", params={"rows": 5000}, timeout=30)
    assert capped.status_code == 200


def test_api_is_json_with_cors(serve_url: str) -> None:
    response = requests.get(f"{serve_url}/api/3/action/package_list", timeout=30)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["access-control-allow-origin"] == "*"
    assert requests.get(f"{serve_url}/api/3", timeout=30).json() == {"version": 3}
