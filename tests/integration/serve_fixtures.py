"""Fixtures of the catalog-service tests: a small warehouse with the three marts, and a live server.

The marts are written the way dbt exports them (`<warehouse dir>/exports/<model>.parquet`) and, for
the read-only fallback, as tables of a DuckDB file. Columns follow the marts' documented columns
(dbt_project/models/marts/*.yml); the service reads them by name with a few tolerated spellings.
The contracts are the repository's own.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "contracts"

MONTHS = [date(2024, m, 1) for m in range(1, 13)] + [date(2025, m, 1) for m in range(1, 4)]

# (province, kpi_code, th, en, unit, target, direction, agenda_th, agenda_en, sources, first value, monthly step)
KPI_SPECS: list[tuple[Any, ...]] = [
    (
        "TH-57",
        "pm25_exceedance_days",
        "จำนวนวันที่ PM2.5 เกินมาตรฐาน",
        "Days PM2.5 above standard",
        "วัน",
        5.0,
        "lower_is_better",
        "อากาศสะอาด",
        "Clean air",
        ["pcd.air_quality_hourly"],
        21.0,
        -1.25,
    ),
    (
        "TH-57",
        "hotspot_count",
        "จำนวนจุดความร้อน",
        "Fire hotspots",
        "จุด",
        300.0,
        "lower_is_better",
        "อากาศสะอาด",
        "Clean air",
        ["gistda.fire_hotspots"],
        1450.0,
        -90.0,
    ),
    (
        "TH-76",
        "waste_recycled_share",
        "สัดส่วนขยะที่นำกลับมาใช้ประโยชน์",
        "Share of waste recycled",
        "%",
        35.0,
        "higher_is_better",
        "การจัดการขยะ",
        "Waste management",
        ["dla.municipal_waste_monthly"],
        22.4,
        0.75,
    ),
    (
        "TH-40",
        "eservice_transactions",
        "ธุรกรรมบริการภาครัฐออนไลน์",
        "Online government transactions",
        "ธุรกรรม",
        150000.0,
        "higher_is_better",
        "เมืองดิจิทัล",
        "Digital city",
        ["dga.eservice_transactions_daily"],
        98000.0,
        4100.0,
    ),
    (
        "TH-31",
        "debt_cases_settled_share",
        "สัดส่วนเรื่องหนี้นอกระบบที่ยุติแล้ว",
        "Share of informal-debt cases settled",
        "%",
        60.0,
        "higher_is_better",
        "แก้ไขปัญหาหนี้นอกระบบ",
        "Informal-debt relief",
        ["moi.informal_debt_cases"],
        31.0,
        1.6,
    ),
    (
        "TH-34",
        "border_trade_value",
        "มูลค่าการค้าชายแดน",
        "Border trade value",
        "ล้านบาท",
        1200.0,
        "higher_is_better",
        "เศรษฐกิจชายแดน",
        "Border economy",
        ["customs.border_trade_daily"],
        910.5,
        22.25,
    ),
]


THAI_MONTHS = [
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
]


def _status(value: float, target: float, direction: str) -> str:
    good = value <= target if direction == "lower_is_better" else value >= target
    close = abs(value - target) <= abs(target) * 0.1
    return "on_track" if good else ("at_risk" if close else "off_track")


def kpi_rows() -> list[dict[str, Any]]:
    """mart_provincial_kpi rows: monthly rows (the last month still in progress) and fiscal-year rows."""
    from gdx.thai.provinces import province_name

    rows = []
    for order, spec in enumerate(KPI_SPECS):
        province, code, th, en, unit, target, direction, ag_th, ag_en, sources, first, step = spec
        common = {
            "province_iso": province,
            "province_code": province[3:],
            "province_name_th": province_name(province, "th"),
            "province_name_en": province_name(province, "en"),
            "is_pilot_province": True,
            "kpi_code": code,
            "kpi_name_th": th,
            "kpi_name_en": en,
            "kpi_display_order": order + 1,
            "agenda_code": code.split("_")[0],
            "agenda_name_th": ag_th,
            "agenda_name_en": ag_en,
            "unit": unit,
            "direction": direction,
            "source_datasets": ",".join(sources),
        }
        for i, month in enumerate(MONTHS):
            value = round(first + step * i + (0.37 if i % 3 == 0 else 0.0), 2)
            end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            rows.append(
                {
                    **common,
                    "period_type": "month",
                    "period_start": month,
                    "period_end": end,
                    "fiscal_year_be": month.year + 543 + (1 if month.month >= 10 else 0),
                    "period_label_th": f"{THAI_MONTHS[month.month - 1]} {month.year + 543}",
                    "period_label_en": month.strftime("%b %Y"),
                    "is_period_complete": i < len(MONTHS) - 1,
                    "value": value,
                    "target": target,
                    "status": _status(value, target, direction),
                }
            )
        rows.append(
            {
                **common,
                "period_type": "fiscal_year",
                "period_start": date(2024, 10, 1),
                "period_end": date(2025, 9, 30),
                "fiscal_year_be": 2568,
                "period_label_th": "ปีงบประมาณ 2568",
                "period_label_en": "FY 2568",
                "is_period_complete": False,
                "value": 999999.0,  # never shown: the dashboard reads the monthly rows
                "target": target,
                "status": "off_track",
            }
        )
    return rows


def expected_headline(kpis: list[dict[str, Any]], province: str, code: str) -> float:
    """The value the dashboard must show: the latest complete month's."""
    monthly = [
        r
        for r in kpis
        if r["province_iso"] == province
        and r["kpi_code"] == code
        and r["period_type"] == "month"
        and r["is_period_complete"]
        and r["value"] is not None
    ]
    return max(monthly, key=lambda r: r["period_start"])["value"]


NOW = datetime(2025, 3, 20, 9, 30, tzinfo=UTC)


def quality_rows(contract_ids: list[str]) -> list[dict[str, Any]]:
    """mart_data_quality rows (Kafka datasets)."""
    rows = []
    for i, cid in enumerate(sorted(contract_ids)):
        agency, dataset = cid.split(".")
        landed, quarantined = 1000 * (i + 1), 7 * i
        rows.append(
            {
                "contract_id": cid,
                "agency_code": agency,
                "dataset": dataset,
                "rows_in": landed + quarantined,
                "rows_landed": landed,
                "rows_quarantined": quarantined,
                "share_valid": round(landed / (landed + quarantined), 4),
                "current_rows": landed,
                "data_start_date": date(2024, 1, 1),
                "data_end_date": date(2025, 3, 19),
                "last_landed_at": NOW - timedelta(hours=2 + 30 * i),
                "newest_ingested_at": NOW - timedelta(hours=2 + 30 * i),
                "freshness_sla_hours": 24.0,
                "hours_since_last_ingest": 2.0 + 30 * i,
                "freshness_status": "fresh" if i % 3 != 2 else "stale",
            }
        )
    return rows


def catalog_rows(contracts: dict[str, Any], kpis: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """mart_open_data_catalog rows (every contract, seeds included)."""
    from gdx.contracts.exporters.catalog import to_catalog

    quality = {r["contract_id"]: r for r in quality_rows([c for c in contracts if not contracts[c].is_seed])}
    rows = []
    for cid, contract in sorted(contracts.items()):
        entry = to_catalog(contract)
        q = quality.get(cid, {})
        rows.append(
            {
                "dataset_id": cid,
                "ckan_name": entry["name"],
                "agency_code": contract.agency,
                "title_th": contract.title_th,
                "title_en": contract.title_en,
                "owner_agency_code": entry["owner_org"],
                "data_category": contract.gd_catalog.get("data_category"),
                "access_level": contract.access_level,
                "license_id": contract.gd_catalog.get("license_id"),
                "is_seed": contract.is_seed,
                "pilot_provinces": list(contract.pilot_provinces),
                "row_count": q.get("current_rows", 77 if contract.is_seed else 0),
                "time_coverage_start": q.get("data_start_date"),
                "time_coverage_end": q.get("data_end_date"),
                "last_updated_at": q.get("newest_ingested_at"),
                "freshness_sla_hours": q.get("freshness_sla_hours"),
                "freshness_status": "static" if contract.is_seed else q["freshness_status"],
                "quality_score": q.get("share_valid"),
                "kpi_codes": sorted({k["kpi_code"] for k in kpis if cid in k["source_datasets"].split(",")}),
            }
        )
    return rows


@dataclass
class ServeWarehouse:
    warehouse: Path
    lake_root: Path
    kpis: list[dict[str, Any]]
    quality: list[dict[str, Any]]
    catalog: list[dict[str, Any]]


def build_serve_warehouse(root: Path, with_exports: bool = True, with_duckdb: bool = True) -> ServeWarehouse:
    """Write the marts (exports and/or DuckDB tables) under `root`, and an empty lake folder."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gdx.contracts.model import load_all

    contracts = load_all(CONTRACTS_DIR)
    kpis = kpi_rows()
    quality = quality_rows([c for c in contracts if not contracts[c].is_seed])
    catalog = catalog_rows(contracts, kpis)
    warehouse = root / "warehouse" / "onedata.duckdb"
    exports = warehouse.parent / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    tables = {
        "mart_provincial_kpi": pa.Table.from_pylist(kpis),
        "mart_data_quality": pa.Table.from_pylist(quality),
        "mart_open_data_catalog": pa.Table.from_pylist(catalog),
    }
    if with_exports:
        for name, table in tables.items():
            pq.write_table(table, exports / f"{name}.parquet")
    if with_duckdb:
        con = duckdb.connect(str(warehouse))
        con.execute("create schema if not exists main_marts")
        for name, table in tables.items():
            con.register("incoming", table)
            con.execute(f'create or replace table main_marts."{name}" as select * from incoming')
            con.unregister("incoming")
        con.close()

    # No bronze here: a lake is only ever written by the engine (tests/integration/engine_lake.py);
    # the downloads over a real lake are tested in test_serve_downloads against it.
    lake = root / "lake"
    return ServeWarehouse(warehouse, lake, kpis, quality, catalog)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """uvicorn serving the real app on a free loopback port, in a background thread."""

    def __init__(self, settings: Any) -> None:
        import uvicorn

        from gdx.serve.app import create_app

        self.port = settings.port
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def serve_warehouse(tmp_path_factory: pytest.TempPathFactory) -> ServeWarehouse:
    return build_serve_warehouse(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="session")
def serve_url(serve_warehouse: ServeWarehouse) -> Iterator[str]:
    """Base URL of a running catalog service over `serve_warehouse`."""
    from gdx.serve.config import ServeSettings

    settings = ServeSettings(
        host="127.0.0.1",
        port=free_port(),
        warehouse=serve_warehouse.warehouse,
        contracts_dir=CONTRACTS_DIR,
        lake_root=str(serve_warehouse.lake_root),
    )
    with ServerThread(settings) as server:
        yield server.url
