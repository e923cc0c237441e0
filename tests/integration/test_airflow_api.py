"""`gdx.orchestration.airflow_api` against a real Airflow 3.3 api-server app (SQLite metadata, the
settings of `airflow_env`, the simple auth manager with the passwords it generated): a JWT from
`/auth/token`, an asset event with its extra, a DAG run triggered with conf and read back, and
`notify_bronze_landed` — the event `gdx ingest` posts — including what happens when it cannot.
The metadata DB is a copy of the session's migrated one (`airflow_sqlite_template`)."""

from __future__ import annotations

import logging
import os
import socket
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gdx.ingest.runner import BatchSummary, RunSummary
from gdx.orchestration.airflow_api import URL_ENV, AirflowApi, AirflowApiError, notify_bronze_landed
from gdx.orchestration.airflow_env import airflow_env
from tests.conftest import copy_airflow_db
from tests.integration.airflow_fixtures import process_group, wait_until

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
BRONZE = "gdx://bronze/pcd/air_quality_hourly"
PROBE_DAG = textwrap.dedent(f'''
    """A DAG that declares the bronze asset (Airflow knows an asset only once a DAG declares it)."""
    from datetime import datetime, timezone

    from airflow.sdk import DAG, Asset, task

    with DAG("gdx_api_probe", schedule=[Asset("{BRONZE}")], start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
             catchup=False, params={{"mode": "ingest"}}):
        @task
        def noop() -> None:
            pass

        noop()
''')


@dataclass
class ApiServer:
    url: str
    state_dir: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def api_server(
    tmp_path_factory: pytest.TempPathFactory, airflow_sqlite_template: Path
) -> Iterator[ApiServer]:
    root = tmp_path_factory.mktemp("airflow-api")
    (root / "dags").mkdir()
    (root / "dags" / "gdx_api_probe.py").write_text(PROBE_DAG)
    db = copy_airflow_db(airflow_sqlite_template, root / "airflow.db")  # the server's migrate is then a check
    port = _free_port()
    env = {
        **os.environ,
        **airflow_env(
            root / "home",
            state_dir=root / "state",
            api_port=port,
            sql_alchemy_conn=f"sqlite:///{db}",
        ),  # fmt: skip
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__API__HOST": "127.0.0.1",
    }
    log = root / "api-server.log"
    cmd = [sys.executable, "-m", "tests.integration.airflow_api_server", str(port)]
    url = f"http://127.0.0.1:{port}"
    with process_group(cmd, env, log, cwd=REPO) as proc:

        def healthy() -> bool:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        wait_until("the api-server", healthy, 120, lambda: log.read_text()[-3000:])
        yield ApiServer(url, root / "state", log)


def _summary(rows_landed: int) -> RunSummary:
    batches = [
        BatchSummary("gdx.pcd.air_quality_hourly.v1+0+0-99", 0, 0, 99, "2026-12-03", 100, 97, 3, "b", "q"),
        BatchSummary("gdx.pcd.air_quality_hourly.v1+1+0-49", 1, 0, 49, "2026-12-03", 50, 50, 0, "b", None),
    ]
    return RunSummary("pcd.air_quality_hourly", "gdx.pcd.air_quality_hourly.v1", rows_in=150,
                      rows_landed=rows_landed, rows_quarantined=3, batches=batches)  # fmt: skip


def test_token_asset_event_and_dag_run(api_server: ApiServer) -> None:
    api = AirflowApi.from_env({URL_ENV: api_server.url}, state_dir=api_server.state_dir)
    assert api is not None and api.username == "gdx-ingest" and api.password  # from airflow_env's file
    event = api.post_asset_event(
        BRONZE, {"contract_id": "pcd.air_quality_hourly", "rows_landed": 5, "batch_ids": ["b1"]}
    )
    assert event["uri"] == BRONZE
    assert event["extra"] == {"contract_id": "pcd.air_quality_hourly", "rows_landed": 5, "batch_ids": ["b1"],
                              "from_rest_api": True}  # fmt: skip
    # Airflow has it: the event is listed for the asset
    listed = api.request("GET", "/assets/events", query={"asset_id": event["asset_id"]})
    assert [e["id"] for e in listed["asset_events"]] == [event["id"]]
    run = api.trigger_dag("gdx_api_probe", {"mode": "replay_quarantine"}, run_id="ops-test-1")
    assert run["dag_run_id"] == "ops-test-1" and run["conf"] == {"mode": "replay_quarantine"}
    got = api.get_dag_run("gdx_api_probe", "ops-test-1")
    assert got["state"] == "queued" and got["conf"] == {"mode": "replay_quarantine"}
    with pytest.raises(AirflowApiError, match="no asset gdx://bronze/pcd/nothing"):
        api.post_asset_event("gdx://bronze/pcd/nothing", {})


def test_wrong_password_and_given_token(api_server: ApiServer) -> None:
    bad = AirflowApi(api_server.url, username="gdx-ingest", password="not-it")
    with pytest.raises(AirflowApiError, match="/auth/token as gdx-ingest: 401") as refused:
        bad.find_asset(BRONZE)
    assert refused.value.status == 401
    good = AirflowApi.from_env({URL_ENV: api_server.url}, state_dir=api_server.state_dir)
    token = good._token()
    # GDX_AIRFLOW_API_TOKEN: used as it is, no login
    given = AirflowApi.from_env(
        {URL_ENV: api_server.url, "GDX_AIRFLOW_API_TOKEN": token}, state_dir=Path("/nonexistent")
    )
    assert given.password is None and given.find_asset(BRONZE)["uri"] == BRONZE
    with pytest.raises(AirflowApiError, match="403 Invalid JWT token"):
        AirflowApi(api_server.url, token="forged.jwt.token").find_asset(BRONZE)


def test_notify_bronze_landed(
    api_server: ApiServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GDX_STATE_DIR", str(api_server.state_dir))
    env = {URL_ENV: api_server.url}
    event = notify_bronze_landed(_summary(147), env)
    assert event is not None and event["uri"] == BRONZE
    assert event["extra"] == {
        "contract_id": "pcd.air_quality_hourly", "rows_landed": 147, "rows_quarantined": 3, "from_rest_api": True,
        "batch_ids": ["gdx.pcd.air_quality_hourly.v1+0+0-99", "gdx.pcd.air_quality_hourly.v1+1+0-49"],
    }  # fmt: skip
    assert notify_bronze_landed(_summary(0), env) is None  # nothing landed: no event
    assert notify_bronze_landed(_summary(147), {}) is None  # not configured: nothing asked
    # Airflow unreachable: a warning, never an exception (the rows are landed)
    caplog.set_level(logging.WARNING)
    assert notify_bronze_landed(_summary(147), {URL_ENV: f"http://127.0.0.1:{_free_port()}"}) is None
    (warning,) = [r.getMessage() for r in caplog.records if "was not posted" in r.getMessage()]
    assert warning.startswith(
        "pcd.air_quality_hourly: landed, but the Airflow asset event gdx://bronze/pcd/air_quality_hourly"
    )


def test_gdx_ingest_posts_the_bronze_event(api_server: ApiServer, tmp_path: Path, kafka_cluster) -> None:
    """The CLI path: rows landed → one event on the bronze asset whose extra matches the ledger
    (Airflow unreachable: `test_notify_bronze_landed`, a warning and no exception)."""
    from gdx.orchestration.airflow_env import user_passwords
    from gdx.sample import valid_records
    from tests.integration.ingest_fixtures import ledger_rows, make_env, publish

    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    publish(kafka_cluster, contract, list(valid_records(contract.id, 40, seed=4)))
    api = AirflowApi.from_env({URL_ENV: api_server.url}, state_dir=api_server.state_dir)
    asset_id = api.find_asset(BRONZE)["id"]
    before = {
        e["id"] for e in api.request("GET", "/assets/events", query={"asset_id": asset_id})["asset_events"]
    }
    airflow = {
        URL_ENV: api_server.url,
        "GDX_AIRFLOW_API_PASSWORD": user_passwords(api_server.state_dir)["gdx-ingest"],
    }
    done = env.run_cli("ingest", contract.id, extra_env=airflow)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Airflow: asset event " in done.stdout and f"on {BRONZE}" in done.stdout
    events = api.request("GET", "/assets/events", query={"asset_id": asset_id})["asset_events"]
    (new,) = [e for e in events if e["id"] not in before]
    batch_ids = sorted(r["batch_id"] for r in ledger_rows(env.lake, contract))
    assert new["extra"]["contract_id"] == contract.id and new["extra"]["rows_landed"] == 40
    assert sorted(new["extra"]["batch_ids"]) == batch_ids and new["extra"]["rows_quarantined"] == 0
