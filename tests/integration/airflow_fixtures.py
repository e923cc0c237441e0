"""What the Airflow integration modules share.

* `airflow_cluster` (session): ONE real Airflow 3 deployment for every module that needs the real
  scheduler — metadata on a throwaway PostgreSQL, api-server, scheduler, dag-processor and triggerer
  as separate processes (`gdx.airflow_local`), every process with an isolated GDX environment
  (`make_env`: own contracts copy with unique topics, lake, state) on the session's secured broker.
  Besides the repository's DAGs it serves a second bundle of probe DAGs (`PROBE_DAGS`), and every
  process reports alerts to a probe hook (`GDX_ALERT_HOOK`) that appends them to `cluster.alerts`.
  It is stopped right after its last test (`tests/session_release.py`), not at session end.
* `ALERT_HOOK`, `read_alerts`: the alert hook the tests point `GDX_ALERT_HOOK` at.
* `process_group`, `wait_until`: a subprocess in its own session (stopped with its children) and
  a poll with the log tail in the failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gdx.airflow_local import AirflowClient, LocalAirflow
from gdx.contracts.generate import generate
from gdx.postgres_local import LocalPostgres, throwaway_postgres
from tests.integration.ingest_fixtures import IngestEnv, make_env
from tests.session_release import release_after_last_use

ALERT_HOOK = """
import json, os

def notify(alert):
    with open(os.environ["PROBE_ALERTS"], "a") as fh:
        fh.write(json.dumps(alert.as_dict()) + "\\n")
"""
"""`gdx_probe_hook.py`: GDX_ALERT_HOOK=gdx_probe_hook:notify appends each alert to $PROBE_ALERTS."""


def write_alert_hook(folder: Path) -> str:
    """The hook module in `folder` (which must be on the PYTHONPATH); returns its GDX_ALERT_HOOK."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gdx_probe_hook.py").write_text(ALERT_HOOK)
    return "gdx_probe_hook:notify"


def read_alerts(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


DEADLINE_PROBE_DAG = "gdx_deadline_probe"
DEADLINE_PROBE_MINUTES = 0.1
PARSE_PROBE_DAG = "gdx_parse_probe"
PARSE_PROBE_FILE = """
from datetime import datetime, timezone

from airflow.sdk import DAG, task

with DAG("gdx_parse_probe", description="{description}", schedule=None,
         start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)):
    @task
    def noop() -> None:
        pass

    noop()
"""
PROBE_DAGS = {
    # A run that outlasts its DeadlineAlert (the DAGs' own kwargs factory, a 6 s deadline): the task
    # waits until the test creates <release>/<run id>, so the run is unfinished when the deadline
    # passes, whatever the load.
    f"{DEADLINE_PROBE_DAG}.py": f'''
import time
from datetime import datetime, timezone
from pathlib import Path

from airflow.sdk import DAG, task

from gdx.orchestration.common import dag_kwargs, default_args

with DAG("{DEADLINE_PROBE_DAG}", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
         default_args=default_args(retries=0), **dag_kwargs(deadline_minutes={DEADLINE_PROBE_MINUTES})):
    @task
    def wait_for_release(**context) -> None:
        release = Path(context["dag_run"].conf["release_dir"]) / context["run_id"]
        give_up = time.monotonic() + 600
        while not release.exists():
            if time.monotonic() > give_up:
                raise TimeoutError(f"{{release}} never appeared")
            time.sleep(0.5)

    wait_for_release()
''',
    f"{PARSE_PROBE_DAG}.py": PARSE_PROBE_FILE.format(description="v1"),
}
"""The probe bundle's DAG files, written before the deployment starts (parsed with its first loop)."""


@dataclass
class AirflowCluster:
    airflow: LocalAirflow
    postgres: LocalPostgres
    env: IngestEnv
    client: AirflowClient
    probe_dags: Path
    """The second DAG bundle's folder (`PROBE_DAGS`)."""
    alerts: Path
    """Where the probe hook appends every alert any process of the deployment sends (JSON lines)."""

    def log_tails(self) -> str:
        return self.airflow.log_tails()

    def alerts_of(self, dag_id: str, run_id: str | None = None) -> list[dict[str, Any]]:
        return [
            a
            for a in read_alerts(self.alerts)
            if a["dag_id"] == dag_id and (run_id is None or a["run_id"] == run_id)
        ]


def _bundles(probe_dags: Path) -> str:
    """The repository's DAGs folder (Airflow's default bundle) plus the probe DAGs."""
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    return json.dumps(
        [
            {"name": "dags-folder", "classpath": local, "kwargs": {}},
            {"name": "gdx-test-probes", "classpath": local, "kwargs": {"path": str(probe_dags)}},
        ]
    )


@pytest.fixture(scope="session")
def airflow_cluster(
    tmp_path_factory: pytest.TempPathFactory, kafka_cluster: Any, request: pytest.FixtureRequest
) -> Iterator[AirflowCluster]:
    env = make_env(tmp_path_factory.mktemp("airflow-gdx"), kafka_cluster)
    # the world's generated artefacts, by the project's own generator: the contract catalog the dbt
    # build reads, and the DAGs and registry of this world's (unique) topics
    generate(root=env.root, contracts_dir=env.contracts_dir)
    # gdx_dispatch probes the topics of the registry; this world's registry names its own topics.
    env.env["GDX_REGISTRY_PATH"] = str(env.root / "dags" / "gdx_datasets.json")
    probes = tmp_path_factory.mktemp("airflow-probe-dags")
    for name, text in PROBE_DAGS.items():
        (probes / name).write_text(text)
    hook_dir = tmp_path_factory.mktemp("airflow-alert-hook")
    alerts = hook_dir / "alerts.jsonl"
    env.env.update(
        {
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": _bundles(probes),
            "GDX_ALERT_HOOK": write_alert_hook(hook_dir),
            "PROBE_ALERTS": str(alerts),
            "PYTHONPATH": os.pathsep.join(p for p in (str(hook_dir), os.environ.get("PYTHONPATH")) if p),
        }
    )
    with ExitStack() as stack:
        postgres = stack.enter_context(throwaway_postgres())
        airflow = LocalAirflow(
            home=tmp_path_factory.mktemp("airflow-home"), sql_alchemy_conn=postgres.url, gdx_env=env.env
        )
        airflow.start()
        stack.callback(airflow.stop)
        release_after_last_use(request, stack.close)
        yield AirflowCluster(airflow, postgres, env, airflow.client(), probes, alerts)


@contextmanager
def process_group(
    cmd: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`cmd` in its own session, output to `log`; on exit SIGTERM to its group, SIGKILL after 20 s."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def wait_until(what: str, probe: Callable[[], Any], timeout_s: float, tail: Callable[[], str]) -> Any:
    """`probe()`'s first truthy value, polled every 0.5 s; AssertionError with `tail()` on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = probe()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}\n{tail()}")
