"""The dispatcher and a generated agency DAG under Airflow 3 (`dag.test()` against a migrated
SQLite metadata DB and the real secured broker): `gdx_dispatch`'s `plan` emits
`gdx://incoming/<agency>` with the datasets that have records (names and counts only), the agency
DAG run with those datasets lands the sample exactly once and emits the bronze Asset, a dataset
without new data is skipped by `select` without its task ever starting — and no citizen id reaches
the lake, the logs or the DB."""

from __future__ import annotations

import copy
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gdx.sample import valid_records
from gdx.thai.citizen_id import is_valid_citizen_id, make_citizen_id
from tests.integration.ingest_fixtures import REPO, assert_exact, make_env, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# One interpreter per scenario: import the env's pools (what `airflow pools import` does, without a
# second Airflow start-up), parse the env's generated dags/, run the dispatcher, then the agency
# DAG with the datasets the dispatcher's asset event named (what the scheduler's `select` reads
# from the triggering events; dag.test() makes a manual run, so they go in as params).
DAG_TEST = """
import json, sys
from airflow.cli.commands.pool_command import pool_import_helper
pools, failed = pool_import_helper(sys.argv[2])  # the env's one-slot pools (its extra dataset's included)
assert pools and not failed, failed
from airflow.dag_processing.dagbag import DagBag
from airflow.models.asset import AssetEvent, AssetModel
from gdx.orchestration.dag_test import run_dag_test
from airflow.utils.session import create_session
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
out = {}
for dag_id in sys.argv[3:]:
    conf = None
    if dag_id.startswith("ingest_") and out.get("gdx_dispatch"):
        extras = out["gdx_dispatch"]["events"]
        conf = {"datasets": [d for e in extras if e["uri"] == "gdx://incoming/" + dag_id[7:] for d in e["extra"]["datasets"]]}
    run = run_dag_test(bag.dags[dag_id], conf)
    with create_session() as session:
        rows = session.query(AssetModel.uri, AssetEvent.extra).join(AssetEvent, AssetEvent.asset_id == AssetModel.id).filter(
            AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run.run_id).all()
    out[dag_id] = {"state": str(run.state), "run_id": run.run_id, "conf": conf,
                   "events": [{"uri": u, "extra": x} for u, x in rows]}
print("GDX_RESULT " + json.dumps(out))
"""


def _add_second_pcd_dataset(env: Any) -> str:
    """A second Kafka dataset of pcd (a clone of air_quality_hourly with its own topic), so the
    agency DAG has a dataset with no new data next to one with records."""
    src = env.contracts_dir / "pcd" / "air_quality_hourly.yaml"
    raw = yaml.safe_load(src.read_text(encoding="utf-8"))
    clone = copy.deepcopy(raw)
    clone["id"], clone["name"] = "pcd.air_quality_daily_idle", "air_quality_daily_idle"
    for obj in clone.get("schema", []):
        if obj.get("name") == "air_quality_hourly":
            obj["name"] = obj["physicalName"] = "air_quality_daily_idle"
    for sla in clone.get("slaProperties", []):
        if isinstance(sla.get("element"), str):
            sla["element"] = sla["element"].replace("air_quality_hourly.", "air_quality_daily_idle.")
    for item in clone.get("customProperties", []):
        if item.get("property") == "dataset":
            item["value"] = "air_quality_daily_idle"
        elif item.get("property") == "kafkaTopic":
            item["value"] = f"gdx.pcd.air_quality_daily_idle.v1.t{env.suffix}"
    (env.contracts_dir / "pcd" / "air_quality_daily_idle.yaml").write_text(
        yaml.safe_dump(clone, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return clone["id"]


def _generated_dags(env: Any) -> Path:
    """The env's own dags/ as `gdx contracts generate` writes them, plus the dispatcher's file."""
    from gdx.contracts.generate import generate

    generate(root=env.root, contracts_dir=env.contracts_dir)
    dags = env.root / "dags"
    shutil.copy2(REPO / "dags" / "gdx_dispatch.py", dags / "gdx_dispatch.py")
    return dags


def _dag_test(env: Any, airflow_home: Path, dags: Path, *dag_ids: str) -> tuple[dict[str, Any], str]:
    proc_env = {**os.environ, **env.env, "AIRFLOW_HOME": str(airflow_home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", DAG_TEST, str(dags), str(dags / "ingest_pools.json"), *dag_ids],
        env=proc_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("GDX_RESULT "))
    return json.loads(line.removeprefix("GDX_RESULT ")), output


def _db(airflow_home: Path) -> sqlite3.Connection:
    return sqlite3.connect(airflow_home / "airflow.db")


def _task_instances(airflow_home: Path, dag_id: str, run_id: str) -> dict[str, tuple[str, Any, Any]]:
    """task id → (state, try_number, pool) of one run."""
    with _db(airflow_home) as db:
        rows = db.execute(
            "select task_id, state, try_number, pool from task_instance where dag_id=? and run_id=?",
            (dag_id, run_id),
        )
        return {t: (state, start, pool) for t, state, start, pool in rows.fetchall()}


def _xcom(airflow_home: Path, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
    with _db(airflow_home) as db:
        row = db.execute(
            "select value from xcom where dag_id=? and run_id=? and task_id=? and key=?",
            (dag_id, run_id, task_id, key),
        ).fetchone()
    return None if row is None else json.loads(row[0])


def test_dispatcher_wakes_the_agency_dag_which_lands_only_what_waits(
    tmp_path, kafka_cluster, airflow_db
) -> None:
    env = make_env(tmp_path, kafka_cluster)
    idle_id = _add_second_pcd_dataset(env)
    kafka_cluster.grant(env.contracts_dir)
    dags = _generated_dags(env)
    contract = env.contract("pcd.air_quality_hourly")
    records = list(valid_records(contract.id, 1200, seed=8))
    for i in range(0, len(records), 50):
        records[i]["pm25"] = -3.0
    published = publish(kafka_cluster, contract, records)

    result, _ = _dag_test(env, airflow_db, dags, "gdx_dispatch", "ingest_pcd")
    dispatch, ingest = result["gdx_dispatch"], result["ingest_pcd"]
    assert dispatch["state"].endswith("success") and ingest["state"].endswith("success")
    # the dispatcher: one event for pcd (other agencies of the env have nothing), names and counts only
    pcd = [e for e in dispatch["events"] if e["uri"] == "gdx://incoming/pcd"]
    assert pcd == [
        {
            "uri": "gdx://incoming/pcd",
            "extra": {"datasets": ["air_quality_hourly"], "lag": {"air_quality_hourly": 1200}},
        }
    ]
    assert [e["uri"] for e in dispatch["events"]] == ["gdx://incoming/pcd"]
    assert _xcom(airflow_db, "gdx_dispatch", dispatch["run_id"], "plan") == {"agencies": 1, "datasets": 1}

    # the agency DAG: the dataset with records landed exactly once, in its one-slot pool
    assert ingest["conf"] == {"datasets": ["air_quality_hourly"]}
    bronze, quarantine = assert_exact(published, env.lake, contract)
    assert len(bronze) + len(quarantine) == len(published) and len(quarantine) == 24
    tis = _task_instances(airflow_db, "ingest_pcd", ingest["run_id"])
    assert tis["select"][0] == "success"
    assert tis["ingest__air_quality_hourly"][0] == "success"
    assert tis["ingest__air_quality_hourly"][2] == "gdx_ingest_pcd__air_quality_hourly"
    # … and the one without new data was skipped by the branch: its task never started
    idle_task = f"ingest__{idle_id.partition('.')[2]}"
    assert tis[idle_task][0] == "skipped" and not tis[idle_task][1]  # never tried
    assert _xcom(airflow_db, "ingest_pcd", ingest["run_id"], idle_task, "summary") is None
    summary = _xcom(airflow_db, "ingest_pcd", ingest["run_id"], "ingest__air_quality_hourly")
    assert summary["rows_in"] == 1200 and summary["rows_landed"] == len(bronze)
    assert ingest["events"] == [
        {
            "uri": "gdx://bronze/pcd/air_quality_hourly",
            "extra": {"contract_id": contract.id, "rows_landed": len(bronze), "rows_quarantined": 24,
                      "batch_ids": summary["batch_ids"]},
        }
    ]  # fmt: skip

    # nothing waits now: the dispatcher emits no event; a manual run of all lands nothing and
    # emits no bronze event (the tasks skip themselves)
    again, _ = _dag_test(env, airflow_db, dags, "gdx_dispatch", "ingest_pcd")
    assert again["gdx_dispatch"]["events"] == [] and again["ingest_pcd"]["conf"] == {
        "datasets": []
    }  # empty: all
    states = {
        t: s
        for t, (s, _, _) in _task_instances(airflow_db, "ingest_pcd", again["ingest_pcd"]["run_id"]).items()
    }
    assert states == {"select": "success", "ingest__air_quality_hourly": "skipped", idle_task: "skipped"}
    assert again["ingest_pcd"]["events"] == []
    # these two did run (and found nothing): their summaries say so
    for task in ("ingest__air_quality_hourly", idle_task):
        assert (
            _xcom(airflow_db, "ingest_pcd", again["ingest_pcd"]["run_id"], task, "summary")["rows_landed"]
            == 0
        )
    assert_exact(published, env.lake, contract)


_RUN = re.compile(rb"(?<![0-9])[0-9](?:[ -]?[0-9]){12}(?![0-9])")

# Timestamps, struck out before the scan like digests: SQLite pages store them run together with
# the hex ids beside them, and "…a78592b316" + "2026-12-03 19:31…" or "…19:18:22.130987" +
# "7132317bc9…" make 13-digit runs (with dashes and a space) that are no one's id. Fractions stop at
# microseconds: the next timestamp may follow at once.
_TIMESTAMP = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?")


# SHA-256 / HMAC hex digests (tokens, audit-log hashes): about 1 in 700 holds 13 digits with a valid
# check digit, and the audit log's digests change every run (they cover a timestamp).
_DIGEST = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


def _ids_in(data: bytes) -> set[str]:
    """Valid citizen ids in raw bytes (ASCII digits, optionally dashed), ms timestamps, ISO
    timestamps and hex digests excepted."""
    found = set()
    for m in _RUN.finditer(_TIMESTAMP.sub(b"-", _DIGEST.sub(b"-", data))):
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
    records[5]["citizen_id"] = records[5]["citizen_id"][:-1] + str(
        (int(records[5]["citizen_id"][-1]) + 1) % 10
    )
    secrets.add(records[5]["citizen_id"])  # invalid checksum: still someone's mistyped id
    leak = make_citizen_id("512345678901")
    records[6]["district_name"] = (
        f"ผู้ร้อง {leak[0]}-{leak[1:5]}-{leak[5:10]}-{leak[10:12]}-{leak[12]}"  # in free text
    )
    records[7]["case_id"] = "bad id"  # fails the gate with its clear citizen id in the payload
    secrets |= {leak}
    hostile = [(f'{{"case_id": "X", "citizen_id": "{make_citizen_id("612345678901")}"'.encode(), None)]
    secrets.add(make_citizen_id("612345678901"))
    published = publish(kafka_cluster, contract, [*records, *hostile])

    result, output = _dag_test(env, airflow_db, _generated_dags(env), "ingest_moi")
    assert result["ingest_moi"]["state"].endswith("success")
    bronze, quarantine = assert_exact(published, env.lake, contract)
    assert len(quarantine) == 4 and len(bronze) == len(published) - 4
    assert all(
        r["citizen_id_hmac"].startswith("k1:") and len(r["citizen_id_hmac"]) == 67 for r in bronze.values()
    )
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
