"""`gdx.orchestration.airflow_env`: sized for the machine, every variable one Airflow 3.3 knows,
secrets generated once (0600) into the state folder and never in the code."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from gdx.orchestration.airflow_env import (
    SECRET_KEYS,
    USERS,
    _memory_bytes,
    airflow_env,
    deployment_secrets,
    passwords_file,
    sizing,
    user_passwords,
)

GIB = 1024**3


def test_sizing_for_two_cores_and_bigger_boxes() -> None:
    assert sizing(2, 8 * GIB) == {
        "parallelism": 4,
        "max_active_tasks_per_dag": 2,
        "parsing_processes": 1,
        "api_workers": 1,
    }
    assert sizing(16, 64 * GIB) == {
        "parallelism": 32,
        "max_active_tasks_per_dag": 16,
        "parsing_processes": 8,
        "api_workers": 4,
    }
    # memory caps the forked workers (512 MiB each), never below 2
    assert sizing(8, 2 * GIB)["parallelism"] == 4
    assert sizing(1, GIB // 2)["parallelism"] == 2


def test_every_variable_is_an_option_of_the_installed_airflow(tmp_path: Path) -> None:
    import importlib.util

    # the installed Airflow's option list, read without importing Airflow (seconds on a busy box)
    package = Path(next(iter(importlib.util.find_spec("airflow").submodule_search_locations)))
    known = yaml.safe_load((package / "config_templates" / "config.yml").read_text())
    env = airflow_env(tmp_path / "home", cores=2, memory_bytes=8 * GIB, state_dir=tmp_path / "state",
                      sql_alchemy_conn="postgresql+psycopg2://u@localhost/af")  # fmt: skip
    for key in env:
        if key == "AIRFLOW_HOME":
            continue
        section, option = key.removeprefix("AIRFLOW__").lower().split("__")
        assert option in known[section]["options"], key
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4" and env["AIRFLOW__API__WORKERS"] == "1"
    assert env["AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES"] == "1"
    assert int(env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"]) >= 300  # not the default 30
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")


def test_airflow_reads_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.configuration import conf

    env = airflow_env(
        tmp_path / "home", cores=2, memory_bytes=8 * GIB, state_dir=tmp_path / "state", api_port=18080
    )
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert conf.getint("core", "parallelism") == 4
    assert conf.getint("core", "max_active_tasks_per_dag") == 2
    assert conf.getint("dag_processor", "refresh_interval") == int(
        env["AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL"]
    )
    assert conf.get("core", "execution_api_server_url") == "http://localhost:18080/execution/"
    assert conf.get("api_auth", "jwt_secret") == deployment_secrets(tmp_path / "state")["jwt_secret"]
    assert conf.get("core", "simple_auth_manager_users") == "admin:admin,gdx-ingest:op"


def test_secrets_are_generated_once_owner_only_and_shared(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with ThreadPoolExecutor(8) as pool:  # components starting at once all get the same secrets
        got = list(pool.map(lambda _: deployment_secrets(state), range(16)))
    assert all(g == got[0] for g in got) and len(got[0]["jwt_secret"]) >= 32
    assert got[0]["secret_key"] != got[0]["jwt_secret"]
    a = airflow_env(tmp_path / "h1", state_dir=state)
    b = airflow_env(tmp_path / "h2", state_dir=state)
    assert (
        [a[k] for k in SECRET_KEYS]
        == [b[k] for k in SECRET_KEYS]
        == [got[0]["secret_key"], got[0]["jwt_secret"]]
    )
    passwords = user_passwords(state)
    assert set(passwords) == set(USERS) and len(set(passwords.values())) == len(USERS)
    assert json.loads(passwords_file(state).read_text()) == passwords  # the auth manager's own format
    for path in (state / "airflow-secrets").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((state / "airflow-secrets").stat().st_mode) == 0o700
    assert not list((state / "airflow-secrets").glob(".*.tmp"))
    # a new state folder is a new deployment
    assert deployment_secrets(tmp_path / "other") != got[0]


def test_main_runs_a_command_with_the_env_and_lists_it_masked(tmp_path: Path) -> None:
    env = {**os.environ, "GDX_STATE_DIR": str(tmp_path / "state"), "AIRFLOW_HOME": str(tmp_path / "home")}
    env.pop("AIRFLOW__CORE__PARALLELISM", None)
    listed = subprocess.run([sys.executable, "-m", "gdx.orchestration.airflow_env"], env=env,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    secrets = deployment_secrets(tmp_path / "state")
    assert "AIRFLOW__API_AUTH__JWT_SECRET=***" in listed and secrets["jwt_secret"] not in listed
    code = "import os; print(os.environ['AIRFLOW__CORE__PARALLELISM'], os.environ['AIRFLOW__API_AUTH__JWT_SECRET'])"
    ran = subprocess.run([sys.executable, "-m", "gdx.orchestration.airflow_env", sys.executable, "-c", code],
                         env=env, capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    expected = sizing(len(os.sched_getaffinity(0)), _memory_bytes())["parallelism"]
    assert ran == [str(expected), secrets["jwt_secret"]]
    # the operator's own setting wins
    ran = subprocess.run([sys.executable, "-m", "gdx.orchestration.airflow_env", sys.executable, "-c", code],
                         env={**env, "AIRFLOW__CORE__PARALLELISM": "3"}, capture_output=True, text=True, check=True)  # fmt: skip
    assert ran.stdout.split()[0] == "3"
