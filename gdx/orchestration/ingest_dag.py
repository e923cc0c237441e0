"""`build_ingest_dag(contract_id)`: the Airflow 3 ingestion DAG of one contract.

The generated `dags/ingest_<agency>__<dataset>.py` is two lines; everything is here, and the work
itself is `gdx.ingest.runner.run_ingest` (the same code path as `gdx ingest`). Module import is
cheap: Airflow's task SDK and the contract YAML only; Kafka, pyarrow and Great Expectations are
imported inside the task.

    ingest ──► publish_bronze_asset (outlets=[gdx://bronze/<agency>/<dataset>])

`ingest` is idempotent — re-running it (retry, clear, two runs at once) never lands a record twice
(see `gdx.ingest.recovery`, `gdx.ingest.locking`) — and returns counts and batch ids only (XCom
never carries data). `publish_bronze_asset` emits the Asset event, with counts in its `extra`,
only when rows landed and the GX gate ran; otherwise it is skipped, and a skipped task emits no
asset event, so dbt's data-aware DAGs run only on new data.

Schedule: every 15 minutes (no catchup; a run ingests whatever is waiting, so missed intervals
need no backfill) and on demand. Event-driven variant (`GDX_INGEST_EVENT_DRIVEN=1`, or
`event_driven=True`): the same DAG is also triggered by an `AssetWatcher` whose
`KafkaMessageQueueTrigger` (apache-kafka provider via common.messaging) waits for a message on
the contract's topic — `AssetOrTimeSchedule`, so the 15-minute run stays as a safety net. It
needs the triggerer and an Airflow connection `gdx_kafka_watch__<agency>__<dataset>` (conn_type
kafka, extra = `watch_connection_extra(contract)`: the gdx-ingest principal's librdkafka settings
— bootstrap, SASL_SSL, SCRAM-SHA-512, user, password, CA file — plus `"group.id":
"gdx.watch.<contract id>"` and `"auto.offset.reset": "latest"`; one group per topic so watchers
never rebalance each other). The watcher's consumer group only detects activity: offsets that
count are the ingestion group's. The extra holds gdx-ingest's password: keep the connection in
Airflow's secrets backend or an `AIRFLOW_CONN_…` variable, never in git.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gdx.contracts.exporters.dag import ingest_pool
from gdx.orchestration.common import default_args
from gdx.orchestration.task_runtime import run_ingest_task  # noqa: F401 (moved there; kept for importers)

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from gdx.contracts.model import Contract

INTERVAL = timedelta(minutes=15)
START = datetime(2024, 1, 1, tzinfo=UTC)


def bronze_asset_uri(agency: str, dataset: str) -> str:
    return f"gdx://bronze/{agency}/{dataset}"


def _contract(contract_id: str) -> Contract:
    """Parse only this contract's file (cheap at DAG-parse time); fall back to a full load."""
    from gdx.contracts.model import get_contract, load_contract
    from gdx.settings import Settings

    agency, _, dataset = contract_id.partition(".")
    path = Settings.from_env().contracts_dir / agency / f"{dataset}.yaml"
    if path.is_file():
        contract = load_contract(path)
        if contract.id == contract_id:
            return contract
    return get_contract(contract_id)


def watch_group(contract: Contract) -> str:
    return f"gdx.watch.{contract.id}"


def watch_connection_extra(contract: Contract, connection: Any = None) -> dict[str, Any]:
    """The `extra` of the watcher's Airflow Kafka connection: the confluent-kafka consumer config,
    as the ingestion principal (`connection_for("gdx-ingest")` unless `connection` is given)."""
    if connection is None:
        from gdx.security.kafka_conn import connection_for
        from gdx.security.principals import INGEST

        connection = connection_for(INGEST)
    return {**connection.librdkafka(), "group.id": watch_group(contract), "auto.offset.reset": "latest"}


def kafka_message_signal(message: Any) -> str | None:
    """`apply_function` of the event-driven watcher: an event for any data record, carrying its
    coordinates only — the payload (personal data included) never enters the Airflow database."""
    if message.error() is not None or message.value() is None:
        return None
    return f"{message.topic()}:{message.partition()}:{message.offset()}"


def _event_driven(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    return os.environ.get("GDX_INGEST_EVENT_DRIVEN", "").strip().lower() in {"1", "true", "yes", "on"}


def _schedule(contract: Contract, event_driven: bool) -> Any:
    if not event_driven:
        return INTERVAL
    from airflow.providers.apache.kafka.triggers.msg_queue import KafkaMessageQueueTrigger
    from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, DeltaTriggerTimetable

    trigger = KafkaMessageQueueTrigger(
        topics=[contract.topic],
        kafka_config_id=f"gdx_kafka_watch__{contract.slug}",
        apply_function="gdx.orchestration.ingest_dag.kafka_message_signal",
        poll_timeout=1,
        poll_interval=5,
    )
    topic_asset = Asset(
        name=f"kafka.{contract.topic}",
        watchers=[AssetWatcher(name=f"watch_{contract.slug}", trigger=trigger)],
    )
    return AssetOrTimeSchedule(timetable=DeltaTriggerTimetable(INTERVAL), assets=[topic_asset])


def build_ingest_dag(contract_id: str, *, event_driven: bool | None = None) -> DAG:
    """The ingestion DAG `ingest_<agency>__<dataset>` of a (non-seed) contract."""
    from airflow.sdk import DAG, Asset, task
    from airflow.sdk.exceptions import AirflowSkipException

    contract = _contract(contract_id)
    if contract.is_seed:
        raise ValueError(f"{contract_id} is reference data (seed): it has no ingestion DAG")
    # name = uri: Airflow 3 identifies an asset by both, and the marts DAG declares it by URI alone.
    bronze = Asset(bronze_asset_uri(contract.agency, contract.dataset))
    driven = _event_driven(event_driven)
    with DAG(
        dag_id=f"ingest_{contract.slug}",
        description=f"{contract.topic} → bronze/{contract.agency}/{contract.dataset} (GX-gated, exactly once)",
        schedule=_schedule(contract, driven),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(hours=2),
        default_args=default_args(retries=2),
        tags=["gdx", "ingest", contract.agency, *contract.pilot_provinces],
        doc_md=(
            f"### {contract.title_en}\n\n{contract.title_th}\n\nContract `{contract.id}` v{contract.version}, "
            f"topic `{contract.topic}`, dead letters `{contract.dlq_topic}`. Lands "
            f"`bronze/{contract.agency}/{contract.dataset}/v{contract.major}` and quarantine; "
            f"emits `{bronze.uri}` when rows landed."
            + (" Triggered by messages on the topic (AssetWatcher) and every 15 min." if driven else "")
        ),
    ) as dag:
        # One slot per dataset (`dags/ingest_pools.json`, imported where Airflow is set up): Airflow
        # itself never starts two copies; the lake lease (gdx.ingest.lease) covers what it cannot.
        @task(
            task_id="ingest", execution_timeout=timedelta(hours=1), multiple_outputs=False,
            pool=ingest_pool(contract), pool_slots=1,
        )  # fmt: skip
        def ingest() -> dict[str, Any]:
            from gdx.orchestration.task_runtime import run_dataset

            return run_dataset(contract_id)

        @task(task_id="publish_bronze_asset", outlets=[bronze], multiple_outputs=False)
        def publish_bronze_asset(summary: dict[str, Any], **context: Any) -> dict[str, Any]:
            if not summary["gate_ran"] or summary["rows_landed"] == 0:
                raise AirflowSkipException("nothing landed: no asset event")
            extra = {k: summary[k] for k in ("contract_id", "rows_landed", "rows_quarantined", "batch_ids")}
            context["outlet_events"][bronze].extra = extra
            return extra

        publish_bronze_asset(ingest())
    return dag
