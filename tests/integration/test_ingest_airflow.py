"""The generated ingestion DAGs under Airflow 3 (`dag.test()` against a migrated SQLite metadata
DB): a published sample lands exactly once, the bronze Asset event is emitted only when rows
landed, XCom holds counts and ids — and no citizen id reaches the lake, the logs or the DB."""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gdx.sample import valid_records
from gdx.thai.citizen_id import is_valid_citizen_id, make_citizen_id
from tests.integration.ingest_fixtures import REPO, assert_exact, make_env, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAG_TEST = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
dag = bag.dags[sys.argv[2]]
run = dag.test()
print("GDX_RESULT " + json.dumps({"state": str(run.state), "run_id": run.run_id}))
"""


def _dag_test(env: Any, airflow_home: Path, dag_id: str) -> tuple[dict[str, Any], str]:
    proc_env = {**os.environ, **env.env, "AIRFLOW_HOME": str(airflow_home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", DAG_TEST, str(REPO / "dags"), dag_id], env=proc_env, capture_output=True, text=True, timeout=600
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("GDX_RESULT "))
    return json.loads(line.removeprefix("GDX_RESULT ")), output


def _db(airflow_home: Path) -> sqlite3.Connection:
    return sqlite3.connect(airflow_home / "airflow.db")


def _task_states(airflow_home: Path, dag_id: str, run_id: str) -> dict[str, str]:
    with _db(airflow_home) as db:
        rows = db.execute("select task_id, state from task_instance where dag_id=? and run_id=?", (dag_id, run_id))
        return dict(rows.fetchall())


def _asset_events(airflow_home: Path, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    with _db(airflow_home) as db:
        rows = db.execute(
            "select a.uri, e.extra from asset_event e join asset a on a.id = e.asset_id "
            "where e.source_dag_id=? and e.source_run_id=?",
            (dag_id, run_id),
        ).fetchall()
    return [{"uri": uri, "extra": json.loads(extra) if extra else {}} for uri, extra in rows]


def _xcom(airflow_home: Path, dag_id: str, run_id: str, task_id: str) -> Any:
    with _db(airflow_home) as db:
        row = db.execute(
            "select value from xcom where dag_id=? and run_id=? and task_id=? and key='return_value'",
            (dag_id, run_id, task_id),
        ).fetchone()
    return None if row is None else json.loads(row[0])


def test_dag_lands_published_sample_and_emits_asset_once(tmp_path, kafka_cluster, airflow_db) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    records = list(valid_records(contract.id, 1200, seed=8))
    for i in range(0, len(records), 50):
        records[i]["pm25"] = -3.0
    published = publish(kafka_cluster, contract, records)
    dag_id = f"ingest_{contract.slug}"

    result, _ = _dag_test(env, airflow_db, dag_id)
    assert result["state"].endswith("success")
    bronze, quarantine = assert_exact(published, env.lake, contract)
    assert len(bronze) + len(quarantine) == len(published) and len(quarantine) == 24
    summary = _xcom(airflow_db, dag_id, result["run_id"], "ingest")
    assert summary["rows_in"] == 1200 and summary["rows_landed"] == len(bronze)
    assert set(summary) <= {"contract_id", "topic", "rows_in", "rows_landed", "rows_quarantined", "batch_ids",
                            "gate_ran", "quarantined_by_rule", "recovered_files", "next_offsets", "duration_s"}  # fmt: skip
    events = _asset_events(airflow_db, dag_id, result["run_id"])
    assert [e["uri"] for e in events] == [f"gdx://bronze/{contract.agency}/{contract.dataset}"]
    with _db(airflow_db) as db:  # the task ran in its dataset's one-slot pool, which exists
        ran_in = db.execute(
            "select pool, pool_slots from task_instance where dag_id=? and run_id=? and task_id='ingest'",
            (dag_id, result["run_id"]),
        ).fetchone()
        assert ran_in == (f"gdx_ingest_{contract.slug}", 1)
        assert db.execute("select slots from slot_pool where pool=?", (ran_in[0],)).fetchone() == (1,)
    assert events[0]["extra"]["rows_landed"] == len(bronze)

    # the same DAG again: nothing new, nothing lands twice, no asset event
    again, _ = _dag_test(env, airflow_db, dag_id)
    assert again["state"].endswith("success")
    assert _task_states(airflow_db, dag_id, again["run_id"]) == {"ingest": "success", "publish_bronze_asset": "skipped"}
    assert _asset_events(airflow_db, dag_id, again["run_id"]) == []
    assert_exact(published, env.lake, contract)


_RUN = re.compile(rb"(?<![0-9])[0-9](?:[ -]?[0-9]){12}(?![0-9])")


# SHA-256 / HMAC hex digests (tokens, audit-log hashes): about 1 in 700 holds 13 digits with a valid
# check digit, and the audit log's digests change every run (they cover a timestamp).
_DIGEST = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


def _ids_in(data: bytes) -> set[str]:
    """Valid citizen ids in raw bytes (ASCII digits, optionally dashed), ms timestamps and hex
    digests excepted."""
    found = set()
    for m in _RUN.finditer(_DIGEST.sub(b"-", data)):
        digits = re.sub(rb"[ -]", b"", m.group(0)).decode()
        if is_valid_citizen_id(digits) and not (1_400_000_000_000 <= int(digits) <= 2_100_000_000_000):
            found.add(digits)
    return found


def _scan_file(path: Path) -> set[str]:
    data = path.read_bytes()
    found = _ids_in(data)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for row in pq.read_table(path).to_pylist():
            found |= _ids_in(json.dumps(row, default=str, ensure_ascii=False).encode())
    return found


def test_no_citizen_id_reaches_lake_logs_or_xcom(tmp_path, kafka_cluster, airflow_db) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("moi.informal_debt_cases")
    rng = random.Random(13)
    records = list(valid_records(contract.id, 400, seed=13))
    secrets: set[str] = set()
    for r in records:  # ids in the 3…8 ranges only: ms timestamps (1.4e12–2.1e12) cannot collide
        r["citizen_id"] = make_citizen_id(f"{rng.randint(3, 8)}{rng.randint(10**10, 10**11 - 1)}")
        secrets.add(r["citizen_id"])
    records[5]["citizen_id"] = records[5]["citizen_id"][:-1] + str((int(records[5]["citizen_id"][-1]) + 1) % 10)
    secrets.add(records[5]["citizen_id"])  # invalid checksum: still someone's mistyped id
    leak = make_citizen_id("512345678901")
    records[6]["district_name"] = f"ผู้ร้อง {leak[0]}-{leak[1:5]}-{leak[5:10]}-{leak[10:12]}-{leak[12]}"  # in free text
    records[7]["case_id"] = "bad id"  # fails the gate with its clear citizen id in the payload
    secrets |= {leak}
    hostile = [(f'{{"case_id": "X", "citizen_id": "{make_citizen_id("612345678901")}"'.encode(), None)]
    secrets.add(make_citizen_id("612345678901"))
    published = publish(kafka_cluster, contract, [*records, *hostile])

    result, output = _dag_test(env, airflow_db, f"ingest_{contract.slug}")
    assert result["state"].endswith("success")
    bronze, quarantine = assert_exact(published, env.lake, contract)
    assert len(quarantine) == 4 and len(bronze) == len(published) - 4
    assert all(r["citizen_id_hmac"].startswith("k1:") and len(r["citizen_id_hmac"]) == 67 for r in bronze.values())
    assert "citizen_id" not in next(iter(bronze.values()))

    leaked: dict[str, set[str]] = {}
    for root in (env.lake, env.state, airflow_db):
        for path in root.rglob("*"):
            if path.is_file():
                found = _scan_file(path)
                if found:
                    leaked[str(path)] = found
    for name, text in (("dag.test output", output),):
        found = _ids_in(text.encode())
        if found:
            leaked[name] = found
    assert not leaked, {k: sorted(v)[:3] for k, v in leaked.items()}
    # and specifically none of the ids we published, in any form, anywhere
    blob = b"".join(p.read_bytes() for root in (env.lake, airflow_db) for p in root.rglob("*") if p.is_file())
    for secret in secrets:
        assert secret.encode() not in blob
    # quarantined payloads keep their shape: clear ids tokenised; the mistyped one, published by a
    # producer that sealed it, stays its ciphertext (gdxenc:v1)
    raw = " ".join(r["raw_value"] or "" for r in quarantine.values())
    assert "k1:" in raw and "gdxenc:v1:k1:" in raw and not _RUN.search(raw.encode())
