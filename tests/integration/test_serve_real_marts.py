"""End to end over the real dbt project: engine-built lake → `dbt build` → exports → the served dashboard.

The session's lake (tests/integration/engine_lake.py: the deterministic fixture records published
to the broker and landed by `gdx ingest`) is built with the repository's dbt
project into a throwaway warehouse; the dashboard and the CKAN API must then show exactly what the
exported marts hold. Everything is written under the test's temporary folder (own dbt target and
log paths), so a developer's warehouse is never touched.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import ckanapi
import pyarrow.parquet as pq
import pytest

from gdx.serve.config import ServeSettings
from gdx.serve.kpis import PILOT_CODES
from tests.integration.serve_fixtures import CONTRACTS_DIR, REPO_ROOT, ServerThread, free_port

DBT = Path(sys.executable).parent / "dbt"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(not DBT.exists(), reason="dbt is not installed in this environment"),
]


@pytest.fixture(scope="module")
def real_marts(tmp_path_factory: pytest.TempPathFactory, engine_lake: Any) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("real-marts")
    lake, exports = root / "lake", root / "exports"
    exports.mkdir()
    engine_lake.copy(lake)  # the fixture records as `gdx ingest` landed them
    env = os.environ.copy()
    env.update(
        GDX_WAREHOUSE=str(root / "onedata.duckdb"),
        GDX_EXPORT_DIR=str(exports),
        GDX_LAKE_ROOT=str(lake),
        GDX_CONTRACTS_DIR=str(CONTRACTS_DIR),
        DBT_PROFILES_DIR=str(REPO_ROOT / "dbt_project"),
    )
    done = subprocess.run(
        [
            str(DBT),
            "build",
            "--exclude",
            "resource_type:test",
            "--no-partial-parse",
            "--target-path",
            str(root / "target"),
            "--log-path",
            str(root / "logs"),
        ],
        cwd=REPO_ROOT / "dbt_project",
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    return {"root": root, "lake": lake, "exports": exports, "warehouse": root / "onedata.duckdb"}


@pytest.fixture(scope="module")
def real_url(real_marts: dict[str, Path]) -> Any:
    settings = ServeSettings(
        port=free_port(),
        warehouse=real_marts["warehouse"],
        export_dir=real_marts["exports"],
        contracts_dir=CONTRACTS_DIR,
        lake_root=str(real_marts["lake"]),
    )
    with ServerThread(settings) as server:
        yield server.url


class _Kpis(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], float] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-kpi" in a and a["data-value"]:
            self.values[(a["data-province"], a["data-kpi"])] = float(a["data-value"])


def _headlines(exports: Path, provinces: tuple[str, ...]) -> dict[tuple[str, str], dict[str, Any]]:
    """Latest complete month with a value (or a value disclosure control suppressed), per agenda KPI
    of each pilot province — read independently."""
    best: dict[tuple[str, str], dict[str, Any]] = {}
    for row in pq.read_table(exports / "mart_provincial_kpi.parquet").to_pylist():
        if (
            row["province_iso"] in provinces
            and row["period_type"] == "month"
            and row["is_agenda_pilot"]
            and row["is_period_complete"]
            and (row["value"] is not None or row["is_suppressed"])
        ):
            key = (row["province_iso"], row["kpi_code"])
            if key not in best or row["period_start"] > best[key]["period_start"]:
                best[key] = row
    return best


def _expected(exports: Path, provinces: tuple[str, ...]) -> dict[tuple[str, str], float]:
    """The headline values the pages show as numbers (a suppressed one has no data-value)."""
    return {
        key: row["value"] for key, row in _headlines(exports, provinces).items() if not row["is_suppressed"]
    }


def _shown(url: str) -> dict[tuple[str, str], float]:
    import requests

    parser = _Kpis()
    parser.feed(requests.get(url, timeout=60).text)
    return parser.values


def test_dashboard_shows_the_real_marts(real_url: str, real_marts: dict[str, Path]) -> None:
    import requests

    expected = _expected(real_marts["exports"], PILOT_CODES)
    headlines = _headlines(real_marts["exports"], PILOT_CODES)
    assert {p for p, _ in headlines} == set(PILOT_CODES), "every pilot province has KPI values"
    assert _shown(f"{real_url}/") == expected
    # the fixture's Buriram months are small: their headlines are suppressed, shown without a number
    suppressed = [k for k, r in headlines.items() if r["is_suppressed"]]
    assert suppressed and {p for p, _ in suppressed} == {"TH-31"}
    page = requests.get(f"{real_url}/province/TH-31", timeout=60).text
    for _, kpi in suppressed:
        assert re.search(rf'data-kpi="{kpi}"[^>]*data-value=""[^>]*data-suppressed="true"', page), kpi
    for code in PILOT_CODES:
        shown = _shown(f"{real_url}/province/{code}")
        assert {k: v for k, v in shown.items() if k in expected} == {
            k: v for k, v in expected.items() if k[0] == code
        }


def test_catalog_shows_the_real_catalog_mart(real_url: str, real_marts: dict[str, Path]) -> None:
    client = ckanapi.RemoteCKAN(real_url)
    rows = pq.read_table(real_marts["exports"] / "mart_open_data_catalog.parquet").to_pylist()
    assert sorted(client.action.package_list()) == sorted(r["ckan_name"] for r in rows)
    for row in rows:
        package = client.action.package_show(id=row["ckan_name"])
        assert package["contract_id"] == row["dataset_id"]
        assert package["kpis"] == list(row["kpi_codes"])
        # anonymous: metadata only (the token matrix is tests/integration/test_serve_access.py)
        if row["access_level"] != "public":
            assert package["metadata_only"] is True and package["resources"] == []
            assert "row_count" not in package and "quality_score" not in package
            continue
        assert package["row_count"] == row["row_count"]
        assert package["quality_score"] == row["quality_score"]
        assert package["freshness_status"] == row["freshness_status"]
        assert package["resources"]


def test_real_downloads_match_current_rows(real_url: str, real_marts: dict[str, Path]) -> None:
    import io

    import requests

    quality = pq.read_table(real_marts["exports"] / "mart_data_quality.parquet").to_pylist()
    client = ckanapi.RemoteCKAN(real_url)
    for row in quality:
        package = client.action.package_show(id=row["contract_id"])
        if not package["resources"]:
            continue
        url = {r["format"]: r["url"] for r in package["resources"]}["Parquet"]
        table = pq.read_table(io.BytesIO(requests.get(url, timeout=120).content))
        assert table.num_rows == row["current_rows"], row["contract_id"]  # dbt's current state, same rows


@pytest.mark.browser
def test_real_dashboard_in_chromium(real_url: str, real_marts: dict[str, Path]) -> None:
    from tests.integration.test_serve_browser import CHROMIUM, rendered_dom, screenshot

    if CHROMIUM is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    parser = _Kpis()
    parser.feed(rendered_dom(f"{real_url}/"))
    assert parser.values == _expected(real_marts["exports"], PILOT_CODES)
    screenshot(f"{real_url}/", "real_marts_overview_th.png", "1400,1500")
    for code in PILOT_CODES:
        screenshot(f"{real_url}/province/{code}?lang=en", f"real_marts_province_{code}_en.png", "1400,1500")
