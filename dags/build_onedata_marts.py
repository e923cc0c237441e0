"""Airflow DAG: dbt builds the One Data marts when bronze Assets update (logic in gdx.orchestration.build_dag)."""

from gdx.orchestration.build_dag import build_marts_dag

dag = build_marts_dag()
