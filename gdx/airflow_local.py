"""Airflow 3 as an operator runs it, on this machine: metadata on PostgreSQL, `airflow db migrate`,
the ingest pools imported, then api-server, scheduler, dag-processor and triggerer as separate
processes (LocalExecutor), talking to each other only through the database and the api-server's
execution API — the shape of a real deployment, not `dag.test()` or `airflow standalone`.

`LocalAirflow.env()` is `gdx.orchestration.airflow_env.airflow_env(...)` plus what only a
multi-process deployment needs: the execution API URL (workers reach the api-server there), one
JWT secret shared by every process (the scheduler signs task tokens that the api-server checks),
and the simple auth manager with a generated admin password. `AirflowClient` is the small REST
`/api/v2` client the tests and the demo drive it with (token from `/auth/token`).

Logs: `<home>/logs/<process>.log` per process (and Airflow's task logs under `<home>/logs`);
`LocalAirflow.log_tails()` is what a failing test prints.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdx.kafka_local import free_port
from gdx.settings import REPO_ROOT

PROCESSES = ("api-server", "scheduler", "dag-processor", "triggerer")
ADMIN = "admin"
POOLS_FILE = REPO_ROOT / "dags" / "ingest_pools.json"
HEALTH_TIMEOUT_S = 180.0
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"


class AirflowLocalError(RuntimeError):
    """The local Airflow could not be migrated, started or reached; the message has the log tails."""


def deployment_env(home: Path, sql_alchemy_conn: str, port: int, jwt_secret: str) -> dict[str, str]:
    """`airflow_env()` for a multi-process LocalExecutor deployment whose api-server is on `port`."""
    from gdx.orchestration.airflow_env import airflow_env

    env = airflow_env(home, executor="LocalExecutor", sql_alchemy_conn=sql_alchemy_conn)
    base = f"http://127.0.0.1:{port}"
    env.update(
        {
            # Airflow derives a postgresql+asyncpg URL for its async engine; asyncpg is not in the
            # lock and nothing this deployment calls needs it (only the dagRuns/wait endpoint and
            # multi-team do), so no async engine.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": "",
            # task workers fetch their context and report state through the api-server
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
            "AIRFLOW__API__BASE_URL": base,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            # the scheduler signs the task tokens the api-server verifies: one secret for all
            "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
            "AIRFLOW__API__SECRET_KEY": jwt_secret,
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        }
    )
    return env


@dataclass
class LocalAirflow:
    """The four Airflow processes of one deployment under `home`, metadata at `sql_alchemy_conn`.

    `gdx_env` is the GDX environment the tasks run with (contracts, lake, state, Kafka client
    files, PII key): it is passed to every process, as a deployment's env would be."""

    home: Path
    sql_alchemy_conn: str
    gdx_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.gdx_env,
            **deployment_env(self.home, self.sql_alchemy_conn, self.port, self.jwt_secret),
        }

    def _airflow(self, *args: str) -> list[str]:
        return [str(Path(sys.executable).with_name("airflow")), *args]

    def _once(self, name: str, *args: str, timeout: float = 600) -> None:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            done = subprocess.run(
                self._airflow(*args), env=self.env(), stdout=out, stderr=subprocess.STDOUT, timeout=timeout
            )
        if done.returncode != 0:
            raise AirflowLocalError(
                f"airflow {' '.join(args)} failed ({done.returncode})\n{self.log_tails([name])}"
            )

    def start(self, timeout: float = HEALTH_TIMEOUT_S) -> None:
        """Migrate, import the pools, start the four processes and wait until all are healthy."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # the simple auth manager keeps the passwords it uses in this file; ours is generated here
        passwords = self.home / "passwords.json"
        passwords.write_text(json.dumps({ADMIN: self.admin_password}) + "\n")
        passwords.chmod(0o600)
        self._once("db-migrate", "db", "migrate")
        self._once("pools-import", "pools", "import", str(POOLS_FILE))
        commands = {
            "api-server": ("api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"),
            "scheduler": ("scheduler",),
            "dag-processor": ("dag-processor",),
            "triggerer": ("triggerer",),
        }
        for name in PROCESSES:
            with (self.log_dir / f"{name}.log").open("ab") as out:
                # own session: stop() signals the process group (executor workers, uvicorn children)
                self.processes[name] = subprocess.Popen(
                    self._airflow(*commands[name]),
                    env=self.env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise

    def health(self) -> dict[str, Any] | None:
        import requests

        try:
            answer = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5)
        except requests.RequestException:
            return None
        return answer.json() if answer.status_code == 200 else None

    def wait_healthy(self, timeout: float = HEALTH_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        health: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            dead = [n for n, p in self.processes.items() if p.poll() is not None]
            if dead:
                raise AirflowLocalError(f"airflow {', '.join(dead)} exited\n{self.log_tails(dead)}")
            health = self.health()
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            if health and all((health.get(p) or {}).get("status") == "healthy" for p in parts):
                return health
            time.sleep(1)
        raise AirflowLocalError(f"Airflow not healthy after {timeout:.0f} s: {health}\n{self.log_tails()}")

    def log_tails(self, names: list[str] | None = None, lines: int = 40) -> str:
        out = []
        for name in names or [*PROCESSES, "db-migrate", "pools-import"]:
            log = self.log_dir / f"{name}.log"
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {log} ---\n" + "\n".join(tail))
        return "\n".join(out)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM every process group (Airflow shuts down gracefully on it), SIGKILL stragglers."""
        for proc in self.processes.values():
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)  # leftover children (task workers) of the group
            proc.wait()
        self.processes.clear()

    def client(self) -> AirflowClient:
        return AirflowClient(self.url, ADMIN, self.admin_password)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class AirflowClient:
    """The REST `/api/v2` calls an operator (or a test) makes; a JWT from `/auth/token`."""

    def __init__(self, url: str, username: str, password: str) -> None:
        import requests

        self.url = url.rstrip("/")
        self.session = requests.Session()
        answer = self.session.post(
            f"{self.url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        answer.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.session.request(method, f"{self.url}/api/v2{path}", timeout=30, **kwargs)
        if answer.status_code >= 400:
            raise AirflowLocalError(f"{method} {path}: {answer.status_code} {answer.text[:2000]}")
        return answer.json() if answer.content else None

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        answer = self.session.get(f"{self.url}/api/v2/dags/{dag_id}", timeout=30)
        return answer.json() if answer.status_code == 200 else None

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict[str, Any]:
        """Until the dag-processor has parsed and serialised `dag_id`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (dag := self.dag(dag_id)) is not None:
                return dag
            time.sleep(1)
        errors = self._call("GET", "/importErrors")
        raise AirflowLocalError(f"DAG {dag_id} not parsed after {timeout:.0f} s; import errors: {errors}")

    def unpause(self, dag_id: str) -> dict[str, Any]:
        return self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns", params={"order_by": "run_after", "limit": 100})[
            "dag_runs"
        ]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return self._call("GET", path, params={"limit": 1000})["task_instances"]

    def asset_events(self, **filters: Any) -> list[dict[str, Any]]:
        """`GET /assets/events` (filters: source_dag_id, source_run_id, source_task_id, asset_id)."""
        params = {"limit": 1000, "order_by": "timestamp", **filters}
        return self._call("GET", "/assets/events", params=params)["asset_events"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 300) -> dict[str, Any]:
        """Until the run is in a final state (success or failed)."""
        deadline = time.monotonic() + timeout
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = self.run(dag_id, run_id)
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(1)
        raise AirflowLocalError(f"{dag_id} run {run_id} still {run.get('state')} after {timeout:.0f} s")


@contextmanager
def local_airflow(
    home: Path, sql_alchemy_conn: str, gdx_env: dict[str, str] | None = None
) -> Iterator[LocalAirflow]:
    """A started, healthy deployment, stopped on exit."""
    airflow = LocalAirflow(home=home, sql_alchemy_conn=sql_alchemy_conn, gdx_env=gdx_env or {})
    airflow.start()
    try:
        yield airflow
    finally:
        airflow.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m gdx.airflow_local [--port N]`: a throwaway Postgres and the four Airflow processes
    with this checkout's GDX environment, until Ctrl-C (metadata is discarded on exit)."""
    import argparse

    from gdx.kafka_local import port_in_use
    from gdx.postgres_local import throwaway_postgres
    from gdx.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m gdx.airflow_local", description=main.__doc__)
    parser.add_argument("--port", type=int, default=8080, help="api-server port (UI, REST, execution API)")
    args = parser.parse_args(argv)
    port = args.port if not port_in_use(args.port) else free_port()
    home = Settings.from_env().state_dir / "airflow-local"
    home.mkdir(parents=True, exist_ok=True)
    with throwaway_postgres() as postgres:
        airflow = LocalAirflow(home=home, sql_alchemy_conn=postgres.url, port=port)
        print(
            f"starting Airflow (metadata on {postgres.url.split('@')[1]}, logs in {airflow.log_dir}) …",
            flush=True,
        )
        airflow.start()
        try:
            print(f"UI and REST API: {airflow.url}  (user {ADMIN}, password {airflow.admin_password})")
            print(f"execution API:   {airflow.url}/execution/")
            print("Ctrl-C stops every process and discards the metadata database.", flush=True)
            while all(p.poll() is None for p in airflow.processes.values()):
                time.sleep(2)
            dead = [n for n, p in airflow.processes.items() if p.poll() is not None]
            print(f"airflow {', '.join(dead)} exited\n{airflow.log_tails(dead)}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            airflow.stop()


if __name__ == "__main__":
    raise SystemExit(main())
