"""`gdx_healthcheck`: can the platform reach its broker, lake and contracts? Run it first when in doubt."""

from __future__ import annotations

from datetime import datetime

from gdx.orchestration.common import default_args


def check_platform() -> dict[str, object]:
    """Fail loudly if Kafka does not answer, the lake is not writable or a contract does not load."""
    from gdx.contracts import load_all
    from gdx.ingest.lakefs import Lake
    from gdx.kafka_local import answers
    from gdx.security.kafka_conn import connection_for
    from gdx.security.principals import INGEST
    from gdx.settings import Settings

    settings = Settings.from_env()
    conn = connection_for(INGEST, settings)  # the identity the ingestion DAGs use
    bootstrap = conn.bootstrap
    if not answers(conn):
        raise RuntimeError(f"Kafka does not answer at {bootstrap} as {INGEST} ({conn.security_protocol})")
    lake = Lake(settings.lake_root)  # local or S3, configured exactly as ingestion's
    probe = lake.abs("_healthcheck/probe")
    if lake.local:
        lake.fs.create_dir(probe.rsplit("/", 1)[0], recursive=True)
    with lake.fs.open_output_stream(probe) as out:
        out.write(b"ok")
    lake.delete("_healthcheck/probe")
    contracts = load_all(settings.contracts_dir)
    return {"bootstrap": bootstrap, "lake_root": settings.lake_root, "contracts": len(contracts)}


def build_healthcheck_dag():
    from airflow.sdk import DAG, task

    with DAG(
        dag_id="gdx_healthcheck",
        description="Checks that Kafka answers, the lake is writable and every contract loads.",
        schedule=None,
        start_date=datetime(2024, 1, 1),
        catchup=False,
        default_args=default_args(retries=0),
        tags=["gdx", "ops"],
    ) as dag:

        @task
        def platform() -> dict[str, object]:
            return check_platform()

        platform()
    return dag
