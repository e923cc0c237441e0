"""Airflow DAG gdx_dispatch: every minute and on Kafka activity, one admin round over every topic
wakes the agency DAGs with new records (gdx.orchestration.dispatch_dag)."""

from gdx.orchestration.dispatch_dag import build_dispatch_dag

# event_driven: a stable choice written here, not an environment variable (see the module docstring)
dag = build_dispatch_dag(event_driven=True)
