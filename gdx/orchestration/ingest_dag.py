"""`run_ingest_task(contract_id)`: the body of one dataset's ingestion inside Airflow.

The per-dataset DAGs `ingest_<agency>__<dataset>` are gone: datasets are tasks `ingest__<dataset>`
of their agency's DAG (`gdx.orchestration.agency_dag`), woken by the dispatcher
(`gdx.orchestration.dispatch_dag`). What stays here is the `ingest` mode of
`gdx.orchestration.task_runtime.run_dataset`: the same code path as `gdx ingest`
(`gdx.ingest.runner.run_ingest`), returning counts and ids for XCom (never data).
"""

from __future__ import annotations

from typing import Any


def bronze_asset_uri(agency: str, dataset: str) -> str:
    return f"gdx://bronze/{agency}/{dataset}"


def run_ingest_task(contract_id: str) -> dict[str, Any]:
    """The `ingest` task body: run, log the summary, return counts and ids for XCom."""
    import logging

    from gdx.ingest.runner import NoTopic, run_ingest

    log = logging.getLogger(__name__)
    try:
        summary = run_ingest(contract_id)
    except NoTopic as exc:  # a new contract nobody has published under yet: not a failure
        log.warning("%s", exc)
        return {"contract_id": contract_id, "topic": None, "rows_in": 0, "rows_landed": 0, "rows_quarantined": 0,
                "batch_ids": [], "gate_ran": False, "quarantined_by_rule": {}, "recovered_files": 0,
                "next_offsets": {}, "duration_s": 0.0}  # fmt: skip
    log.info(
        "%s: in=%d landed=%d quarantined=%d batches=%d %.0f records/s",
        contract_id, summary.rows_in, summary.rows_landed, summary.rows_quarantined,
        len(summary.batches), summary.records_per_s,
    )  # fmt: skip
    return {
        "contract_id": summary.contract_id,
        "topic": summary.topic,
        "rows_in": summary.rows_in,
        "rows_landed": summary.rows_landed,
        "rows_quarantined": summary.rows_quarantined,
        "batch_ids": [b.batch_id for b in summary.batches],
        "gate_ran": summary.gate_ran,
        "quarantined_by_rule": dict(summary.quarantined_by_rule),
        "recovered_files": summary.recovered_files,
        "next_offsets": {str(k): v for k, v in summary.next_offsets.items()},
        "duration_s": round(summary.duration_s, 3),
    }
