"""End to end in headless Chromium: the dashboard a governor opens shows the marts' numbers.

Chromium renders the pages (fonts, layout, inline SVG); `--dump-dom` gives the DOM after rendering,
whose KPI elements (`data-kpi`, `data-value`) are compared with the mart. Screenshots land in the
git-ignored tests/screenshots/ for a human to look at (Thai text must render, not boxes).
"""

# The fixtures come from serve_fixtures (tests/conftest.py is shared): test arguments named like
# them shadow the import on purpose.
# ruff: noqa: F811

from __future__ import annotations

import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gdx.serve.kpis import PILOT_CODES
from tests.integration.serve_fixtures import (  # noqa: F401
    KPI_SPECS,
    REPO_ROOT,
    ServeWarehouse,
    expected_headline,
    serve_url,
    serve_warehouse,
)

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
SCREENSHOTS = REPO_ROOT / "tests" / "screenshots"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)"),
]

FLAGS = [
    "--headless",
    "--no-sandbox",  # the tests may run as root in a container
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="gdx-chromium-") as profile:
        return subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )


def rendered_dom(url: str) -> str:
    done = _chromium("--virtual-time-budget=5000", "--dump-dom", url)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(url: str, name: str, size: str = "1400,1800") -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    path.unlink(missing_ok=True)
    done = _chromium(f"--window-size={size}", f"--screenshot={path}", url)
    assert done.returncode == 0 and path.exists() and path.stat().st_size > 10_000, done.stderr[-2000:]
    return path


class _Kpis(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], float] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-kpi" in a:
            self.values[(a["data-province"], a["data-kpi"])] = float(a["data-value"])


def _shown(dom: str) -> dict[tuple[str, str], float]:
    parser = _Kpis()
    parser.feed(dom)
    return parser.values


def _expected(warehouse: ServeWarehouse, provinces: tuple[str, ...]) -> dict[tuple[str, str], float]:
    return {
        (s[0], s[1]): expected_headline(warehouse.kpis, s[0], s[1]) for s in KPI_SPECS if s[0] in provinces
    }


def test_overview_in_chromium(serve_url: str, serve_warehouse: ServeWarehouse) -> None:
    dom = rendered_dom(f"{serve_url}/")
    assert _shown(dom) == _expected(serve_warehouse, PILOT_CODES)
    for code in PILOT_CODES:
        assert f'id="{code}"' in dom
    screenshot(f"{serve_url}/", "overview_th.png", "1400,1300")
    screenshot(f"{serve_url}/?lang=en", "overview_en.png", "1400,1300")


@pytest.mark.parametrize("code", PILOT_CODES)
def test_province_page_in_chromium(serve_url: str, serve_warehouse: ServeWarehouse, code: str) -> None:
    dom = rendered_dom(f"{serve_url}/province/{code}")
    assert _shown(dom) == _expected(serve_warehouse, (code,))
    assert "<svg" in dom
    screenshot(f"{serve_url}/province/{code}", f"province_{code}.png", "1400,1000")


def test_catalog_page_in_chromium(serve_url: str) -> None:
    dom = rendered_dom(f"{serve_url}/catalog?q=%E0%B8%AD%E0%B8%B2%E0%B8%81%E0%B8%B2%E0%B8%A8")  # q=อากาศ
    assert 'data-name="pcd-air-quality-hourly"' in dom
    screenshot(f"{serve_url}/catalog", "catalog.png", "1400,1600")
    screenshot(f"{serve_url}/dataset/moi-informal-debt-cases", "dataset_restricted.png", "1400,1600")
