"""The env a multi-process local Airflow needs on top of airflow_env(): workers must reach the
api-server's execution API, and every process must share one JWT secret."""

from __future__ import annotations

from pathlib import Path

from gdx.airflow_local import LocalAirflow, deployment_env


def test_deployment_env_points_workers_at_the_api_server(tmp_path: Path) -> None:
    env = deployment_env(tmp_path, "postgresql+psycopg2://u:p@127.0.0.1:5999/airflow", 8123, "s3cret")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8123/execution/"
    assert env["AIRFLOW__API__PORT"] == "8123" and env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "s3cret"
    assert env["AIRFLOW_HOME"] == str(tmp_path)
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] == str(tmp_path / "passwords.json")


def test_each_deployment_gets_its_own_secrets_and_port(tmp_path: Path) -> None:
    a = LocalAirflow(home=tmp_path / "a", sql_alchemy_conn="postgresql+psycopg2://x")
    b = LocalAirflow(home=tmp_path / "b", sql_alchemy_conn="postgresql+psycopg2://x")
    assert a.admin_password != b.admin_password and a.jwt_secret != b.jwt_secret
    assert len(a.admin_password) >= 20 and len(a.jwt_secret) >= 40
    env = a.env()
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == a.jwt_secret
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"http://127.0.0.1:{a.port}/execution/"
