"""`build_dispatch_dag()`: the dispatcher `gdx_dispatch`, the one DAG that looks at Kafka.

Instead of a timetable per dataset (8,000 DAG runs a quarter hour, most finding nothing), one DAG
runs every minute (no catchup, one run at a time) and its one task `plan` makes one admin round
over every topic of the registry (`gdx.orchestration.offsets_probe.probe`: end offsets of all
partitions + committed offsets of the ingest groups, batched). For each agency with new records it
emits, through AssetAlias `gdx-incoming`, an event on `gdx://incoming/<agency>` with extra
`{"datasets": [...], "lag": {<dataset>: n}}` (names and counts only); that Asset schedules the
agency's DAG `ingest_<agency>`, whose `select` runs just those datasets. An idle minute is one
short task, no DAG run per dataset.

Event-driven mode adds the Asset `gdx://kafka/activity`, fed by ONE AssetWatcher whose
`KafkaActivityTrigger` (in the triggerer) fires once per burst of records, so new data is planned
within seconds; the minute schedule stays as the safety net (AssetOrTimeSchedule).

Where the switch lives, and why not an environment variable: a parse-time env var makes the DAG's
shape depend on which process parsed it (a dag-processor with the variable, a worker or `airflow
dags test` without) and from one parse to the next, which re-serializes the DAG and re-creates
its watchers. The choice is instead an argument written in the DAG file, `dags/gdx_dispatch.py`
(`build_dispatch_dag(event_driven=True)`): stable across parses and processes, reviewed in git
like any code change. Without a running triggerer the watcher simply never fires and the minute
schedule does the work, so event-driven is the default there.

When the watcher starts: Airflow registers an AssetWatcher's trigger only while parsing the file of
an unpaused DAG, and this DAG starts paused; unpausing alone parses nothing, and files are
re-parsed only every `min_file_process_interval` (30 min). So whoever unpauses it also asks for a
re-parse of this file: `gdx.airflow_local.AirflowClient.unpause` does (and waits until the watcher
is listed), an operator in the UI presses "Reparse DAG" (README, "Running Airflow locally").
Not `is_paused_upon_creation=False`: it would register the watcher on the first parse, but also
start a dispatcher every minute on every new deployment (and in the shared test deployment)
before anyone chose to, and after an auto-pause (5 failed runs) the re-parse is needed anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdx.orchestration.agency_dag import incoming_asset_uri
from gdx.orchestration.common import default_args, dispatch_dag_kwargs
from gdx.orchestration.registry import load_registry, registry_path

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from gdx.orchestration.registry import DatasetEntry

ACTIVITY_URI = "gdx://kafka/activity"
ALIAS = "gdx-incoming"
START = datetime(2024, 1, 1, tzinfo=UTC)
CRON = "* * * * *"
REGISTRY_NAME = "gdx_datasets.json"


def plan_incoming(entries: Iterable[DatasetEntry], connection: Any = None) -> dict[str, dict[str, Any]]:
    """Per agency with new records: `{"datasets": [...], "lag": {dataset: n}}` from one admin round."""
    from gdx.orchestration.offsets_probe import probe

    entries = list(entries)
    lags = probe(entries, connection).with_new_data()
    out: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.id in lags:
            extra = out.setdefault(entry.agency, {"datasets": [], "lag": {}})
            extra["datasets"].append(entry.dataset)
            extra["lag"][entry.dataset] = lags[entry.id]
    return out


def registry_beside(dag_file: str | None) -> Path | None:
    """The registry generated next to the DAG files (`<dags>/gdx_datasets.json`), so a dags folder
    (a deployment, a test or scale world) plans over its own datasets; None: the default one."""
    if dag_file:
        candidate = Path(dag_file).with_name(REGISTRY_NAME)
        if candidate.is_file():
            return candidate
    return None


def _schedule(event_driven: bool) -> Any:
    from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable

    every_minute = CronTriggerTimetable(CRON, timezone="UTC")
    if not event_driven:
        return every_minute
    from gdx.orchestration.kafka_activity import KafkaActivityTrigger

    activity = Asset(
        ACTIVITY_URI, watchers=[AssetWatcher(name="gdx_kafka_activity", trigger=KafkaActivityTrigger())]
    )
    return AssetOrTimeSchedule(timetable=every_minute, assets=[activity])


def build_dispatch_dag(*, event_driven: bool = True) -> DAG:
    from airflow.sdk import DAG, Asset, AssetAlias, task

    alias = AssetAlias(ALIAS)
    with DAG(
        dag_id="gdx_dispatch",
        description="One admin round over every topic → gdx://incoming/<agency> for agencies with new records",
        schedule=_schedule(event_driven),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(minutes=10),
        default_args=default_args(retries=1),
        tags=["gdx", "dispatch"],
        **dispatch_dag_kwargs(),
        doc_md=__doc__,
    ) as dag:

        @task(task_id="plan", outlets=[alias], execution_timeout=timedelta(minutes=5))
        def plan(**context: Any) -> dict[str, int]:
            incoming = plan_incoming(load_registry(registry_path(registry_beside(context["dag"].fileloc))))
            for agency, extra in sorted(incoming.items()):
                context["outlet_events"][alias].add(Asset(incoming_asset_uri(agency)), extra=extra)
            return {"agencies": len(incoming), "datasets": sum(len(e["datasets"]) for e in incoming.values())}

        plan()
    return dag
