"""`gdx sample` / `gdx produce` command line: exit codes, rejects file, clear errors."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from gdx.cli import app

runner = CliRunner()


def test_sample_then_dry_run(tmp_path):
    src = tmp_path / "air.json"
    res = runner.invoke(
        app,
        [
            "sample",
            "pcd.air_quality_hourly",
            "--rows",
            "300",
            "--bad-ratio",
            "0.05",
            "--seed",
            "2",
            "--out",
            str(src),
        ],
    )
    assert res.exit_code == 0, res.output
    assert src.exists() and (tmp_path / "air.json.truth.json").exists()
    out = tmp_path / "out.ndjson"
    res = runner.invoke(app, ["produce", "pcd.air_quality_hourly", str(src), "--dry-run", "--out", str(out)])
    assert res.exit_code == 1  # rejects → exit 1
    rejects = (tmp_path / "air.json.rejects.ndjson").read_bytes().splitlines()
    assert len(rejects) == 15
    lines = out.read_bytes().splitlines()
    assert len(lines) == 285
    first = orjson.loads(lines[0])
    assert (
        first["topic"] == "gdx.pcd.air_quality_hourly.v1"
        and first["headers"]["gdx.contract.id"] == "pcd.air_quality_hourly"
    )


def test_clean_file_exits_zero(tmp_path):
    src = tmp_path / "h.csv"
    assert (
        runner.invoke(app, ["sample", "gistda.fire_hotspots", "-n", "50", "--out", str(src)]).exit_code == 0
    )
    res = runner.invoke(
        app,
        [
            "produce",
            "gistda.fire_hotspots",
            str(src),
            "--dry-run",
            "--out",
            str(tmp_path / "o.ndjson"),
            "--format",
            "firms",
        ],
    )
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "h.csv.rejects.ndjson").exists()


def test_clear_errors(tmp_path):
    res = runner.invoke(app, ["produce", "nope.nothing", str(tmp_path / "x.csv"), "--dry-run"])
    assert res.exit_code == 1 and "unknown contract" in res.output
    res = runner.invoke(
        app, ["produce", "pcd.air_quality_hourly", str(tmp_path / "missing.json"), "--dry-run"]
    )
    assert res.exit_code == 1 and "no such file" in res.output
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    res = runner.invoke(
        app, ["produce", "pcd.air_quality_hourly", str(bad), "--format", "parquet", "--dry-run"]
    )
    assert res.exit_code == 1 and "unknown format" in res.output
    res = runner.invoke(
        app, ["produce", "pcd.air_quality_hourly", str(bad), "--format", "air4thai", "--dry-run"]
    )
    assert res.exit_code == 1 and "cannot read" in res.output
