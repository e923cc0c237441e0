"""Shared fixtures: a real, throwaway Apache Kafka broker for the whole test session."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration when first imported, so the test session's Airflow home (SQLite
# metadata, task logs) is fixed here, before any test module imports airflow.
AIRFLOW_TEST_HOME = Path(tempfile.mkdtemp(prefix="gdx-airflow-test-"))
os.environ["AIRFLOW_HOME"] = str(AIRFLOW_TEST_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
# The dbt DAG file still runs `dbt parse` when imported (~10 s idle, 30 s+ on a loaded 2-core box;
# a manifest made at generate time removes that, issue 13): don't let load turn it into an error.
os.environ.setdefault("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "120")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real Kafka 4 broker (KRaft) on a free loopback port.

    With KAFKA_BOOTSTRAP_SERVERS set, the tests use that cluster instead and start nothing.
    """
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    from gdx.kafka_local import throwaway_broker

    with throwaway_broker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker.bootstrap


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A short name unique to this test, for topics and consumer groups that must not collide."""
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40]
    return f"t-{stem}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite Airflow metadata DB for `dag.test()`; returns the Airflow home."""
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return AIRFLOW_TEST_HOME
