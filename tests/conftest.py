"""Shared fixtures: a real, throwaway, secured Apache Kafka broker for the whole test session."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from tests.session_release import release_after_last_use, release_finished

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
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
# No DAG file runs dbt or reads contracts at import any more; the margin is for a loaded 2-core box
# importing Airflow's task SDK for the first time.
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


# With gdx.security.acls installed, the session broker gets the contracts' ACLs at start and each
# test grants its own contracts (`KafkaCluster.grant`); without it an agency or gdx-ingest may
# authenticate but is authorised for nothing, so `owner()`/`ingest` act as gdx-admin.
ACLS_AVAILABLE = importlib.util.find_spec("gdx.security.acls") is not None


@dataclass
class KafkaCluster:
    """The session's secured broker and how each principal connects to it.

    `connection("pcd")` is the agency pcd's own SASL_SSL/SCRAM connection, `.admin` the super
    user's; `.owner(contract)` is what a contract's producer uses (its owner agency) and `.ingest`
    what ingestion uses (gdx-ingest); `.plain` is an unauthenticated PLAINTEXT connection to the
    same port (which must be refused). `.env()` points a subprocess (`gdx …`, `airflow dags test`)
    at this broker with every principal's client file.
    """

    bootstrap: str
    broker: Any = None  # gdx.kafka_local.LocalBroker, None for an external cluster
    settings: Any = None  # gdx.settings.Settings of an external cluster
    acls: bool = ACLS_AVAILABLE
    cli: Any = None  # kafka_cluster3: the `gdx kafka up --brokers 3` run (tests.integration.cluster_cli)

    def connection(self, principal: str) -> Any:
        if self.broker is not None:
            return self.broker.connection(principal)
        from gdx.security.kafka_conn import connection_for

        return connection_for(principal, self.settings)

    @property
    def admin(self) -> Any:
        return self.connection("gdx-admin")

    @property
    def ingest(self) -> Any:
        return self.connection("gdx-ingest" if self.acls else "gdx-admin")

    def owner(self, contract: Any) -> Any:
        return self.connection(contract.agency if self.acls else "gdx-admin")

    @property
    def plain(self) -> Any:
        from gdx.security.kafka_conn import KafkaConnection

        return KafkaConnection.plain(self.bootstrap)

    def grant(self, contracts: Any) -> None:
        """Apply the ACLs a test-only contract (or a folder of contracts) implies: their topics
        (unique per test) are in no contract file of the repository. Additive: the shipped
        contracts' ACLs (applied when the session's broker starts) stay."""
        if not self.acls:
            return  # owner()/ingest act as gdx-admin until ACLs exist
        from gdx.contracts.model import Contract, load_all
        from gdx.security import acls

        if isinstance(contracts, str | Path):
            contracts = load_all(Path(contracts))
        elif isinstance(contracts, Contract):
            contracts = [contracts]
        acls.grant(self.admin, contracts, _registry())

    def env(self) -> dict[str, str]:
        """Environment variables that make `connection_for` resolve to this cluster's client files."""
        if self.broker is None:
            return {}  # an external cluster: the test process's own environment already says it
        if self.acls:
            return {"GDX_KAFKA_CLIENTS_DIR": str(self.broker.clients_dir)}
        return {"GDX_KAFKA_CLIENT_CONFIG": str(self.broker.clients_dir / "gdx-admin.properties")}


def _registry() -> Any:
    """The repository's agencies registry (a test's contracts copy may lack the seed)."""
    from gdx.agencies import load_agencies

    return load_agencies(REPO_ROOT / "contracts")


def _with_shipped_acls(cluster: KafkaCluster) -> KafkaCluster:
    """Grant what the repository's contracts imply (as `gdx kafka up` does) before any test."""
    if cluster.acls:
        from gdx.contracts.model import load_all
        from gdx.security import acls

        acls.grant(cluster.admin, load_all(REPO_ROOT / "contracts"), _registry())
    return cluster


@pytest.fixture(scope="session")
def kafka_cluster(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[KafkaCluster]:
    """A real Kafka 4 broker (KRaft) on a free loopback port, secure as `gdx kafka up` starts it
    (SASL_SSL + SCRAM-SHA-512, StandardAuthorizer, deny by default), every principal provisioned.

    With an existing cluster configured in the environment (KAFKA_BOOTSTRAP_SERVERS with
    KAFKA_SECURITY_PROTOCOL/KAFKA_SASL_*, or GDX_KAFKA_CLIENTS_DIR with one file per principal),
    the tests use it instead and start nothing.
    """
    from gdx.settings import Settings

    settings = Settings.from_env()
    if settings.external_kafka:
        from gdx.security.kafka_conn import connection_for

        yield _with_shipped_acls(
            KafkaCluster(connection_for("gdx-admin", settings).bootstrap, settings=settings)
        )
        return
    from gdx.kafka_local import throwaway_broker

    with ExitStack() as stack:
        broker = stack.enter_context(throwaway_broker(tmp_path_factory.mktemp("kafka"), settings))
        release_after_last_use(request, stack.close)
        yield _with_shipped_acls(KafkaCluster(broker.bootstrap, broker=broker))


@pytest.fixture(scope="session")
def kafka_cluster3(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[KafkaCluster]:
    """Three secured KRaft nodes started by `gdx kafka up --brokers 3` itself (every principal
    provisioned, the contracts' ACLs applied), stopped by `gdx kafka down`; only for the tests that
    ask for it (40-90 s to start on a loaded 2-core box). `.broker` is the `LocalCluster`, whose
    `.node(id)` a fault test kills and restarts; `.cli` the `gdx` run that started it."""
    from gdx.settings import Settings
    from tests.integration.cluster_cli import cli_cluster

    if Settings.from_env().external_kafka:
        pytest.skip("an existing cluster is configured: the three-broker tests start their own")
    with ExitStack() as stack:
        started = stack.enter_context(cli_cluster(tmp_path_factory.mktemp("kafka3")))
        release_after_last_use(request, stack.close)
        print(f"\nthree-broker cluster up in {started.seconds:.1f}s: {started.cluster.bootstrap}")
        yield KafkaCluster(started.cluster.bootstrap, broker=started.cluster, cli=started)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real S3-compatible server (S3Proxy from Maven Central, `gdx.s3_local`) on a free loopback
    port with its own generated credentials and one bucket; `.env(prefix)` points a lake at it."""
    from gdx.s3_local import throwaway_s3

    with throwaway_s3(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A short name unique to this test, for topics and consumer groups that must not collide."""
    stem = "".join(c if c.isalnum() else "-" for c in request.node.name)[:40]
    return f"t-{stem}-{uuid.uuid4().hex[:8]}"


IMPORT_POOLS = (
    "import sys; from airflow.cli.commands.pool_command import pool_import_helper; "
    "pools, failed = pool_import_helper(sys.argv[1]); assert pools and not failed, failed"
)
"""`airflow pools import FILE`'s own code, for a script that already runs Airflow: importing Airflow
is most of any Airflow command's cost (~6.5 CPU-s), so a second interpreter only for the pools
doubles it."""


@pytest.fixture(scope="session")
def airflow_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Airflow metadata DB (SQLite) migrated once per session, with the one-slot ingest pools (as
    `make airflow-db` and the demo create them); every module that needs its own DB copies this
    file (`copy_airflow_db`) instead of migrating again. The schema does not depend on the settings
    the copies are later used with."""
    path = tmp_path_factory.mktemp("airflow-sqlite-template") / "airflow.db"
    env = {**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{path}"}
    code = f"from airflow.utils import db; db.upgradedb()\n{IMPORT_POOLS}"
    done = subprocess.run(
        [sys.executable, "-c", code, str(REPO_ROOT / "dags" / "ingest_pools.json")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return path


def copy_airflow_db(template: Path, dest: Path) -> Path:
    """A private copy of the session's migrated metadata DB at `dest` (nothing shared after it)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, dest)
    return dest


@pytest.fixture(scope="session")
def airflow_db(airflow_sqlite_template: Path) -> Path:
    """A migrated SQLite Airflow metadata DB (with the ingest pools) for `dag.test()`; returns the
    Airflow home."""
    copy_airflow_db(airflow_sqlite_template, AIRFLOW_TEST_HOME / "airflow.db")
    return AIRFLOW_TEST_HOME


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    result = yield
    release_finished(item)  # brokers and deployments no later test needs (tests/session_release.py)
    return result


def pytest_sessionstart(session: pytest.Session) -> None:
    from tests.integration.fault_matrix import MATRIX_FILE

    MATRIX_FILE.unlink(missing_ok=True)  # the table is of this run only


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the fault matrix this run measured (tests/integration/fault_matrix.py)."""
    import json

    from tests.integration.fault_matrix import MATRIX_FILE, table

    if not MATRIX_FILE.exists():
        return
    rows = [json.loads(line) for line in MATRIX_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    if rows:
        terminalreporter.section("fault matrix (README › Reliability)")
        terminalreporter.write_line(table(rows))
