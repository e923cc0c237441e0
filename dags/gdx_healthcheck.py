"""Airflow DAG: platform health check — broker, lake and contracts (logic in gdx.orchestration.healthcheck)."""

from gdx.orchestration.healthcheck import build_healthcheck_dag

dag = build_healthcheck_dag()
