"""What an ingestion task runs inside Airflow: one dataset, with the run's params.

Kept apart from the DAG builders so the dispatcher, the per-agency DAGs and tests share one task
body. `params` (Airflow run params / conf) select the mode:

* `ingest` (default) — what is waiting on the topic (`gdx ingest <id>`);
* `replay_quarantine` — quarantined rows that pass the contract now (`gdx replay <id>
  --from-quarantine [--batch B]`), optional `batch`;
* `reset_offsets` with `reset` = `accept_gap` | `new_topic_generation` | `rewind_group` — the
  operator's decision on an offsets disagreement, recorded in the lake's resolutions and on the
  audit chain exactly as `gdx ingest <id> --accept-gap / --new-topic-generation / --rewind-group`
  records it, then ingest.

An offsets disagreement (the CLI's exit 4) is an `AirflowFailException` — a retry would stop at
the same place — whose message has the numbers and the params to trigger the agency DAG with,
and an `offsets_disagree` alert goes out. Unknown params fail before any work.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

log = logging.getLogger(__name__)

INGEST = "ingest"
REPLAY_QUARANTINE = "replay_quarantine"
RESET_OFFSETS = "reset_offsets"
MODES = (INGEST, REPLAY_QUARANTINE, RESET_OFFSETS)
RESETS = ("accept_gap", "new_topic_generation", "rewind_group")

NOISY_LOGGERS = ("kafka", "confluent_kafka", "great_expectations", "urllib3", "botocore", "s3transfer")
"""Client libraries whose INFO lines (connection handshakes, GX progress, HTTP pool notes) bury the
task's own summary; warnings and errors still come through."""


class ParamsError(ValueError):
    """The run's params ask for something this task does not do."""


def check_params(params: Mapping[str, Any] | None) -> tuple[str, str | None, str | None]:
    """(mode, reset, batch) from the run params, or `ParamsError` naming what is accepted."""
    params = params or {}
    mode = params.get("mode") or INGEST
    reset = params.get("reset") or None
    batch = params.get("batch") or None
    if mode not in MODES:
        raise ParamsError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")
    if mode == RESET_OFFSETS and reset not in RESETS:
        raise ParamsError(f"mode reset_offsets needs reset = one of {', '.join(RESETS)} (got {reset!r})")
    if mode != RESET_OFFSETS and reset is not None:
        raise ParamsError(f"reset={reset!r} is only for mode reset_offsets (mode is {mode!r})")
    if batch is not None and mode != REPLAY_QUARANTINE:
        raise ParamsError(f"batch={batch!r} is only for mode replay_quarantine (mode is {mode!r})")
    return mode, reset, batch


def run_dataset(contract_id: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run one dataset in the mode of `params`; returns counts and ids for XCom (never data)."""
    mode, reset, batch = check_params(params)
    with quiet_client_logs():
        if mode == REPLAY_QUARANTINE:
            return run_replay_task(contract_id, batch)
        if mode == RESET_OFFSETS:
            with _operator_is_the_run():
                return run_ingest_task(contract_id, reset=reset)
        return run_ingest_task(contract_id)


@contextlib.contextmanager
def quiet_client_logs(level: int = logging.WARNING) -> Iterator[None]:
    """Raise the client libraries' loggers to `level` for the block, then restore them."""
    saved = {name: logging.getLogger(name).level for name in NOISY_LOGGERS}
    try:
        for name in NOISY_LOGGERS:
            logging.getLogger(name).setLevel(level)
        yield
    finally:
        for name, old in saved.items():
            logging.getLogger(name).setLevel(old)


def run_ingest_task(contract_id: str, *, reset: str | None = None) -> dict[str, Any]:
    """The ingest task body: run, log the summary, return counts and ids for XCom."""
    from gdx.ingest.runner import NoTopic, OffsetsDisagree, run_ingest

    if reset is not None and reset not in RESETS:
        raise ParamsError(f"unknown reset {reset!r}: one of {', '.join(RESETS)}")
    flags = {name: name == reset for name in RESETS}
    try:
        summary = run_ingest(contract_id, **flags)
    except NoTopic as exc:  # a new contract nobody has published under yet: not a failure
        log.warning("%s", exc)
        return {"contract_id": contract_id, "topic": None, "rows_in": 0, "rows_landed": 0, "rows_quarantined": 0,
                "batch_ids": [], "gate_ran": False, "quarantined_by_rule": {}, "recovered_files": 0,
                "next_offsets": {}, "duration_s": 0.0, "reset": reset}  # fmt: skip
    except OffsetsDisagree as exc:
        raise _offsets_failure(contract_id, exc) from None
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
        "reset": reset,
    }


def run_replay_task(contract_id: str, batch: str | None = None) -> dict[str, Any]:
    """`replay_quarantine`: land quarantined rows that pass the contract now, exactly once."""
    from gdx.ingest.replay import run_replay

    summary = run_replay(contract_id, batch)
    log.info(
        "%s: replay from quarantine%s: files=%d considered=%d already=%d not_replayable=%d landed=%d",
        contract_id, f" (batch {batch})" if batch else "", summary.quarantine_files, summary.rows_considered,
        summary.rows_already_replayed, summary.rows_not_replayable, summary.rows_landed,
    )  # fmt: skip
    return {
        "contract_id": contract_id,
        "mode": REPLAY_QUARANTINE,
        "batch": batch,
        "quarantine_files": summary.quarantine_files,
        "rows_considered": summary.rows_considered,
        "rows_already_replayed": summary.rows_already_replayed,
        "rows_not_replayable": summary.rows_not_replayable,
        "rows_landed": summary.rows_landed,
        "rows_quarantined": 0,
        "still_failing": dict(summary.still_failing),
        "files": list(summary.files),
        # bronze files of a replay are batches like any other for the asset event and dbt
        "batch_ids": [f.rsplit("/", 1)[-1].removesuffix(".parquet") for f in summary.files],
        "gate_ran": True,
        "duration_s": round(summary.duration_s, 3),
    }


def resets_for(problem_kinds: set[str]) -> list[str]:
    """The `reset` values that resolve these `gdx.ingest.offsets` problem kinds (in the order the
    operator message offers them)."""
    from gdx.ingest import offsets

    out = []
    if problem_kinds & {offsets.TOPIC_RECREATED, offsets.BEYOND_LOG_END}:
        out.append("new_topic_generation")
    if problem_kinds and problem_kinds <= offsets.GAP_KINDS:
        out.append("accept_gap")
    if problem_kinds == {offsets.GROUP_AHEAD}:
        out.append("rewind_group")
    return out


def _offsets_failure(contract_id: str, exc: Exception) -> Exception:
    """AirflowFailException (no retries) with the CLI's message plus the Airflow way to resolve it,
    after an `offsets_disagree` alert."""
    import json

    from airflow.sdk.exceptions import AirflowFailException

    from gdx.orchestration import alerts

    agency, _, dataset = contract_id.partition(".")
    kinds = {pr.kind for pr in getattr(exc, "problems", [])}
    lines = [str(exc), "", f"In Airflow: trigger ingest_{agency} with one of these params (conf):"]
    for reset in resets_for(kinds):
        conf = {"datasets": [dataset], "mode": RESET_OFFSETS, "reset": reset}
        lines.append(f"  {json.dumps(conf)}")
    if not resets_for(kinds):
        lines.append("  (none: this needs a fix by hand, see above)")
    message = "\n".join(lines)
    ctx = _airflow_context()
    alerts.send(alerts.alert_from_context(alerts.OFFSETS_DISAGREE, ctx, message))
    failure = AirflowFailException(message)
    alerts.mark_alerted(failure)  # the task-failure callback then does not say it a second time
    return failure


def _airflow_context() -> dict[str, Any]:
    """The running task's context, or {} outside a task (the CLI, tests)."""
    try:
        from airflow.sdk import get_current_context

        return dict(get_current_context())
    except Exception:
        return {}


@contextlib.contextmanager
def _operator_is_the_run() -> Iterator[None]:
    """Resolutions record who decided (`GDX_OPERATOR`): in Airflow, the user who triggered the
    run and the run id, unless the deployment set GDX_OPERATOR itself."""
    if os.environ.get("GDX_OPERATOR"):
        yield
        return
    ctx = _airflow_context()
    dag_run = ctx.get("dag_run")
    if dag_run is None:
        yield
        return
    user = getattr(dag_run, "triggering_user_name", None) or "?"
    os.environ["GDX_OPERATOR"] = f"airflow:{user} ({dag_run.dag_id} {dag_run.run_id})"
    try:
        yield
    finally:
        os.environ.pop("GDX_OPERATOR", None)
