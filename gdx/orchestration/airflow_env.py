"""The Airflow settings of a GDX deployment, sized for the machine, as environment variables.

One function so `make`, `gdx demo`, the real-scheduler test harness and docker-compose agree.
`python -m gdx.orchestration.airflow_env airflow db migrate` runs a command with them (the
operator's own AIRFLOW__* variables win); without a command it lists them, secrets masked.

Sizing, for `cores` CPUs and `memory_bytes` of RAM (2 cores here):

* executor slots (`parallelism`): 2 per core, at most one per 512 MiB — LocalExecutor forks one
  worker per slot up front (Airflow's 32 forked 32 workers, 4.5 GB, on a 2-core box). An ingestion
  task is mostly waiting on Kafka and the lake, so 2 per core keeps the CPUs busy.
* `max_active_tasks_per_dag`: half the slots, so one agency with many datasets cannot starve the
  dispatcher or the other agencies; `max_active_runs_per_dag` 1 (our DAGs say so themselves too).
* dag-processor: DAG files change only on `gdx contracts generate`, and their shape never
  depends on the clock or the database, so parsing every file every 30 s (the default) is pure
  waste at 1,250 files: each is re-parsed every `MIN_FILE_PROCESS_INTERVAL_S`, while a file whose
  mtime changed is re-parsed at once (`file_parsing_sort_mode = modified_time`) and the folder is
  listed for new files every `REFRESH_INTERVAL_S`. One parsing process per 2 cores.
* scheduler: a 2 s idle sleep (default 1) — nothing we run needs sub-second scheduling — and more
  DAG runs created per loop, because one dispatcher run can queue hundreds of agency runs.
* api-server: 1 worker up to 2 cores (each is a full FastAPI process), then half the cores, max 4.

Secrets (`[api] secret_key`, `[api_auth] jwt_secret`) and the simple auth manager's passwords are
generated once into `<state dir>/airflow-secrets/` (mode 0600, never in code or git) and shared by
every component of the deployment, as Airflow requires. Users: `admin` (role admin, the UI) and
`gdx-ingest` (role op: posts the bronze Asset events of `gdx ingest`, triggers runs).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from gdx.settings import REPO_ROOT

MIN_FILE_PROCESS_INTERVAL_S = 1800
"""Amortised, a full parse every 30 min costs parse_time/30 per minute: ~1 CPU-s per idle minute if
1,250 agency files take 30 s to parse (the budget) — a tenth of the idle-cycle budget."""
REFRESH_INTERVAL_S = 60
SCHEDULER_IDLE_SLEEP_S = 2
DAGRUNS_TO_CREATE_PER_LOOP = 50
SLOT_MEMORY_BYTES = 512 * 1024**2
DEFAULT_API_PORT = 8080
API_USER = "gdx-ingest"
USERS = {"admin": "admin", API_USER: "op"}
SECRET_KEYS = ("AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET")


def secrets_dir(state_dir: Path) -> Path:
    return Path(state_dir) / "airflow-secrets"


def passwords_file(state_dir: Path) -> Path:
    """The simple auth manager's `{user: password}` file (Airflow's own format)."""
    return secrets_dir(state_dir) / "simple_auth_manager_passwords.json"


def _create_once(path: Path, text: str) -> None:
    """Create `path` (0600 from the first byte) unless it exists; two processes racing both end up
    reading the same complete file (written to a temp name, then hard-linked: exclusive and whole)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: theirs is the one everybody uses
    finally:
        tmp.unlink(missing_ok=True)


def deployment_secrets(state_dir: Path) -> dict[str, str]:
    """`secret_key` and `jwt_secret` of this deployment, generated on first use."""
    path = secrets_dir(state_dir) / "airflow.json"
    _create_once(
        path, json.dumps({"secret_key": secrets.token_urlsafe(32), "jwt_secret": secrets.token_urlsafe(48)})
    )
    return json.loads(path.read_text())


def user_passwords(state_dir: Path) -> dict[str, str]:
    """The passwords of `USERS`, generated on first use (the auth manager then uses ours instead of
    generating and printing its own)."""
    path = passwords_file(state_dir)
    _create_once(path, json.dumps({user: secrets.token_urlsafe(18) for user in USERS}) + "\n")
    return json.loads(path.read_text())


def sizing(cores: int, memory_bytes: int | None = None) -> dict[str, int]:
    """The machine-dependent numbers (see the module docstring)."""
    cores = max(1, cores)
    slots = 2 * cores
    if memory_bytes:
        slots = min(slots, memory_bytes // SLOT_MEMORY_BYTES)
    slots = max(2, slots)
    return {
        "parallelism": slots,
        "max_active_tasks_per_dag": max(1, slots // 2),
        "parsing_processes": max(1, cores // 2),
        "api_workers": 1 if cores <= 2 else min(4, cores // 2),
    }


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def airflow_env(
    airflow_home: Path,
    *,
    executor: str = "LocalExecutor",
    sql_alchemy_conn: str | None = None,
    cores: int | None = None,
    memory_bytes: int | None = None,
    state_dir: Path | None = None,
    api_port: int = DEFAULT_API_PORT,
) -> dict[str, str]:
    """AIRFLOW__* variables for this machine (`cores` defaults to the CPUs this process may use,
    `memory_bytes` to the machine's RAM, `state_dir` to GDX_STATE_DIR: where secrets live)."""
    if state_dir is None:
        from gdx.settings import Settings

        state_dir = Settings.from_env().state_dir
    cores = cores or len(os.sched_getaffinity(0))
    size = sizing(cores, memory_bytes if memory_bytes is not None else _memory_bytes())
    keys = deployment_secrets(state_dir)
    user_passwords(state_dir)
    env = {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__PARALLELISM": str(size["parallelism"]),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(size["max_active_tasks_per_dag"]),
        "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(state_dir)),
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(MIN_FILE_PROCESS_INTERVAL_S),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(REFRESH_INTERVAL_S),
        "AIRFLOW__DAG_PROCESSOR__FILE_PARSING_SORT_MODE": "modified_time",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": str(size["parsing_processes"]),
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": str(SCHEDULER_IDLE_SLEEP_S),
        "AIRFLOW__SCHEDULER__MAX_DAGRUNS_TO_CREATE_PER_LOOP": str(DAGRUNS_TO_CREATE_PER_LOOP),
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": str(size["api_workers"]),
        "AIRFLOW__API__SECRET_KEY": keys["secret_key"],
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
    }
    if sql_alchemy_conn:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = sql_alchemy_conn
    return env


def main(argv: list[str]) -> int:
    """`python -m gdx.orchestration.airflow_env [COMMAND…]`: run COMMAND with the environment
    (variables already set in the caller's environment win), or list it with secrets masked."""
    from gdx.settings import Settings

    home = Path(os.environ.get("AIRFLOW_HOME") or Settings.from_env().state_dir / "airflow")
    defaults = airflow_env(home)
    env = {**defaults, **os.environ}
    if argv:
        os.execvpe(argv[0], argv, env)
    for key in sorted(defaults):
        print(f"{key}={'***' if key in SECRET_KEYS else env[key]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
