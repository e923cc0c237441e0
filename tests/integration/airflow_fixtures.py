"""`airflow_cluster`: a real Airflow 3 deployment for one test module — metadata on a throwaway
PostgreSQL, api-server, scheduler, dag-processor and triggerer as separate processes
(`gdx.airflow_local`), every process with an isolated GDX environment (`make_env`: own contracts
copy with unique topics, lake, state) on the session's secured broker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gdx.airflow_local import AirflowClient, LocalAirflow
from gdx.contracts.generate import generate
from gdx.postgres_local import LocalPostgres, throwaway_postgres
from tests.integration.ingest_fixtures import IngestEnv, make_env


@dataclass
class AirflowCluster:
    airflow: LocalAirflow
    postgres: LocalPostgres
    env: IngestEnv
    client: AirflowClient

    def log_tails(self) -> str:
        return self.airflow.log_tails()


@pytest.fixture(scope="module")
def airflow_cluster(tmp_path_factory: pytest.TempPathFactory, kafka_cluster: Any) -> Iterator[AirflowCluster]:
    env = make_env(tmp_path_factory.mktemp("airflow-gdx"), kafka_cluster)
    # the world's generated artefacts, by the project's own generator: the contract catalog the dbt
    # build reads, and the DAGs and registry of this world's (unique) topics
    generate(root=env.root, contracts_dir=env.contracts_dir)
    # gdx_dispatch probes the topics of the registry; this world's registry names its own topics.
    # (gdx.orchestration.registry must honour GDX_REGISTRY_PATH for that: see the merge note.)
    env.env["GDX_REGISTRY_PATH"] = str(env.root / "dags" / "gdx_datasets.json")
    with throwaway_postgres() as postgres:
        airflow = LocalAirflow(
            home=tmp_path_factory.mktemp("airflow-home"), sql_alchemy_conn=postgres.url, gdx_env=env.env
        )
        airflow.start()
        try:
            yield AirflowCluster(airflow, postgres, env, airflow.client())
        finally:
            airflow.stop()
