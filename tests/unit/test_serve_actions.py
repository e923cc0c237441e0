"""CKAN actions called in-process over the real contracts (marts not built yet: figures are empty)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gdx.contracts.model import load_all
from gdx.serve import ckan_api
from gdx.serve.catalog import Catalog
from gdx.serve.data import MartStore

REPO = Path(__file__).resolve().parents[2]
BASE = "http://catalog.test"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> ckan_api.ActionContext:
    empty = tmp_path_factory.mktemp("no-warehouse") / "onedata.duckdb"
    return ckan_api.ActionContext(Catalog(REPO / "contracts", MartStore(empty)), BASE, "GDX One Data")


def _error(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(ckan_api.ActionError) as info:
        call()
    return info.value.status, info.value.error


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"rows": "-1"}, "rows", "Must be a natural number"),
        ({"rows": "abc"}, "rows", "Invalid integer"),
        ({"rows": True}, "rows", "Invalid integer"),
        ({"start": -5}, "start", "Must be a natural number"),
        ({"facet.field": "[not json"}, "facet.field", "Could not parse as valid JSON"),
        ({"facet.field": [1, 2]}, "facet.field", "Not a list of strings"),
        ({"sort": "popularity desc"}, "sort", None),
        ({"facet.limit": "x"}, "facet.limit", "Invalid integer"),
    ],
)
def test_package_search_validation_errors(
    ctx: ckan_api.ActionContext, params: dict[str, Any], field: str, message: Any
) -> None:
    status, error = _error(lambda: ckan_api.package_search(ctx, params))
    assert status == 409
    assert error["__type"] == "Validation Error"
    assert isinstance(error[field], list)
    if message:
        assert error[field] == [message]


def test_bad_query_is_a_search_query_error(ctx: ckan_api.ActionContext) -> None:
    status, error = _error(lambda: ckan_api.package_search(ctx, {"fq": "organization:(pcd"}))
    assert status == 400
    assert error["__type"] == "Search Query Error"


def test_rows_are_capped_and_paged(ctx: ckan_api.ActionContext) -> None:
    everything = ckan_api.package_search(ctx, {"rows": "100000", "sort": "name asc"})
    names = [p["name"] for p in everything["results"]]
    assert everything["count"] == len(load_all(REPO / "contracts"))
    assert names == sorted(names)
    page = ckan_api.package_search(ctx, {"rows": 2, "start": 1, "sort": "name asc"})
    assert [p["name"] for p in page["results"]] == names[1:3]
    assert ckan_api.package_search(ctx, {"rows": 0})["results"] == []


def test_fq_forms_clients_send(ctx: ckan_api.ActionContext) -> None:
    contracts = load_all(REPO / "contracts")
    public = sum(1 for c in contracts.values() if c.gd_catalog.get("data_category") == "ข้อมูลสาธารณะ")
    for fq in ('data_category:"ข้อมูลสาธารณะ"', '+data_category:"ข้อมูลสาธารณะ"', "data_category:ข้อมูลสาธารณะ"):
        assert ckan_api.package_search(ctx, {"fq": fq})["count"] == public
    both = ckan_api.package_search(ctx, {"fq": "organization:pcd", "fq_list": ["tags:pm25"]})
    assert [p["name"] for p in both["results"]] == ["pcd-air-quality-hourly"]
    repeated = ckan_api.package_search(ctx, {"fq": ["organization:pcd", "tags:pm25"]})  # a repeated GET param
    assert repeated["count"] == 1


def test_fl_limits_fields(ctx: ckan_api.ActionContext) -> None:
    result = ckan_api.package_search(ctx, {"fl": "name,title", "rows": 1})
    assert set(result["results"][0]) == {"name", "title"}


def test_package_show_by_name_id_and_contract_id(ctx: ckan_api.ActionContext) -> None:
    by_name = ckan_api.package_show(ctx, {"id": "pcd-air-quality-hourly"})
    assert ckan_api.package_show(ctx, {"id": by_name["id"]}) is by_name
    assert ckan_api.package_show(ctx, {"id": "pcd.air_quality_hourly"}) is by_name
    status, error = _error(lambda: ckan_api.package_show(ctx, {"id": "nope"}))
    assert (status, error["__type"]) == (404, "Not Found Error")
    status, error = _error(lambda: ckan_api.package_show(ctx, {}))
    assert (status, error) == (409, {"__type": "Validation Error", "id": ["Missing value"]})


def test_restricted_package_has_no_resources(ctx: ckan_api.ActionContext) -> None:
    contracts = load_all(REPO / "contracts")
    for contract in contracts.values():
        package = ckan_api.package_show(ctx, {"id": contract.id})
        if contract.access_level == "public":
            assert {r["format"] for r in package["resources"]} == {"CSV", "Parquet"}
        else:
            assert package["resources"] == [] and package["num_resources"] == 0
            assert package["isopen"] is False


def test_extras_mirror_top_level_gd_catalog_fields(ctx: ckan_api.ActionContext) -> None:
    package = ckan_api.package_show(ctx, {"id": "pcd-air-quality-hourly"})
    extras = {e["key"]: e["value"] for e in package["extras"]}
    for key in ("data_type", "update_frequency_unit", "data_category", "data_classification", "geo_coverage"):
        assert extras[key] == str(package[key])
    assert extras["data_format"].startswith("[")  # lists as JSON text, as CKAN extras are strings
    assert all(isinstance(e["value"], str) for e in package["extras"])


def test_organizations_and_tags(ctx: ckan_api.ActionContext) -> None:
    names = ckan_api.organization_list(ctx, {})
    assert names == sorted(names) and "pcd" in names
    full = ckan_api.organization_list(ctx, {"all_fields": "true", "sort": "package_count desc"})
    assert full[0]["package_count"] >= full[-1]["package_count"]
    assert {"id", "name", "title", "package_count", "is_organization"} <= set(full[0])
    org = ckan_api.organization_show(ctx, {"id": "pcd", "include_datasets": True})
    assert [p["name"] for p in org["packages"]] == ["pcd-air-quality-hourly"]
    tags = ckan_api.tag_list(ctx, {})
    assert "pm25" in tags and tags == sorted(tags)
    assert ckan_api.tag_list(ctx, {"query": "pm"}) == [t for t in tags if "pm" in t]
    assert ckan_api.tag_list(ctx, {"all_fields": True})[0].keys() == {"id", "name", "vocabulary_id"}


def test_help_show_documents_every_action(ctx: ckan_api.ActionContext) -> None:
    for name in ckan_api.ACTIONS:
        assert ckan_api.help_show(ctx, {"name": name})
