"""`build_onedata_marts` run for real (`dag.test()` in a subprocess, SQLite metadata DB, the real
dbt project over an engine-built lake): the first run builds everything; after one dataset lands
new rows only that dataset's graph is built; rows landed while no event reached the DAG are found
through the ledger watermark; a `dbt build` that really fails (a landed file that is no longer
Parquet) leaves the watermark where it was, and the next run builds that dataset again; with nothing
new the build is skipped and no mart event is emitted.

"New rows" are the engine's own second landing (tests/integration/engine_lake.py: every fixture
event re-published and landed again by `gdx ingest`) of ONE dataset copied over the first landing:
bronze files and ledger entries exactly as `gdx ingest` wrote them. Marts deduplicate re-sent
events, so the KPIs do not move; the data-quality mart's landed-row count of that dataset does, and
that is what proves the incremental build read the new rows.

The tests are ordered steps over one module-scoped lake and warehouse.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from gdx.orchestration.build_dag import DAG_ID, mart_models
from tests.integration.ingest_fixtures import REPO

# The first test may also pay the session's engine lake (~5 min on a busy box) before its full build.
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1500)]

FIRST = "pcd.air_quality_hourly"  # lands new rows and its Asset event reaches the DAG
PAUSED = "dla.municipal_waste_monthly"  # lands new rows while no event reaches the DAG
BROKEN = "customs.border_trade_daily"  # lands new rows, one of whose files dbt then cannot read
NOT_EXPORTED = {"fct_informal_debt_cases"}  # personal-data fact: in the warehouse only

# dag.test() runs a MANUAL run; for an asset-triggered one the run gets the AssetEvents the scheduler
# would have attached (rows in asset_event, linked as the run's consumed events), so `plan` reads
# them through Airflow's own triggering_asset_events.
DAG_TEST = """
import json, sys
import airflow.models.dagrun as dagrun
from airflow.dag_processing.dagbag import DagBag
from gdx.orchestration.dag_test import run_dag_test

events = json.loads(sys.argv[2])
create = dagrun.get_or_create_dagrun

def with_events(*args, **kwargs):
    from sqlalchemy import select
    from airflow.models.asset import AssetEvent, AssetModel
    run, session = create(*args, **kwargs), kwargs["session"]
    for uri, extra in events:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == uri))
        event = AssetEvent(asset_id=asset.id, extra=extra)
        session.add(event)
        run.consumed_asset_events.append(event)
    session.commit()
    return run

dagrun.get_or_create_dagrun = with_events
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
dag = bag.dags["build_onedata_marts"]
if sys.argv[3:] == ["no-retries"]:  # a retry would run the same failing dbt again a minute later
    for t in dag.tasks:
        t.retries = 0
run = run_dag_test(dag)
print("GDX_RESULT " + json.dumps({"state": str(run.state), "run_id": run.run_id}))
"""


class World:
    def __init__(self, root: Path, engine_lake: Any, airflow_home: Path) -> None:
        self.root, self.engine, self.airflow_home = root, engine_lake, airflow_home
        self.lake = engine_lake.copy(root / "lake")  # as `gdx ingest` first landed the fixture records
        self.warehouse = root / "wh" / "onedata.duckdb"
        self.state = root / "state"
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "GDX_LAKE_ROOT": str(self.lake),
            "GDX_WAREHOUSE": str(self.warehouse),
            "GDX_STATE_DIR": str(self.state),
        }
        self.env.pop("GDX_CONTRACTS_DIR", None)  # the repository's contracts and generated catalogs

    def land_again(self, contract_id: str) -> int:
        """Copy the engine's second landing of one dataset (bronze + ledger) over this lake;
        returns how many ledger entries that adds."""
        agency, _, dataset = contract_id.partition(".")
        before = len(list((self.lake / "ledger" / agency / dataset).glob("*.parquet")))
        for zone in ("bronze", "ledger"):
            shutil.copytree(
                self.engine.lake / zone / agency / dataset,
                self.lake / zone / agency / dataset,
                dirs_exist_ok=True,
            )
        return len(list((self.lake / "ledger" / agency / dataset).glob("*.parquet"))) - before

    def run(
        self, events: list[tuple[str, dict[str, Any]]] | None = None, *, retries: bool = True
    ) -> dict[str, Any]:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", DAG_TEST, str(REPO / "dags"), json.dumps(events or []),
             *([] if retries else ["no-retries"])],
            env=self.env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-6000:]
        line = next(x for x in done.stdout.splitlines() if x.startswith("GDX_RESULT "))
        result = json.loads(line.removeprefix("GDX_RESULT "))
        run_id = result["run_id"]
        with sqlite3.connect(self.airflow_home / "airflow.db") as db:
            states = dict(
                db.execute(
                    "select task_id, state from task_instance where dag_id=? and run_id=?", (DAG_ID, run_id)
                )
            )
            xcom = {
                t: json.loads(v)
                for t, v in db.execute("select task_id, value from xcom where dag_id=? and run_id=? and key='return_value'", (DAG_ID, run_id))
            }  # fmt: skip
            mart_events = [
                (uri, json.loads(extra) if extra else {})
                for uri, extra in db.execute(
                    "select a.uri, e.extra from asset_event e join asset a on a.id = e.asset_id "
                    "where e.source_dag_id=? and e.source_run_id=?", (DAG_ID, run_id),
                )
            ]  # fmt: skip
        print(
            f"\n{DAG_ID} run {run_id}: {result['state']} in {seconds:.1f} s end to end (dag.test subprocess)"
        )
        return {
            **result,
            "states": states,
            "xcom": xcom,
            "events": mart_events,
            "seconds": seconds,
            "output": output,
        }

    def dbt_results(self) -> list[dict[str, Any]]:
        return json.loads((self.state / "dbt" / "target" / "run_results.json").read_text())["results"]

    def dbt_nodes(self) -> list[str]:
        return [r["unique_id"] for r in self.dbt_results()]

    def bronze_files(self, contract_id: str) -> set[Path]:
        agency, _, dataset = contract_id.partition(".")
        return set((self.lake / "bronze" / agency / dataset).rglob("*.parquet"))

    def watermark(self) -> dict[str, Any]:
        return json.loads((self.warehouse.parent / "build_watermark.json").read_text())

    def kpis(self) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(
                "select province_iso, kpi_code, period_type, period_start, value, status from marts.mart_provincial_kpi "
                "order by all"
            ).fetchall()

    def landed_rows(self, contract_id: str) -> int:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            row = con.execute(
                "select rows_landed from marts.mart_data_quality where contract_id = ?", [contract_id]
            ).fetchone()
        assert row is not None, contract_id
        return int(row[0])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, engine_lake: Any, airflow_db: Path) -> World:
    return World(tmp_path_factory.mktemp("dbt-dag"), engine_lake, airflow_db)


def _staging(contract_id: str) -> str:
    return "stg_" + contract_id.replace(".", "__")


def _staging_built(world: World) -> set[str]:
    """The bronze datasets' staging models in the last dbt invocation's run_results.json."""
    every = {_staging(cid) for cid in world.engine.contract_ids}
    return {n.rsplit(".", 1)[-1] for n in world.dbt_nodes() if n.startswith("model.")} & every


def test_first_run_builds_everything(world: World) -> None:
    run = world.run()
    assert run["state"] == "success", run["output"][-4000:]
    assert run["states"] == {"plan": "success", "dbt_build": "success", "publish_marts": "success"}
    planned = run["xcom"]["plan"]
    assert planned["full"] is True and planned["selector"] is None and "first build" in planned["reason"]
    built = run["xcom"]["dbt_build"]
    assert built["full"] is True and built["datasets"] == len(world.engine.contract_ids)
    assert built["marts"] == mart_models(), "every mart is built on the first run"
    assert "dbt: Done. PASS=" in run["output"], "dbt's summary line is in the task log"
    # one event per mart, counts only; each exported mart's row count is that of its Parquet file
    assert sorted(uri for uri, _ in run["events"]) == sorted(f"gdx://marts/{m}" for m in mart_models())
    import pyarrow.parquet as pq

    for uri, extra in run["events"]:
        model = uri.rsplit("/", 1)[-1]
        assert set(extra) <= {"rows", "full_build", "datasets"} and extra["full_build"] is True
        if model in NOT_EXPORTED:
            assert "rows" not in extra
        else:
            assert (
                extra["rows"]
                == pq.read_metadata(world.warehouse.parent / "exports" / f"{model}.parquet").num_rows
                > 0
            )
    assert _staging_built(world) == {_staging(cid) for cid in world.engine.contract_ids}
    assert any(n.startswith("unit_test.") for n in world.dbt_nodes()), "a full build runs the unit tests"
    assert sorted(world.watermark()["datasets"]) == sorted(world.engine.contract_ids)


def test_one_dataset_with_its_event_builds_only_its_graph(world: World) -> None:
    before, kpis = world.landed_rows(FIRST), world.kpis()
    added = world.land_again(FIRST)
    assert added > 0
    run = world.run(
        events=[(f"gdx://bronze/{FIRST.replace('.', '/')}", {"contract_id": FIRST, "rows_landed": 1})]
    )
    assert run["state"] == "success", run["output"][-4000:]
    planned = run["xcom"]["plan"]
    assert planned["full"] is False and planned["datasets"] == [FIRST] and planned["from_events"] == 1
    assert planned["selector"] == f"source:bronze_{FIRST}+ source:lake_ops+"
    assert _staging_built(world) == {_staging(FIRST)}, "other datasets' staging models are not rebuilt"
    # unit tests depend on the project only (a project change means a full build): not run here
    assert not [n for n in world.dbt_nodes() if n.startswith("unit_test.")]
    assert any(n.startswith("test.") for n in world.dbt_nodes()), "the data tests of what was built still run"
    assert world.landed_rows(FIRST) > before, "the incremental build read the new ledger entries"
    # re-sent events change no KPI (as a full build over this lake gives, tests/integration/test_dbt_marts.py):
    # the subset built over the untouched upstream tables is consistent with them
    assert world.kpis() == kpis
    marts = run["xcom"]["dbt_build"]["marts"]
    assert "fct_air_quality_daily" in marts and "fct_border_trade_daily" not in marts
    assert sorted(uri for uri, _ in run["events"]) == sorted(f"gdx://marts/{m}" for m in marts)
    assert world.watermark()["datasets"][FIRST]["entries"] == len(
        list((world.lake / "ledger" / "pcd" / "air_quality_hourly").glob("*.parquet"))
    )


def test_rows_landed_without_an_event_are_built_from_the_watermark(world: World) -> None:
    before = world.landed_rows(PAUSED)
    assert world.land_again(PAUSED) > 0  # e.g. `gdx ingest` on the CLI, or the DAG was paused
    run = world.run()  # no triggering event at all
    assert run["state"] == "success", run["output"][-4000:]
    planned = run["xcom"]["plan"]
    assert planned["full"] is False and planned["datasets"] == [PAUSED] and planned["from_events"] == 0
    assert _staging_built(world) == {_staging(PAUSED)}
    assert world.landed_rows(PAUSED) > before


def test_a_failing_dbt_build_keeps_the_watermark_and_the_next_run_rebuilds(world: World) -> None:
    mark, before, files = world.watermark(), world.landed_rows(BROKEN), world.bronze_files(BROKEN)
    assert world.land_again(BROKEN) > 0
    new_files = sorted(world.bronze_files(BROKEN) - files)
    assert new_files, "the second landing added bronze files"
    # one newly landed file is not Parquet any more (torn by the disk, say): dbt's read of it fails
    torn, good = new_files[0], new_files[0].read_bytes()
    torn.write_bytes(b"not a parquet file")

    failed = world.run(retries=False)
    assert failed["state"] == "failed", failed["output"][-4000:]
    assert failed["states"] == {"plan": "success", "dbt_build": "failed", "publish_marts": "upstream_failed"}
    assert failed["xcom"]["plan"]["datasets"] == [BROKEN], "planned from the ledger"
    assert "dbt build failed (exit 1); the watermark stays where it was" in failed["output"]
    # dbt really ran and really failed on that file: its own run_results name it (the source's test
    # reads the files first; the staging model and everything downstream are then skipped)
    results = {r["unique_id"].rsplit(".", 1)[-1]: r for r in world.dbt_results()}
    errors = [r["message"] or "" for r in results.values() if r["status"] == "error"]
    assert errors and any(torn.name in m and "magic bytes" in m for m in errors), errors
    assert results[_staging(BROKEN)]["status"] == "skipped"
    assert failed["events"] == [], "no mart event from a failed build"
    assert world.watermark() == mark, "the watermark did not move"

    torn.write_bytes(good)  # repaired: the file as `gdx ingest` wrote it
    run = world.run()  # no event: the unmoved watermark alone makes the next plan build it again
    assert run["state"] == "success", run["output"][-4000:]
    planned = run["xcom"]["plan"]
    assert planned["full"] is False and planned["datasets"] == [BROKEN] and planned["from_events"] == 0
    assert _staging_built(world) == {_staging(BROKEN)}
    assert world.landed_rows(BROKEN) > before, "the rebuild read the new rows"
    assert "fct_border_trade_daily" in run["xcom"]["dbt_build"]["marts"]
    assert world.watermark()["datasets"][BROKEN]["entries"] == len(
        list((world.lake / "ledger" / "customs" / "border_trade_daily").glob("*.parquet"))
    )
    assert world.watermark()["datasets"][BROKEN] != mark["datasets"][BROKEN]


def test_nothing_new_skips_the_build(world: World) -> None:
    mark = world.watermark()
    results = (world.state / "dbt" / "target" / "run_results.json").stat().st_mtime_ns
    run = world.run()
    assert run["state"] == "success", run["output"][-4000:]
    assert run["states"] == {"plan": "skipped", "dbt_build": "skipped", "publish_marts": "skipped"}
    assert run["events"] == [], "no mart events without a build"
    assert (world.state / "dbt" / "target" / "run_results.json").stat().st_mtime_ns == results, (
        "dbt did not run"
    )
    assert world.watermark() == mark
