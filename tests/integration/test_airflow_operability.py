"""Real Airflow under `airflow_env`'s settings (one migrated SQLite metadata DB for the module):

* the dag-processor re-parses unchanged files only every 30 minutes (`min_file_process_interval`,
  so an idle box with 1,250 files stays idle), yet a file rewritten by `gdx contracts generate` is
  re-parsed at once (its mtime is newer than its last parse);
* `common.default_args()` / `dag_kwargs()` callbacks fire under Airflow's own task runner and DAG
  run state machine (`dag.test()`): task_retry, task_failed, dag_failed reach the alert hook, with
  the task, run, try and log URL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gdx.orchestration.airflow_env import MIN_FILE_PROCESS_INTERVAL_S, airflow_env

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]

DAG_FILE = """
from datetime import datetime, timezone

from airflow.sdk import DAG, task

with DAG("gdx_parse_probe", description="{description}", schedule=None,
         start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)):
    @task
    def noop() -> None:
        pass

    noop()
"""


def _wait(what: str, probe: Callable[[], Any], timeout_s: float, log: Path) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: {log.read_text()[-3000:]}")


@dataclass
class AirflowDb:
    root: Path
    db_path: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> AirflowDb:
    root = tmp_path_factory.mktemp("airflow-ops")
    db_path = root / "airflow.db"
    env = {
        **os.environ,
        **airflow_env(root / "home", state_dir=root / "state", sql_alchemy_conn=f"sqlite:///{db_path}"),
    }
    migrate = subprocess.run([sys.executable, "-c", "from airflow.utils import db; db.upgradedb()"], env=env,
                             capture_output=True, text=True, timeout=240)  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    return AirflowDb(root, db_path, env)


def test_changed_file_is_reparsed_at_once_despite_the_long_interval(
    airflow_db: AirflowDb, tmp_path: Path
) -> None:
    assert MIN_FILE_PROCESS_INTERVAL_S >= 600
    dags = tmp_path / "dags"
    dags.mkdir()
    dag_file = dags / "gdx_parse_probe.py"
    dag_file.write_text(DAG_FILE.format(description="v1"))
    db_path = airflow_db.db_path
    env = {**airflow_db.env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
    log = tmp_path / "dag-processor.log"

    def description() -> str | None:
        with sqlite3.connect(db_path) as conn:
            row = conn.execute("select description from dag where dag_id = 'gdx_parse_probe'").fetchone()
        return row[0] if row else None

    with log.open("w") as fh:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("airflow")), "dag-processor"], env=env,
                                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        assert _wait("the first parse", lambda: description() == "v1", 120, log)
        time.sleep(1.1)  # a later mtime than the first parse's finish
        dag_file.write_text(DAG_FILE.format(description="v2"))
        t0 = time.monotonic()
        assert _wait("the re-parse of the changed file", lambda: description() == "v2", 60, log)
        reparsed_after = time.monotonic() - t0
        assert reparsed_after < MIN_FILE_PROCESS_INTERVAL_S / 10
        print(f"changed DAG file re-parsed after {reparsed_after:.1f} s")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


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

HOOK = """
import json, os

def notify(alert):
    with open(os.environ["PROBE_ALERTS"], "a") as fh:
        fh.write(json.dumps(alert.as_dict()) + "\\n")
"""


def test_callbacks_alert_under_airflows_task_runner(airflow_db: AirflowDb, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "gdx_callback_probe.py").write_text(CALLBACK_DAG)
    (tmp_path / "probe_hook.py").write_text(HOOK)
    out = tmp_path / "alerts.jsonl"
    env = {**airflow_db.env, "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "GDX_ALERT_HOOK": "probe_hook:notify",
           "PROBE_ALERTS": str(out), "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}  # fmt: skip
    done = subprocess.run([sys.executable, str(dags / "gdx_callback_probe.py")], env=env, capture_output=True,
                          text=True, timeout=240)  # fmt: skip
    got = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
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
