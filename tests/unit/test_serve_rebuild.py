"""An edited contract rebuilds only its own package: the others stay the very same objects (with
their JSON text), and the answers show the edit."""

from __future__ import annotations

import time
from pathlib import Path

from gdx.serve import ckan_api
from gdx.serve.catalog import Catalog
from gdx.serve.data import MartStore
from gdx.testing.scale_world import build_scale_world

BASE = "http://catalog.test"
OLD, NEW = "คุณภาพอากาศรายชั่วโมง (Air4Thai)", "คุณภาพอากาศ ฉบับแก้ไข"


def test_edited_contract_rebuilds_only_its_package(tmp_path: Path) -> None:
    world = build_scale_world(tmp_path / "world", 40, copy_dbt=False)
    catalog = Catalog(
        world.contracts_dir, MartStore(tmp_path / "none" / "onedata.duckdb"), recheck_seconds=0.05
    )
    catalog.warm(BASE)
    before = {p["contract_id"]: p for p in catalog.packages(BASE)}
    texts = {cid: catalog.package_json(BASE).get(p) for cid, p in before.items()}
    edited = "pcd.air_quality_hourly"
    path = catalog.current_contracts()[edited].path
    assert path is not None and OLD in path.read_text(encoding="utf-8")
    path.write_text(
        path.read_text(encoding="utf-8").replace(f"value: {OLD}", f"value: {NEW}"), encoding="utf-8"
    )

    deadline = time.monotonic() + 10
    while catalog.caller_view(BASE).find(edited)["title"] != NEW:
        assert time.monotonic() < deadline, "the edit was never served"
        time.sleep(0.05)
    after = {p["contract_id"]: p for p in catalog.packages(BASE)}
    assert after.keys() == before.keys()
    assert after[edited] is not before[edited]
    unchanged = [cid for cid in before if cid != edited]
    assert len(unchanged) > 30
    assert all(after[cid] is before[cid] for cid in unchanged)  # not rebuilt
    json = catalog.package_json(BASE)
    assert all(json.get(after[cid]) == texts[cid] for cid in unchanged)
    assert NEW in json.get(after[edited]) and NEW not in texts[edited]
    # search answers from the new build: the new title is found, the old one no longer
    ctx = ckan_api.ActionContext(catalog, BASE, "t")
    found = ckan_api.package_search(ctx, {"q": '"ฉบับแก้ไข"', "rows": 100})
    assert [p["contract_id"] for p in found["results"]] == [edited]
    gone = ckan_api.package_search(ctx, {"q": '"รายชั่วโมง (Air4Thai)"', "rows": 100})
    assert edited not in [p["contract_id"] for p in gone["results"]]
