"""Real Airflow under `airflow_env`'s settings:

* the deployment's dag-processor (`airflow_cluster`, shared with the scheduler tests) re-parses
  unchanged files only every 30 minutes (`min_file_process_interval`, so an idle box with 1,250
  files stays idle), yet a file rewritten by `gdx contracts generate` is re-parsed at once (its
  mtime is newer than its last parse);
* `common.default_args()` / `dag_kwargs()` callbacks fire under Airflow's own task runner and DAG
  run state machine (`dag.test()` on a copy of the session's migrated SQLite DB): task_retry,
  task_failed, dag_failed reach the alert hook, with the task, run, try and log URL;
* a `dag_kwargs()` DeadlineAlert fires under the real scheduler: the scheduler notices the missed
  deadline, the triggerer runs the callback and the hook gets `deadline_missed` for that run — and
  nothing of the run's conf."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gdx.orchestration.airflow_env import MIN_FILE_PROCESS_INTERVAL_S, airflow_env
from gdx.thai.citizen_id import make_citizen_id
from tests.conftest import copy_airflow_db
from tests.integration.airflow_fixtures import (
    DEADLINE_PROBE_DAG,
    DEADLINE_PROBE_MINUTES,
    PARSE_PROBE_DAG,
    PARSE_PROBE_FILE,
    AirflowCluster,
    read_alerts,
    wait_until,
    write_alert_hook,
)

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]


@dataclass
class SqliteAirflow:
    root: Path
    db_path: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def sqlite_airflow(tmp_path_factory: pytest.TempPathFactory, airflow_sqlite_template: Path) -> SqliteAirflow:
    root = tmp_path_factory.mktemp("airflow-ops")
    db_path = copy_airflow_db(airflow_sqlite_template, root / "airflow.db")
    env = {
        **os.environ,
        **airflow_env(root / "home", state_dir=root / "state", sql_alchemy_conn=f"sqlite:///{db_path}"),
    }
    return SqliteAirflow(root, db_path, env)


CALLBACK_DAG = """
from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG, task

from gdx.orchestration.common import dag_kwargs, default_args

args = {**default_args(retries=1), "retry_delay": timedelta(seconds=0)}
with DAG("gdx_callback_probe", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
         default_args=args, **dag_kwargs(deadline_minutes=None)) as dag:
    @task
    def boom() -> None:
        raise ValueError("station 42 unknown")

    boom()

if __name__ == "__main__":
    dag.test()
"""


def test_callbacks_alert_under_airflows_task_runner(sqlite_airflow: SqliteAirflow, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "gdx_callback_probe.py").write_text(CALLBACK_DAG)
    hook = write_alert_hook(tmp_path)
    out = tmp_path / "alerts.jsonl"
    env = {**sqlite_airflow.env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "GDX_ALERT_HOOK": hook,
           "PROBE_ALERTS": str(out), "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}  # fmt: skip
    done = subprocess.run([sys.executable, str(dags / "gdx_callback_probe.py")], env=env, capture_output=True,
                          text=True, timeout=240)  # fmt: skip
    got = read_alerts(out)
    assert [(a["kind"], a["task_id"], a["try_number"]) for a in got] == [
        ("task_retry", "boom", 1), ("task_failed", "boom", 2), ("dag_failed", "boom", 2),
    ], done.stdout[-3000:] + done.stderr[-3000:]  # fmt: skip
    assert {a["dag_id"] for a in got} == {"gdx_callback_probe"} and len({a["run_id"] for a in got}) == 1
    assert got[0]["message"] == got[1]["message"] == "ValueError: station 42 unknown"
    assert got[2]["message"] == "task_failure"
    assert (
        got[1]["log_url"].endswith("/tasks/boom?try_number=2")
        and "/dags/gdx_callback_probe/runs/" in got[1]["log_url"]
    )


# after the dag.test() test: the shared deployment starts with this one, not idling beside dag.test()
def test_changed_file_is_reparsed_at_once_despite_the_long_interval(airflow_cluster: AirflowCluster) -> None:
    assert MIN_FILE_PROCESS_INTERVAL_S >= 600
    client, dag_file = airflow_cluster.client, airflow_cluster.probe_dags / f"{PARSE_PROBE_DAG}.py"

    def description() -> str | None:
        dag = client.dag(PARSE_PROBE_DAG)
        return dag["description"] if dag else None

    assert wait_until("the first parse", lambda: description() == "v1", 120, airflow_cluster.log_tails)
    time.sleep(1.1)  # a later mtime than the first parse's finish
    dag_file.write_text(PARSE_PROBE_FILE.format(description="v2"))
    t0 = time.monotonic()
    assert wait_until(
        "the re-parse of the changed file", lambda: description() == "v2", 60, airflow_cluster.log_tails
    )
    reparsed_after = time.monotonic() - t0
    assert reparsed_after < MIN_FILE_PROCESS_INTERVAL_S / 10
    print(f"changed DAG file re-parsed after {reparsed_after:.1f} s")


def test_deadline_alert_fires_under_the_real_scheduler(
    airflow_cluster: AirflowCluster, tmp_path: Path
) -> None:
    """The probe DAG has `dag_kwargs(deadline_minutes=0.1)` and a task that waits for the test: the
    scheduler must see the run miss its deadline and the triggerer deliver `deadline_missed`."""
    client = airflow_cluster.client
    client.wait_for_dag(DEADLINE_PROBE_DAG)
    client.unpause(DEADLINE_PROBE_DAG)
    # a record-like conf (a valid citizen id among it): the alert must carry none of it
    citizen_id = make_citizen_id("310170020754")
    conf = {"release_dir": str(tmp_path), "record": {"citizen_id": citizen_id, "district_name": "บางรัก"}}
    run = client.trigger(DEADLINE_PROBE_DAG, conf)
    run_id = run["dag_run_id"]
    try:
        (alert,) = wait_until(
            f"the deadline_missed alert of {run_id}",
            lambda: airflow_cluster.alerts_of(DEADLINE_PROBE_DAG, run_id),
            180,
            lambda: (
                f"alerts of {DEADLINE_PROBE_DAG}: {airflow_cluster.alerts_of(DEADLINE_PROBE_DAG)}\n"
                + airflow_cluster.log_tails()
            ),
        )
        state_then = client.run(DEADLINE_PROBE_DAG, run_id)["state"]
    finally:
        (tmp_path / run_id).touch()  # let the task finish
    assert state_then in ("queued", "running")  # the alert came while the run was not done
    assert set(alert) == {"kind", "dag_id", "task_id", "run_id", "try_number", "message", "log_url"}
    assert alert["kind"] == "deadline_missed"
    assert (alert["dag_id"], alert["run_id"]) == (DEADLINE_PROBE_DAG, run_id)
    assert alert["task_id"] is None and alert["try_number"] is None and alert["log_url"] is None
    message = re.fullmatch(
        rf"run {re.escape(run_id)} of {DEADLINE_PROBE_DAG} not finished {DEADLINE_PROBE_MINUTES} min after it "
        r"was queued \(deadline (?P<deadline>.+), state (?P<state>queued|running)\)",
        alert["message"],
    )
    assert message, alert["message"]
    # the deadline Airflow computed is the run's queued time + the interval the factory was given
    queued_at = datetime.fromisoformat(client.run(DEADLINE_PROBE_DAG, run_id)["queued_at"])
    deadline = datetime.fromisoformat(message["deadline"])
    assert deadline - queued_at == timedelta(minutes=DEADLINE_PROBE_MINUTES), (queued_at, deadline)
    text = str(alert)
    assert citizen_id not in text and "record" not in text and "บางรัก" not in text
    done = client.wait_run(DEADLINE_PROBE_DAG, run_id, timeout=180)
    assert done["state"] == "success", airflow_cluster.log_tails()
    # one alert for the run: the missed deadline, fired once, and no failure alert
    assert [a["kind"] for a in airflow_cluster.alerts_of(DEADLINE_PROBE_DAG, run_id)] == ["deadline_missed"]
