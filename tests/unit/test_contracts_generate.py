"""`gdx contracts generate`: the repo's generated files are in sync; drift is detected and repaired."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gdx.contracts.generate import PROVINCES_SEED, generate, plan
from gdx.settings import REPO_ROOT

CONTRACTS_DIR = REPO_ROOT / "contracts"


def test_repo_generated_files_are_up_to_date() -> None:
    result = plan(REPO_ROOT, CONTRACTS_DIR)
    assert result.clean, f"run `gdx contracts generate`: {result}"
    assert generate(check=True, root=REPO_ROOT, contracts_dir=CONTRACTS_DIR) == []


def test_cli_generate_check_on_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    from gdx.cli import app

    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(CONTRACTS_DIR))
    result = CliRunner().invoke(app, ["contracts", "generate", "--check"])
    assert result.exit_code == 0, result.output


def test_provinces_seed_is_the_package_copy() -> None:
    assert (REPO_ROOT / PROVINCES_SEED).read_bytes() == (
        REPO_ROOT / "gdx/reference/th_provinces.csv"
    ).read_bytes()


def test_generate_writes_detects_and_repairs_drift(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, contracts, ignore=shutil.ignore_patterns("_generated"))
    written = generate(root=tmp_path, contracts_dir=contracts)
    assert "dags/ingest_moi.py" in written
    assert "contracts/_generated/ref/provinces/catalog.json" in written
    assert "dags/ingest_ref.py" not in written  # seeds get no DAG
    assert "dbt_project/models/staging/pcd/_pcd__sources.yml" in written
    assert PROVINCES_SEED in written
    assert generate(check=True, root=tmp_path, contracts_dir=contracts) == []
    dag = tmp_path / "dags/ingest_pcd.py"
    assert dag.read_text(encoding="utf-8").startswith('"""Airflow DAG ingest_pcd:')
    assert "do not edit" in dag.read_text(encoding="utf-8")

    # drift: an edited file, a deleted one, a leftover of a removed contract
    (tmp_path / "contracts/_generated/pcd/air_quality_hourly/jsonschema.json").write_text("{}\n")
    (tmp_path / "dags/ingest_dga.py").unlink()
    (tmp_path / "dags/ingest_old__gone.py").write_text("x = 1\n")
    result = plan(tmp_path, contracts)
    assert result.stale == ["contracts/_generated/pcd/air_quality_hourly/jsonschema.json"]
    assert result.missing == ["dags/ingest_dga.py"]
    assert result.extra == ["dags/ingest_old__gone.py"]
    assert set(generate(check=True, root=tmp_path, contracts_dir=contracts)) == set(result.changed)

    assert set(generate(root=tmp_path, contracts_dir=contracts)) == set(result.changed)
    assert not (tmp_path / "dags/ingest_old__gone.py").exists()
    assert plan(tmp_path, contracts).clean


def test_cli_check_fails_listing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gdx.cli import app

    contracts = tmp_path / "contracts"
    shutil.copytree(CONTRACTS_DIR, contracts, ignore=shutil.ignore_patterns("_generated"))
    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(contracts))
    monkeypatch.setattr("gdx.settings.REPO_ROOT", tmp_path)
    result = CliRunner().invoke(app, ["contracts", "generate", "--check"])
    assert result.exit_code == 1
    assert "missing: dags/ingest_pcd.py" in result.output
    assert "out of date" in result.output


def test_cli_list_and_lint(monkeypatch: pytest.MonkeyPatch) -> None:
    from gdx.cli import app

    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(CONTRACTS_DIR))
    runner = CliRunner()
    result = runner.invoke(app, ["contracts", "list"])
    assert result.exit_code == 0, result.output
    assert "moi.informal_debt_cases" in result.output and "restricted" in result.output
    assert "(dbt seed)" in result.output
    result = runner.invoke(app, ["contracts", "lint", "--no-odcs"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["contracts", "lint", str(CONTRACTS_DIR / "nope.yaml")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_cli_lint_reports_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gdx.cli import app

    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(CONTRACTS_DIR))
    bad = tmp_path / "pcd" / "air_quality_hourly.yaml"
    bad.parent.mkdir()
    bad.write_text(
        (CONTRACTS_DIR / "pcd/air_quality_hourly.yaml")
        .read_text(encoding="utf-8")
        .replace("value: gdx.pcd.air_quality_hourly.v1", "value: gdx.pcd.air_quality_hourly.v2"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["contracts", "lint", str(bad)])
    assert result.exit_code == 1
    assert "topic" in result.output and "gdx.pcd.air_quality_hourly.v1" in result.output


def test_yaml_files_are_the_bytes_pure_pyyaml_writes(tmp_path: Path) -> None:
    """render_yaml uses libyaml's emitter for speed; it must write what PyYAML's own emitter writes."""
    import yaml

    from gdx.contracts.exporters import EXPORTERS
    from gdx.contracts.exporters._common import GENERATED_NOTE
    from gdx.contracts.model import load_all
    from gdx.testing.scale_world import build_scale_world

    assert yaml.__with_libyaml__  # else render_yaml is PyYAML's and this compares it with itself
    world = build_scale_world(tmp_path / "world", 120, copy_dbt=False)
    contracts = load_all(world.contracts_dir)
    yaml_exporters = [e for e in EXPORTERS.values() if e.render.__name__ == "render_yaml"]
    assert {e.name for e in yaml_exporters} >= {"dbt_sources", "dbt_staging_models"}
    compared = 0
    for exporter in yaml_exporters:
        grouped: dict[str, list[object]] = {}
        for cid in sorted(contracts):
            if exporter.applies(contracts[cid]):
                grouped.setdefault(exporter.path(contracts[cid]), []).append(exporter.func(contracts[cid]))
        for values in grouped.values():
            doc = exporter.merge(values) if exporter.merge else values[0]
            pure = yaml.dump(doc, Dumper=yaml.SafeDumper, allow_unicode=True, sort_keys=False, width=100)
            assert exporter.render(doc) == f"# {GENERATED_NOTE}\n{pure}"
            compared += 1
    assert compared > 2 * len(world.agencies)
