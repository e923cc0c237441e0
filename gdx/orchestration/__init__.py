"""Airflow DAG builders: DAG files in dags/ stay thin and call these."""
