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
from hypothesis import settings as hypothesis_settings

# Property tests check behaviour, never speed: Hypothesis' default 200 ms deadline per example
# fails them on a loaded shared box (a first pythainlp import alone can take longer).
hypothesis_settings.register_profile("gdx", deadline=None)
hypothesis_settings.load_profile("gdx")

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


def _session_field_key() -> str:
    """A field-encryption key pair made for this test session only (configuration, never a file in
    the repo): producers under test encrypt personal data with it, ingestion decrypts with it."""
    import base64

    from nacl.bindings import crypto_box_keypair

    _public, secret = crypto_box_keypair()
    return f"k1:{base64.b64encode(secret).decode()}"


# An empty key folder, so a developer's own .gdx/keys/field never mixes into the tests.
os.environ["GDX_FIELD_KEYS_DIR"] = tempfile.mkdtemp(prefix="gdx-field-keys-test-")
os.environ.setdefault("GDX_FIELD_PRIVATE_KEYS", _session_field_key())
os.environ.pop("GDX_FIELD_PUBLIC_KEYS", None)


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
