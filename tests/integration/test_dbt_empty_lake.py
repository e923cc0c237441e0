"""`gdx build` on a lake where nothing has landed yet (fresh clone, first demo step): green, empty marts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest

from gdx.build import BuildPaths, build
from gdx.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_build_on_an_empty_lake(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    settings = dataclasses.replace(
        Settings.from_env(), lake_root=str(lake), warehouse=tmp_path / "wh" / "onedata.duckdb"
    )
    paths = BuildPaths.from_settings(settings, target_dir=tmp_path / "target")
    result = build(paths=paths)
    assert result.ok, result.output[-6000:]
    assert len(result.unlanded_sources) == 6
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from marts.mart_provincial_kpi").fetchone() == (0,)
        statuses = con.execute(
            "select distinct freshness_status, batches, share_valid from marts.mart_data_quality"
        ).fetchall()
        assert statuses == [("no_data", 0, None)]
        assert con.execute("select count(*) from marts.mart_open_data_catalog").fetchone() == (8,)
        assert con.execute("select count(*) from marts.dim_province").fetchone() == (77,)
    assert (paths.export_dir / "mart_provincial_kpi.parquet").exists()
