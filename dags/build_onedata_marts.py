"""Airflow DAG: one dbt build of the marts downstream of changed bronze Assets (logic in gdx.orchestration.build_dag)."""

from gdx.orchestration.build_dag import build_marts_dag

# __file__: the registry next to this file, the bundle's own datasets, whatever checkout gdx is imported from.
dag = build_marts_dag(__file__)
