"""Latencies under the real scheduler: publish → landed (event-driven), and the incremental dbt DAG.

One deployment as an operator runs it (`gdx.airflow_local`: api-server, scheduler, dag-processor
and triggerer on a throwaway PostgreSQL, LocalExecutor) over the project's real contracts and DAG
bundle, on a throwaway secured broker (`gdx.kafka_local.throwaway_broker`, every principal and ACL
provisioned from the contracts). Steps:

0. `gdx_dispatch` unpaused (`AirflowClient.unpause` also has its file re-parsed and waits until the
   activity watcher is registered) and `ingest_dga`, the pace of the activity trigger left to settle
   (`--idle-s`), then — early in a minute, no dispatcher run active — `--records` valid records of
   `dga.eservice_transactions_daily` published as the agency; the clock runs from the producer's last
   ack until the lake's ledger holds all of them (`event_landing_s`, budget 60 s). The figure counts
   only if the landing came from the activity trigger: the bronze events → the ingest runs → the
   `gdx://incoming/dga` events they consumed → the dispatcher runs that emitted them must all be
   asset_triggered runs that consumed a watcher event (`gdx.airflow_local.dispatch_runs_behind`);
   otherwise the value is null and the note says which runs it was. Then both DAGs are paused again;
1. the other datasets' fixture lake, landed by the engine itself (`gdx.testing.bronze_fixtures`),
   and a full build (`build_onedata_marts` triggered with `full`), so a warehouse, a watermark and
   dbt's partial-parse state (`<state>/dbt/target`, kept per deployment) exist;
2. `--runs` times: one more landed batch of `pcd.air_quality_hourly` (`bench.bronze_gen`, in the
   bronze layout with its ledger row), then the bronze Asset event posted over REST as `gdx ingest`
   posts it; the clock runs from the POST to the end of `publish_marts`.

Rows: `dbt_dag_incremental_s` (the slowest incremental run; budget 60 s) with the breakdown
(event → run queued, task queue waits, each task's own duration, dbt's own elapsed), the full
build's duration, and the load average at the start and the end (wall figures on a shared box
are noisy; the task durations say where the time went).

Standalone: `python -m bench.dag_latency [--runs 2]` (a few minutes: Airflow start, a full build).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

DAG_ID = "build_onedata_marts"
DISPATCH_DAG = "gdx_dispatch"
DATASET = "pcd.air_quality_hourly"
PUBLISHED = "dga.eservice_transactions_daily"
BUDGET_S = 60.0
LANDING_BUDGET_S = 60.0
EXTRA_ROWS = 2_000


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _wait_new_run(client: Any, known: set[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [r for r in client.runs(DAG_ID) if r["dag_run_id"] not in known]
        if fresh:
            return client.wait_run(
                DAG_ID, fresh[0]["dag_run_id"], timeout=max(1.0, deadline - time.monotonic())
            )
        time.sleep(0.5)
    raise RuntimeError(f"no {DAG_ID} run within {timeout:.0f} s of the event")


def _breakdown(client: Any, run: dict[str, Any], posted: float) -> dict[str, Any]:
    tis = {t["task_id"]: t for t in client.task_instances(DAG_ID, run["dag_run_id"])}
    out: dict[str, Any] = {"state": run["state"], "run_id": run["dag_run_id"]}
    queued = _ts(run.get("queued_at")) or _ts(run.get("start_date"))
    out["event_to_run_queued_s"] = round(queued - posted, 1) if queued else None
    previous_end = _ts(run.get("start_date"))
    for task in ("plan", "dbt_build", "publish_marts"):
        ti = tis.get(task, {})
        start, end = _ts(ti.get("start_date")), _ts(ti.get("end_date"))
        out[f"{task}_state"] = ti.get("state")
        out[f"{task}_s"] = round(end - start, 1) if start and end else None
        out[f"{task}_wait_s"] = round(start - previous_end, 1) if start and previous_end else None
        previous_end = end or previous_end
    publish_end = _ts(tis.get("publish_marts", {}).get("end_date"))
    out["event_to_publish_s"] = round(publish_end - posted, 1) if publish_end else None
    return out


def _ledger_rows(lake: Path, contract_id: str) -> int:
    import pyarrow.parquet as pq

    agency, _, dataset = contract_id.partition(".")
    files = (lake / "ledger" / agency / dataset).glob("*.parquet")
    return sum(int(sum(pq.read_table(f, columns=["rows_landed"]).column(0).to_pylist())) for f in files)


def _settle(client: Any, dag_id: str, timeout: float = 900) -> None:
    """Until no run of `dag_id` is queued or running (a stray run must not be mistaken for ours)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [r for r in client.runs(dag_id) if r["state"] in ("queued", "running")]:
            return
        time.sleep(1)
    raise RuntimeError(f"{dag_id} still has active runs after {timeout:.0f} s")


def measure_landing(client: Any, broker: Any, lake: Path, records: int, idle_s: float) -> dict[str, Any]:
    """Publish → every record in the ledger, with the event-driven dispatcher (step 0)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    from gdx.airflow_local import dispatch_runs_behind, wait_for_quiet_minute
    from gdx.contracts.model import load_all
    from gdx.orchestration.offsets_probe import admin_client
    from gdx.producer.pipeline import publish_records
    from gdx.producer.publish import PublishOptions
    from gdx.sample import valid_records
    from gdx.settings import REPO_ROOT

    contract = load_all(REPO_ROOT / "contracts")[PUBLISHED]
    ingest_dag = f"ingest_{contract.agency}"
    admin: AdminClient = admin_client(broker.connection())
    for future in admin.create_topics([NewTopic(contract.topic, 3, 1)]).values():
        future.result()
    for dag_id in (DISPATCH_DAG, ingest_dag):
        client.wait_for_dag(dag_id, timeout=300)
    t = time.monotonic()
    client.unpause(DISPATCH_DAG)  # + a re-parse request, until the activity watcher is registered
    watcher_s = time.monotonic() - t
    client.unpause(ingest_dag)
    time.sleep(idle_s)  # the trigger backs off to its idle pace; the minute schedule runs meanwhile
    _settle(client, DISPATCH_DAG)
    _settle(client, ingest_dag)
    # published early in a minute with no dispatcher run active: a landing before the next tick
    # can only be the watcher's doing, and dispatch_runs_behind() below says which run it was
    left_s = wait_for_quiet_minute(client, DISPATCH_DAG)
    before = _ledger_rows(lake, PUBLISHED)
    bronze_uri = f"gdx://bronze/{contract.agency}/{contract.dataset}"
    bronze_before = max((e["id"] for e in client.asset_events(source_dag_id=ingest_dag)), default=0)
    known = {r["dag_run_id"] for r in client.runs(DISPATCH_DAG)}
    result = publish_records(
        contract, list(valid_records(contract.id, records, seed=33)), broker.connection(contract.agency),
        PublishOptions(create_topic=False),
    )  # fmt: skip
    acked = time.monotonic()
    if result.published != records:
        raise RuntimeError(
            f"published {result.published} of {records}: {result.failures[:2]} {result.rejects[:2]}"
        )
    deadline = acked + 300
    while _ledger_rows(lake, PUBLISHED) - before < records:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{records} records not landed 300 s after the ack")
        time.sleep(0.5)
    landed_s = time.monotonic() - acked
    fresh = [r for r in client.runs(DISPATCH_DAG) if r["dag_run_id"] not in known]
    behind = dispatch_runs_behind(client, ingest_dag, bronze_uri, bronze_before, DISPATCH_DAG)
    for dag_id in (DISPATCH_DAG, ingest_dag):
        client.pause(dag_id)
    _settle(client, DISPATCH_DAG)
    _settle(client, ingest_dag)
    by_trigger = bool(behind) and all(
        r["run_type"] == "asset_triggered" and r["watched_events"] for r in behind
    )
    return {
        "landed_s": round(landed_s, 1),
        # the figure counts only when the landing came through the activity watcher's run
        "by_trigger": by_trigger,
        "landing_runs": [(r["run_id"], r["run_type"], len(r["watched_events"])) for r in behind],
        "watcher_s": round(watcher_s, 1),
        "left_s": round(left_s),
        "dispatch_runs": [r.get("run_type") for r in fresh],
        "records": records,
        "topic": contract.topic,
    }


def _xcom(client: Any, run_id: str, task: str) -> Any:
    try:
        got = client._call(
            "GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task}/xcomEntries/return_value"
        )
    except Exception:  # an XCom missing (skipped, failed) is reported as None
        return None
    value = got.get("value")
    try:
        return json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return value


def measure(work: Path, runs: int = 2, records: int = 200, idle_s: float = 60.0) -> list[dict[str, Any]]:
    import secrets
    from contextlib import ExitStack

    from bench.bronze_gen import write_bronze
    from gdx.agencies import load_agencies
    from gdx.airflow_local import ADMIN, LocalAirflow
    from gdx.contracts.model import load_all
    from gdx.kafka_local import throwaway_broker
    from gdx.orchestration.airflow_api import AirflowApi
    from gdx.orchestration.registry import bronze_asset_uri
    from gdx.postgres_local import throwaway_postgres
    from gdx.security import acls
    from gdx.settings import REPO_ROOT
    from gdx.testing.bronze_fixtures import write_fixture_lake

    lake, state = work / "lake", work / "state"
    contracts = load_all(REPO_ROOT / "contracts")
    contract = contracts[DATASET]
    load_start = _loadavg()
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack:
        broker = stack.enter_context(throwaway_broker(work / "kafka"))
        # the ACLs the contracts imply, as `gdx kafka up` applies them: the agency writes, gdx-ingest reads
        acls.grant(broker.connection(), contracts, load_agencies(REPO_ROOT / "contracts"))
        gdx_env = {
            "GDX_LAKE_ROOT": str(lake),
            "GDX_WAREHOUSE": str(work / "wh" / "onedata.duckdb"),
            "GDX_STATE_DIR": str(state),
            "GDX_CONTRACTS_DIR": str(REPO_ROOT / "contracts"),
            "GDX_KAFKA_CLIENTS_DIR": str(broker.clients_dir),
            "GDX_PII_KEY": f"k1:{secrets.token_urlsafe(32)}",
            "GDX_INGEST_IDLE_TIMEOUT_S": "1.0",
        }
        postgres = stack.enter_context(throwaway_postgres())
        airflow = LocalAirflow(home=work / "airflow", sql_alchemy_conn=postgres.url, gdx_env=gdx_env)
        t = time.perf_counter()
        airflow.start()
        start_s = time.perf_counter() - t
        try:
            client = airflow.client()
            landing = measure_landing(client, broker, lake, records, idle_s)
            load_landing = _loadavg()
            t = time.perf_counter()
            write_fixture_lake(
                lake, only=[c for c in contracts if c != PUBLISHED and not contracts[c].is_seed]
            )
            lake_s = time.perf_counter() - t
            client.wait_for_dag(DAG_ID, timeout=300)
            client.unpause(DAG_ID)
            full = client.trigger(DAG_ID, conf={"full": True})
            done = client.wait_run(DAG_ID, full["dag_run_id"], timeout=1800)
            if done["state"] != "success":
                raise RuntimeError(f"full build {done['state']}\n{airflow.log_tails()}")
            full_s = _ts(done["end_date"]) - _ts(done["start_date"])
            api = AirflowApi(airflow.url, username=ADMIN, password=airflow.admin_password)
            uri = bronze_asset_uri(contract.agency, contract.dataset)
            results = []
            for i in range(runs):
                write_bronze(lake, EXTRA_ROWS * (i + 1), contract)  # a new ledger entry each time
                _settle(client, DAG_ID)  # e.g. a run for the bronze event of step 0's landing
                known = {r["dag_run_id"] for r in client.runs(DAG_ID)}
                posted = time.time()
                api.post_asset_event(uri, {"contract_id": DATASET, "rows_landed": EXTRA_ROWS})
                run = _wait_new_run(client, known, timeout=900)
                step = _breakdown(client, run, posted)
                built = _xcom(client, run["dag_run_id"], "dbt_build") or {}
                step["dbt_elapsed_s"] = built.get("elapsed_s")
                step["nodes"] = built.get("nodes")
                if run["state"] != "success":
                    raise RuntimeError(f"incremental run {run['state']}: {step}\n{airflow.log_tails()}")
                results.append(step)
        finally:
            airflow.stop()
    load_end = _loadavg()
    slowest = max(results, key=lambda r: r["event_to_publish_s"] or 0)
    steps = "; ".join(
        f"run {i + 1}: {r['event_to_publish_s']} s = event→queued {r['event_to_run_queued_s']}, "
        + ", ".join(
            f"{t} wait {r[f'{t}_wait_s']} + {r[f'{t}_s']}" for t in ("plan", "dbt_build", "publish_marts")
        )
        + f", dbt itself {r['dbt_elapsed_s']} s"
        for i, r in enumerate(results)
    )
    rows.append(
        {
            "metric": "dbt_dag_incremental_s", "value": slowest["event_to_publish_s"], "unit": "s",
            "budget": BUDGET_S,
            "note": f"bronze Asset event (REST) → publish_marts success, real scheduler, {DATASET} "
            f"+{EXTRA_ROWS} rows; {steps}; nodes {slowest['nodes']}; load {load_start} → {load_end}",
        }
    )  # fmt: skip
    rows.append(
        {
            "metric": "event_landing_s",
            "value": landing["landed_s"] if landing["by_trigger"] else None, "unit": "s", "budget": LANDING_BUDGET_S,
            "note": f"{landing['records']} records of {PUBLISHED} published (last ack) → all in the lake's ledger, "
            f"real scheduler, after {idle_s:.0f} s idle, published {landing['left_s']} s before a minute tick; "
            f"landed by dispatcher run(s) (run id, type, activity events consumed) {landing['landing_runs']}"
            + ("" if landing["by_trigger"] else f" — NOT by the activity trigger: {landing['landed_s']} s not counted")
            + f"; all dispatcher runs since the publish: {landing['dispatch_runs']}; watcher registered "
            f"{landing['watcher_s']} s after unpause; load {load_start} → {load_landing}",
        }
    )  # fmt: skip
    rows.append(
        {
            "metric": "dbt_dag_full_s", "value": round(full_s, 1), "unit": "s", "budget": None,
            "note": f"full build run (params full) start → end; Airflow start {start_s:.0f} s, "
            f"fixture lake {lake_s:.0f} s",
        }
    )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="incremental runs after the full build")
    parser.add_argument("--records", type=int, default=200, help="records published for event_landing_s")
    parser.add_argument("--idle-s", type=float, default=60.0, help="idle time before publishing")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gdx-dag-latency-") as tmp:
        for row in measure(Path(tmp), args.runs, args.records, args.idle_s):
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
