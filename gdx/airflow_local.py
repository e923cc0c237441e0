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


WATCHER_TIMEOUT_S = 120.0
WATCHED_ASSET_URIS = frozenset({"gdx://kafka/activity"})
"""Assets this project defines with an AssetWatcher (`gdx.orchestration.dispatch_dag.ACTIVITY_URI`;
not imported: this module must not need the DAG code to be importable)."""


def _asset_uris(expression: Any) -> set[str]:
    """Every asset URI in a DAG's `asset_expression` (nested `any`/`all` lists of `{"asset": …}`)."""
    if isinstance(expression, dict):
        asset = expression.get("asset")
        own = {asset["uri"]} if isinstance(asset, dict) and "uri" in asset else set()
        return own.union(*(_asset_uris(v) for k, v in expression.items() if k != "asset"))
    if isinstance(expression, list):
        return set().union(*(_asset_uris(v) for v in expression))
    return set()


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

    def trigger_started(self, trigger_id: int) -> bool:
        """Whether the triggerer's log says it started trigger `trigger_id` (a watcher's trigger is
        named `ID <id>` there) — the evidence a registered watcher really runs."""
        log = self.log_dir / "triggerer.log"
        return log.exists() and f"trigger ID {trigger_id} starting" in log.read_text(errors="replace")

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

    def unpause(self, dag_id: str, *, watcher_timeout: float = WATCHER_TIMEOUT_S) -> dict[str, Any]:
        """Unpause `dag_id`; if it is scheduled on an Asset with an AssetWatcher, also make the
        watcher run now (`ensure_watchers`) rather than at the next periodic parse of its file."""
        dag = self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        self.ensure_watchers(dag_id, timeout=watcher_timeout)
        return dag

    def pause(self, dag_id: str) -> dict[str, Any]:
        return self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": True})

    def dag_details(self, dag_id: str) -> dict[str, Any]:
        return self._call("GET", f"/dags/{dag_id}/details")

    def reparse(self, dag_id: str, details: dict[str, Any] | None = None) -> None:
        """`PUT /parseDagFile/{file_token}`: the dag-processor parses the DAG's file next, ahead of
        its `min_file_process_interval` (what the UI's "Reparse DAG" button does). `details`: the
        DAG's `/details`, when the caller has them already."""
        token = (details or self.dag_details(dag_id))["file_token"]
        self._call("PUT", f"/parseDagFile/{token}")

    def assets(self, **filters: Any) -> list[dict[str, Any]]:
        """`GET /assets` (filters: uri_pattern, dag_ids, …); each with its registered `watchers`."""
        return self._call("GET", "/assets", params={"limit": 1000, **filters})["assets"]

    def watched_assets(self, dag_id: str, details: dict[str, Any] | None = None) -> set[str]:
        """The URIs in `dag_id`'s schedule whose Asset definitions carry an AssetWatcher. Airflow's
        REST shows a watcher only once registered, so which URIs have one is the project's
        knowledge (`WATCHED_ASSET_URIS`); the schedule says whether this DAG uses them."""
        details = details or self.dag_details(dag_id)
        return _asset_uris(details.get("asset_expression")) & WATCHED_ASSET_URIS

    def ensure_watchers(self, dag_id: str, timeout: float = WATCHER_TIMEOUT_S) -> dict[str, list[dict]]:
        """Make the watchers of an unpaused `dag_id` run now; returns `{uri: watchers}` ({} when its
        schedule has no watched Asset).

        Airflow registers an AssetWatcher's trigger only while parsing a file whose DAG is already
        unpaused (`AssetModelOperation.add_asset_trigger_references`: assets of paused DAGs get no
        triggers). Unpausing does not parse, and our dag-processor re-parses a file only every
        `min_file_process_interval` (30 min, to spare CPU over 1,290 agency files), so the
        watcher would start up to 30 min late and only the minute schedule would land data until
        then. Hence a parse request for this DAG's file, then a wait until every watched Asset
        lists its watcher (its trigger row exists; the triggerer picks new triggers up within a
        few seconds) — or a clear error."""
        details = self.dag_details(dag_id)
        watched = self.watched_assets(dag_id, details)
        if not watched:
            return {}
        if details.get("is_paused"):
            raise AirflowLocalError(f"{dag_id} is paused: Airflow runs no watcher for a paused DAG")
        self.reparse(dag_id, details)
        deadline = time.monotonic() + timeout
        found: dict[str, list[dict]] = {}
        while True:
            found = {a["uri"]: a["watchers"] for a in self.assets(dag_ids=dag_id) if a["uri"] in watched}
            if all(found.get(uri) for uri in watched):
                return found
            if time.monotonic() > deadline:
                errors = self._call("GET", "/importErrors")
                raise AirflowLocalError(
                    f"{dag_id} unpaused and its file re-parse requested, but after {timeout:.0f} s no "
                    f"watcher is registered for {sorted(u for u in watched if not found.get(u))} "
                    f"(the dag-processor did not re-parse it, or the parse failed); import errors: {errors}"
                )
            time.sleep(1)

    def upstream_asset_events(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The Asset events a run consumed (`.../upstreamAssetEvents`)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents"
        return self._call("GET", path)["asset_events"]

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


def wait_for_quiet_minute(
    client: AirflowClient, dag_id: str, min_left_s: float = 35, timeout: float = 300
) -> float:
    """Until the run of the minute-scheduled `dag_id` for the current minute's tick has finished,
    no run is queued or running, and the next tick is at least `min_left_s` away; returns the
    seconds left. Data published then and landed before that tick can only have come through the
    event-driven path — which a test can then assert. (The tick's run must be seen done, not
    merely absent: the scheduler creates it a few seconds after the tick, and it would see the
    data.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.time()
        left, tick = 60 - now % 60, now - now % 60
        if left >= min_left_s:
            runs = client.runs(dag_id)
            ticked = any(r["run_type"] == "scheduled" and _epoch(r.get("run_after")) >= tick for r in runs)
            if ticked and not [r for r in runs if r["state"] in ("queued", "running")]:
                return left
        time.sleep(0.5)
    raise AirflowLocalError(
        f"{dag_id}: no minute whose tick run was done with {min_left_s:.0f} s left, within {timeout:.0f} s"
    )


def _epoch(value: str | None) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else 0.0


def dispatch_runs_behind(
    client: AirflowClient,
    ingest_dag: str,
    bronze_uri: str,
    after_event_id: int,
    dispatch_dag: str = "gdx_dispatch",
) -> list[dict[str, Any]]:
    """Which dispatcher runs caused the landings on `bronze_uri` after event `after_event_id`: the
    bronze events with rows → the `ingest_dag` runs that emitted them → the `gdx://incoming/…`
    events those runs consumed → the `dispatch_dag` runs that emitted them, each as
    `{run_id, run_type, watched_events}` (`watched_events`: the events on watched Assets, i.e.
    from an AssetWatcher, that the dispatcher run consumed). Sorted by run id."""
    bronze = [
        e
        for e in client.asset_events(source_dag_id=ingest_dag)
        if e["id"] > after_event_id and e["uri"] == bronze_uri and (e.get("extra") or {}).get("rows_landed")
    ]
    found: dict[str, dict[str, Any]] = {}
    for ingest_run in sorted({e["source_run_id"] for e in bronze}):
        for incoming in client.upstream_asset_events(ingest_dag, ingest_run):
            run_id = incoming.get("source_run_id")
            if incoming.get("source_dag_id") != dispatch_dag or not run_id or run_id in found:
                continue
            run = client.run(dispatch_dag, run_id)
            consumed = client.upstream_asset_events(dispatch_dag, run_id)
            found[run_id] = {
                "run_id": run_id,
                "run_type": run["run_type"],
                "watched_events": [c for c in consumed if c["uri"] in WATCHED_ASSET_URIS],
            }
    return [found[k] for k in sorted(found)]


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
