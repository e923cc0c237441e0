"""Docker is not on the CI machines, so check what can be checked: the compose file's shape."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_names_the_services_it_promises() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "postgres", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
            "airflow-triggerer"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    assert "KRaft" in (ROOT / "docker-compose.yml").read_text()
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_airflow_services_use_postgres_and_the_mounted_repo() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        service = compose["services"][name]
        env = service["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert "./:/opt/gdx" in service["volumes"]
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/gdx/dags"
    dockerfile = (ROOT / compose["x-airflow"]["build"]["dockerfile"]).read_text()
    assert "requirements.lock" in dockerfile and "apache/airflow:3." in dockerfile
