"""`build_agency_dag(agency, datasets=[...])`: the ingestion DAG `ingest_<agency>` of one agency.

The generated `dags/ingest_<agency>.py` holds the agency's dataset entries inline (exporter
`gdx.contracts.exporters.dag`), so parsing reads no file; Kafka, pyarrow and Great Expectations are
imported inside the tasks only.

    select (@task.branch) ──► ingest__<dataset>  (one task per dataset, its own one-slot pool,
                          ├─► ingest__<dataset>   outlets=[gdx://bronze/<agency>/<dataset>])
                          └─► …

Scheduled on the Asset `gdx://incoming/<agency>`, which the dispatcher `gdx_dispatch` emits (via
AssetAlias `gdx-incoming`) when the agency has new records, extra `{"datasets": [...], "lag":
{...}}`. `select` runs the datasets of `params.datasets` if given, else those named by the
triggering asset events, else all (a manual run); the others are skipped by the scheduler without
starting a process. An `ingest__<dataset>` task runs `task_runtime.run_dataset(contract_id,
params)` and raises AirflowSkipException when nothing landed, so a bronze Asset event (which
schedules dbt) means rows landed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gdx.orchestration.common import agency_dag_kwargs, default_args
from gdx.orchestration.registry import bronze_asset_uri

if TYPE_CHECKING:
    from airflow.sdk import DAG

START = datetime(2024, 1, 1, tzinfo=UTC)
MODES = ("ingest", "replay_quarantine", "reset_offsets")
RESETS = ("accept_gap", "new_topic_generation", "rewind_group")


def incoming_asset_uri(agency: str) -> str:
    return f"gdx://incoming/{agency}"


def task_id(dataset: str) -> str:
    return f"ingest__{dataset}"


def _event_extras(triggering: Any) -> list[Mapping[str, Any]]:
    """The `extra` of every triggering asset event (a TriggeringAssetEventsAccessor or a plain
    mapping asset → events)."""
    if not triggering:
        return []
    extras = []
    for asset in triggering:
        for event in triggering[asset]:
            extra = getattr(event, "extra", None)
            extras.append(extra if isinstance(extra, Mapping) else {})
    return extras


def selected_datasets(
    known: Sequence[str], params: Mapping[str, Any] | None, triggering: Any = None
) -> list[str]:
    """The datasets a run ingests: `params.datasets`, else the triggering events' `datasets`,
    else all. Unknown names in params fail loudly (an operator's typo must not be a silent no-op);
    unknown names in events (a dataset removed since the dispatcher ran) are dropped."""
    wanted = list((params or {}).get("datasets") or [])
    if wanted:
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise ValueError(
                f"params.datasets names datasets this agency does not have: {unknown}; known: {list(known)}"
            )
        return [d for d in known if d in set(wanted)]
    extras = _event_extras(triggering)
    named = {d for extra in extras for d in (extra.get("datasets") or [])}
    if named:
        return [d for d in known if d in named]
    return list(known)


def _params() -> dict[str, Any]:
    from airflow.sdk import Param

    return {
        "datasets": Param(
            [], type="array", items={"type": "string"},
            description="Datasets to run; empty: those of the triggering events, or all on a manual run.",
        ),
        "mode": Param("ingest", type="string", enum=list(MODES), description="What each selected task does."),
        "reset": Param(
            None, type=["null", "string"], enum=[None, *RESETS],
            description="With mode=reset_offsets: the operator's resolution of an offsets disagreement.",
        ),
        "batch": Param(None, type=["null", "string"], description="With mode=replay_quarantine: replay this batch only."),
    }  # fmt: skip


def _ingest_task(entry: Mapping[str, Any], agency: str) -> Any:
    from airflow.sdk import Asset, task
    from airflow.sdk.exceptions import AirflowSkipException

    contract_id = entry["id"]
    # name = uri: Airflow 3 identifies an asset by both, and the marts DAG declares it by URI alone.
    bronze = Asset(bronze_asset_uri(agency, entry["dataset"]))

    # One slot per dataset (`dags/ingest_pools.json`): Airflow itself never starts two copies;
    # the lake lease (gdx.ingest.lease) covers what it cannot.
    @task(
        task_id=task_id(entry["dataset"]), pool=entry["pool"], pool_slots=1, outlets=[bronze],
        execution_timeout=timedelta(hours=1), multiple_outputs=False,
        doc_md=f"{entry.get('title_en', '')}: `{entry['topic']}` → `{bronze.uri}`",
    )  # fmt: skip
    def ingest(**context: Any) -> dict[str, Any]:
        from gdx.orchestration.task_runtime import run_dataset

        summary = run_dataset(contract_id, dict(context["params"]))
        # counts and ids only: XCom and asset extras never carry data
        context["ti"].xcom_push(key="summary", value=summary)
        if not summary.get("rows_landed"):
            raise AirflowSkipException(f"{contract_id}: nothing landed, no asset event")
        keys = ("contract_id", "rows_landed", "rows_quarantined", "batch_ids")
        context["outlet_events"][bronze].extra = {k: summary[k] for k in keys if k in summary}
        return summary

    return ingest()


def build_agency_dag(agency: str, datasets: Iterable[Mapping[str, Any]]) -> DAG:
    """The DAG `ingest_<agency>` over the inline dataset entries (id, dataset, topic, pool, …)."""
    from airflow.sdk import DAG, Asset, task

    entries = sorted(datasets, key=lambda e: e["dataset"])
    if not entries:
        raise ValueError(f"agency {agency} has no Kafka dataset: it needs no ingestion DAG")
    names = [e["dataset"] for e in entries]
    provinces = sorted({p for e in entries for p in e.get("provinces") or ()})
    with DAG(
        dag_id=f"ingest_{agency}",
        description=f"{len(entries)} dataset(s) of {agency} → bronze (GX-gated, exactly once)",
        schedule=Asset(incoming_asset_uri(agency)),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=timedelta(hours=2),
        default_args=default_args(retries=2),
        params=_params(),
        **agency_dag_kwargs(),
        tags=["gdx", "ingest", agency, *provinces],
        doc_md=(
            f"### Ingestion of {agency}\n\nRuns on `{incoming_asset_uri(agency)}` (emitted by `gdx_dispatch` when "
            f"records wait) or on demand with `params.datasets`. Datasets: "
            + ", ".join(f"`{n}`" for n in names)
        ),
    ) as dag:

        @task.branch(task_id="select")
        def select(**context: Any) -> list[str]:
            chosen = selected_datasets(names, context["params"], context.get("triggering_asset_events"))
            return [task_id(d) for d in chosen]

        chooser = select()
        for entry in entries:
            chooser >> _ingest_task(entry, agency)
    return dag
