"""The real dag-processor under `airflow_env`'s settings: unchanged files are re-parsed only every
30 minutes (`min_file_process_interval`, so an idle box with 1,250 files stays idle), yet a file
rewritten by `gdx contracts generate` is re-parsed at once (its mtime is newer than its last
parse), so a changed DAG still shows up in seconds."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gdx.orchestration.airflow_env import MIN_FILE_PROCESS_INTERVAL_S, airflow_env

pytestmark = [pytest.mark.integration]

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


def test_changed_file_is_reparsed_at_once_despite_the_long_interval(tmp_path: Path) -> None:
    assert MIN_FILE_PROCESS_INTERVAL_S >= 600
    dags = tmp_path / "dags"
    dags.mkdir()
    dag_file = dags / "gdx_parse_probe.py"
    dag_file.write_text(DAG_FILE.format(description="v1"))
    db_path = tmp_path / "airflow.db"
    env = {
        **os.environ,
        **airflow_env(
            tmp_path / "home", state_dir=tmp_path / "state", sql_alchemy_conn=f"sqlite:///{db_path}"
        ),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
    }
    migrate = subprocess.run([sys.executable, "-c", "from airflow.utils import db; db.upgradedb()"], env=env,
                             capture_output=True, text=True, timeout=240)  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr[-3000:]
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
