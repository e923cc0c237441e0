"""Fixtures shared by the integration modules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.airflow_fixtures import airflow_cluster  # noqa: F401 (a real multi-process Airflow)
from tests.integration.engine_lake import EngineLake, build_engine_lake


@pytest.fixture(scope="session")
def engine_lake(tmp_path_factory: pytest.TempPathFactory, kafka_cluster: Any) -> EngineLake:
    """The fixture records of every Kafka contract, published and landed by `gdx ingest` (built
    once per session; tests that change it copy it first)."""
    built = build_engine_lake(tmp_path_factory.mktemp("engine-lake"), kafka_cluster)
    print(f"\nengine lake: {sum(built.rows_landed.values())} records landed in {built.build_s:.1f} s")
    return built
