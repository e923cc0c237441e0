"""The build watermark (gdx.orchestration.build_watermark) and the `plan` of build_onedata_marts
over a real local lake whose ledger entries are written with the engine's own paths and writer."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gdx.contracts.model import Contract, load_contract
from gdx.ingest import ledger
from gdx.ingest.lakefs import Lake
from gdx.ingest.paths import BatchName, ledger_path, replay_ledger_path, resolutions_root
from gdx.orchestration import build_watermark as bw
from gdx.settings import REPO_ROOT, Settings

AIR = "pcd.air_quality_hourly"
WASTE = "dla.municipal_waste_monthly"


def _contract(contract_id: str) -> Contract:
    agency, _, dataset = contract_id.partition(".")
    return load_contract(REPO_ROOT / "contracts" / agency / f"{dataset}.yaml")


def _commit(
    lake: Lake, contract: Contract, first: int, last: int, generation: int = 0, replay: bool = False
) -> str:
    """A ledger (or replay-ledger) file as the engine names and writes it."""
    import pyarrow as pa

    name = BatchName(contract.topic, 0, first, last, generation=generation)
    now = datetime.now(UTC)
    row = ledger.LedgerEntry(
        name.stem, contract.id, contract.version, contract.agency, contract.dataset, contract.topic, 0, first, last,
        last - first + 1, last - first + 1, 0, True, 1, 1, now, now, 0.0, None, None,
    )  # fmt: skip
    path = replay_ledger_path(contract, name) if replay else ledger_path(contract, name)
    lake.write_parquet(
        path, pa.Table.from_pylist([dataclasses.asdict(row)], schema=ledger.schema()), exclusive=True
    )
    return path


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(str(tmp_path / "lake"))


def test_marks_fingerprint_entry_names_per_dataset(lake: Lake) -> None:
    air, waste = _contract(AIR), _contract(WASTE)
    assert bw.ledger_marks(lake) == {}, "an empty lake has no marks"
    _commit(lake, air, 0, 9)
    _commit(lake, air, 10, 19)
    _commit(lake, waste, 0, 4)
    marks = bw.ledger_marks(lake)
    assert sorted(marks) == [WASTE, AIR]
    assert marks[AIR].entries == 2 and marks[AIR].newest == f"{air.topic}+0+10-19.parquet"
    assert marks[WASTE].entries == 1
    assert bw.ledger_marks(lake, [AIR]) == {AIR: marks[AIR]}, "one dataset's listing gives the same mark"


def test_any_new_entry_changes_only_its_dataset(lake: Lake) -> None:
    air, waste = _contract(AIR), _contract(WASTE)
    _commit(lake, air, 100, 199)
    _commit(lake, waste, 0, 4)
    mark = bw.Watermark().advanced(bw.ledger_marks(lake), "p", full=True)
    assert mark.changed(bw.ledger_marks(lake)) == []
    _commit(lake, air, 0, 99)  # lower offsets than the newest entry (a rewound group): still new
    assert mark.changed(bw.ledger_marks(lake)) == [AIR]
    mark = mark.advanced(bw.ledger_marks(lake, [AIR]), "p", full=False)
    assert mark.changed(bw.ledger_marks(lake)) == []
    _commit(lake, waste, 0, 4, generation=1)  # a recreated topic's first batch
    _commit(lake, air, 0, 0, replay=True)  # a replay from quarantine lands rows too
    assert mark.changed(bw.ledger_marks(lake)) == [WASTE, AIR]


def test_resolutions_and_temp_files_are_not_entries(lake: Lake) -> None:
    air = _contract(AIR)
    _commit(lake, air, 0, 9)
    before = bw.ledger_marks(lake)
    root = Path(lake.abs(resolutions_root(air)))
    root.mkdir(parents=True)
    (root / "20261203T000000Z-accept_gap-x.parquet").write_bytes(b"resolution")
    ledger_dir = Path(lake.abs(ledger_path(air, BatchName(air.topic, 0, 10, 19)))).parent
    (ledger_dir / f".{air.topic}+0+10-19.parquet.123.abcd.tmp").write_bytes(b"crash leftover")
    assert bw.ledger_marks(lake) == before


def test_save_and_load_need_the_warehouse(tmp_path: Path, lake: Lake) -> None:
    _commit(lake, _contract(AIR), 0, 9)
    warehouse = tmp_path / "wh" / "onedata.duckdb"
    mark = bw.Watermark("proj", bw.ledger_marks(lake))
    path = bw.save(warehouse, mark)
    assert path == warehouse.parent / "build_watermark.json"
    assert bw.load(warehouse) is None, "no warehouse file: the watermark describes nothing (full build)"
    warehouse.write_bytes(b"")
    assert bw.load(warehouse) == mark
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    path.write_text("{not json", encoding="utf-8")
    assert bw.load(warehouse) is None, "an unreadable watermark means a full build, never a crash"


def test_project_fingerprint_follows_project_and_catalog_files(tmp_path: Path) -> None:
    project, contracts = tmp_path / "dbt_project", tmp_path / "contracts"
    (project / "models" / "marts").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: x\n")
    model = project / "models" / "marts" / "m.sql"
    model.write_text("select 1")
    first = bw.project_fingerprint(project, contracts)
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")
    assert bw.project_fingerprint(project, contracts) == first, "dbt's own output is not the project"
    model.write_text("select 2 as changed")
    second = bw.project_fingerprint(project, contracts)
    assert second != first
    catalog = contracts / "_generated" / "pcd" / "air_quality_hourly" / "catalog.json"
    catalog.parent.mkdir(parents=True)
    catalog.write_text("{}")
    assert bw.project_fingerprint(project, contracts) != second


def _settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(
        Settings.from_env(), lake_root=str(tmp_path / "lake"), warehouse=tmp_path / "wh" / "onedata.duckdb",
        state_dir=tmp_path / "state",
    )  # fmt: skip


def _event(uri: str, extra: dict) -> object:
    from airflow.sdk.api.datamodels._generated import AssetEventDagRunReference

    return AssetEventDagRunReference.model_validate(
        {
            "asset": {"name": uri, "uri": uri, "extra": {}},
            "extra": extra,
            "source_aliases": [],
            "timestamp": datetime.now(UTC),
            "source_task_id": "ingest__air_quality_hourly",
            "source_dag_id": "ingest_pcd",
            "source_run_id": "r",
            "source_map_index": -1,
        }
    )


def test_plan_full_then_skip_then_only_what_changed(tmp_path: Path, lake: Lake) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    from gdx.orchestration import build_tasks

    settings = _settings(tmp_path)
    air, waste = _contract(AIR), _contract(WASTE)
    _commit(lake, air, 0, 9)
    _commit(lake, waste, 0, 9)
    first = build_tasks.plan(None, {}, settings)
    assert first["full"] is True and first["selector"] is None and "first build" in first["reason"]

    paths = build_tasks.build_paths(settings)
    paths.prepare()
    paths.warehouse.write_bytes(b"")  # what a successful build leaves, with the watermark it saved
    fingerprint = bw.project_fingerprint(paths.project_dir, paths.contracts_dir)
    bw.save(paths.warehouse, bw.Watermark().advanced(bw.ledger_marks(lake), fingerprint, full=True))
    with pytest.raises(AirflowSkipException):
        build_tasks.plan({}, {}, settings)

    _commit(lake, waste, 10, 19)  # landed from the CLI: no event
    events = {
        "gdx://bronze/pcd/air_quality_hourly": [
            _event("gdx://bronze/pcd/air_quality_hourly", {"contract_id": AIR})
        ]
    }
    planned = build_tasks.plan(events, {}, settings)
    assert planned["full"] is False and planned["datasets"] == [WASTE, AIR] and planned["from_events"] == 1
    assert planned["selector"] == f"source:bronze_{WASTE}+ source:bronze_{AIR}+ source:lake_ops+"
    assert build_tasks.plan(None, {"full": True}, settings)["full"] is True
    requested = build_tasks.plan(None, {"datasets": ["moi.informal_debt_cases"]}, settings)
    assert "moi.informal_debt_cases" in requested["datasets"]


def test_summary_lines_strip_dbt_prefixes() -> None:
    from gdx.orchestration.build_tasks import summary_lines

    output = "\x1b[0m14:53:13  Running with dbt=1.11\n\x1b[0m14:53:13  Done. PASS=295 WARN=0 ERROR=0 SKIP=0 TOTAL=295\n"
    assert summary_lines(output) == ["Done. PASS=295 WARN=0 ERROR=0 SKIP=0 TOTAL=295"]
