"""Downloads: public datasets as CSV/Parquet in their contract's shape; nothing personal, ever."""

# The fixtures come from serve_fixtures (tests/conftest.py is shared): test arguments named like
# them shadow the import on purpose.
# ruff: noqa: F811

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests

from gdx.contracts.model import load_all
from gdx.serve.downloads import public_columns
from tests.integration.serve_fixtures import CONTRACTS_DIR, serve_url, serve_warehouse  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def contracts() -> dict[str, Any]:
    return load_all(CONTRACTS_DIR)


def _package(url: str, contract_id: str) -> dict[str, Any]:
    return requests.get(f"{url}/api/3/action/package_show", params={"id": contract_id}, timeout=30).json()[
        "result"
    ]


def test_every_public_download_has_exactly_the_contract_columns(
    serve_url: str, contracts: dict[str, Any]
) -> None:
    for contract in contracts.values():
        if contract.access_level != "public":
            continue
        package = _package(serve_url, contract.id)
        urls = {r["format"]: r["url"] for r in package["resources"]}
        parquet = requests.get(urls["Parquet"], timeout=60)
        assert parquet.status_code == 200, contract.id
        assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
        table = pq.read_table(io.BytesIO(parquet.content))
        assert table.column_names == public_columns(contract)
        assert not any(c.startswith("_") for c in table.column_names)  # no pipeline metadata
        csv = requests.get(urls["CSV"], timeout=60)
        assert csv.status_code == 200
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.content.startswith("\ufeff".encode())
        header = csv.content.decode("utf-8-sig").splitlines()[0]
        assert header.replace('"', "").split(",") == public_columns(contract)
        assert "attachment" in csv.headers["content-disposition"]


def test_reference_seed_download_keeps_codes_as_text(serve_url: str) -> None:
    csv = requests.get(f"{serve_url}/download/ref-provinces.csv", timeout=30).content.decode("utf-8-sig")
    lines = csv.splitlines()
    assert len(lines) == 78  # header + 77 provinces
    assert '"10","TH-10","กรุงเทพมหานคร"' in lines[1]


def test_personal_data_is_never_served(serve_url: str, contracts: dict[str, Any]) -> None:
    personal = [c for c in contracts.values() if c.pii_properties]
    assert personal
    for contract in personal:
        package = _package(serve_url, contract.id)
        assert package["resources"] == []
        for name in (package["name"], contract.id, package["id"]):
            for ext in ("csv", "parquet"):
                response = requests.get(f"{serve_url}/download/{name}.{ext}", timeout=30)
                assert response.status_code == 403, (name, ext)


@pytest.mark.parametrize(
    "path", ["/download/nope.csv", "/download/pcd-air-quality-hourly.xlsx", "/download/.csv"]
)
def test_unknown_downloads_are_404(serve_url: str, path: str) -> None:
    assert requests.get(f"{serve_url}{path}", timeout=30).status_code == 404


def test_downloads_over_the_engine_lake_with_a_republication(tmp_path: Path, engine_lake: Any) -> None:
    """The fixture records landed by `gdx ingest` (tests/integration/engine_lake.py): revisions,
    quarantine and a full re-publication (landed again). A download has one row per primary key (re-publishing
    changes nothing) and a revised key shows the later value."""
    from datetime import datetime, timedelta, timezone

    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from gdx.contracts.exporters.catalog import to_catalog
    from gdx.serve.config import ServeSettings
    from tests.integration.serve_fixtures import ServerThread, free_port

    lake = engine_lake.copy(tmp_path / "lake")
    contracts = load_all(engine_lake.contracts_dir)
    settings = ServeSettings(
        port=free_port(), warehouse=tmp_path / "none.duckdb", contracts_dir=engine_lake.contracts_dir,
        lake_root=str(lake),
    )

    def downloads(url: str) -> dict[str, Any]:
        tables = {}
        for contract in contracts.values():
            if contract.access_level == "public" and not contract.is_seed:
                name = to_catalog(contract)["name"]
                response = requests.get(f"{url}/download/{name}.parquet", timeout=120)
                assert response.status_code == 200, contract.id
                tables[contract.id] = pq.read_table(io.BytesIO(response.content))
        return tables

    with ServerThread(settings) as server:
        before = downloads(server.url)
        engine_lake.copy(lake, republished=True)  # the second landing of every record
        after = downloads(server.url)

    for cid, table in before.items():
        contract = contracts[cid]
        bronze = ds.dataset(
            str(lake / "bronze" / contract.agency / contract.dataset), format="parquet", partitioning="hive"
        )
        keys = bronze.to_table(columns=list(contract.primary_key))
        distinct = keys.group_by(list(contract.primary_key)).aggregate([]).num_rows
        assert table.num_rows == distinct > 0, cid
        assert table.group_by(list(contract.primary_key)).aggregate([]).num_rows == table.num_rows
        assert after[cid].equals(table), f"{cid}: a replay must not change the download"

    # The fixture revises 57t's reading of 2024-03-05 12:00 (Bangkok): the later event wins.
    air = contracts["pcd.air_quality_hourly"]
    bronze = ds.dataset(
        str(lake / "bronze" / air.agency / air.dataset), format="parquet", partitioning="hive"
    ).to_table()
    hour = datetime(2024, 3, 5, 12, tzinfo=timezone(timedelta(hours=7)))
    events = bronze.filter(
        pc.and_(pc.equal(bronze["station_id"], "57t"), pc.equal(bronze["measured_at"], hour))
    )
    assert len(set(events.column("_event_id").to_pylist())) == 2
    latest = events.sort_by([("_kafka_timestamp", "descending"), ("_kafka_offset", "descending")])
    first_published = min(events.to_pylist(), key=lambda r: r["_kafka_timestamp"])
    served = before["pcd.air_quality_hourly"]
    row = served.filter(pc.and_(pc.equal(served["station_id"], "57t"), pc.equal(served["measured_at"], hour)))
    assert row.num_rows == 1
    revised = [r for r in latest.to_pylist() if r["_event_id"] != first_published["_event_id"]][0]
    assert row.column("pm25")[0].as_py() == revised["pm25"] != first_published["pm25"]
    assert str(served.schema.field("measured_at").type) == "timestamp[us, tz=Asia/Bangkok]"
