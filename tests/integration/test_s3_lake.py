"""The lake on a real S3 server (S3Proxy, the `s3_server` fixture), end to end: `gdx ingest` with a
crash and its recovery, `gdx replay`, `gdx status`, `gdx audit verify`, dbt reading the lake over
S3, `gdx serve` downloads — and an S3 PUT failing mid-batch (a fault-injecting proxy in front of
the server). The lake is made by the engine itself, from records published on the secured broker.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests

from gdx.sample import valid_records
from tests.integration.fault_matrix import reconcile, record
from tests.integration.ingest_fixtures import IngestEnv, Published, make_env, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AIR = "pcd.air_quality_hourly"
AWS_VARS = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
            "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED", "GDX_LAKE_ROOT")  # fmt: skip


def _air_records(n: int, seed: int) -> list[dict[str, Any]]:
    """Valid records, every 10th with an out-of-range PM2.5 (quarantined; replayable once the
    contract allows it)."""
    records = list(valid_records(AIR, n, seed=seed))
    for i in range(0, n, 10):
        records[i]["pm25"] = (
            5000.0 + random.Random(seed + i).randint(0, 99) / 4
        )  # short: no id-like digit runs
    return records


def _s3_env(env: IngestEnv, endpoint_env: dict[str, str]) -> None:
    env.env.update(endpoint_env)
    env.env["GDX_INGEST_BATCH_MAX_RECORDS"] = "100"


def _lake(env: IngestEnv) -> Any:
    from gdx.ingest.lakefs import Lake

    return Lake(env.env["GDX_LAKE_ROOT"])


def _uncommitted(lake: Any, contract: Any) -> list[str]:
    """Bronze/quarantine files on S3 without a ledger entry (what a reader must never count)."""
    from gdx.ingest import ledger
    from gdx.ingest.paths import BatchName, bronze_root, quarantine_root

    committed = {n.stem for n in ledger.committed_names(lake, contract)}
    out = []
    for root in (bronze_root(contract), quarantine_root(contract)):
        for f in lake.list(root):
            name = BatchName.parse(f.path)
            if name is not None and not name.suffix and name.stem not in committed:
                out.append(f.path)
    return out


def _check_payloads(lake: Any, contract: Any, published: list[Published]) -> tuple[int, int]:
    """Every committed bronze row carries its own record's content hash; every quarantined row its
    own payload and the range rule. Returns (bronze rows, quarantined rows) checked."""
    from gdx.ingest.paths import bronze_root, quarantine_root

    by_key = {(p.partition, p.offset): p for p in published}
    prefix = f"{contract.id}/v{contract.major}\n".encode()
    bronze = quarantine = 0
    for f in lake.list(bronze_root(contract)):
        if ".replay" in f.path:
            continue
        for r in lake.read_parquet(f.path).to_pylist():
            value = by_key[(r["_kafka_partition"], r["_kafka_offset"])].value
            assert r["_event_id"] == hashlib.sha256(prefix + value).hexdigest()
            bronze += 1
    for f in lake.list(quarantine_root(contract)):
        for r in lake.read_parquet(f.path).to_pylist():
            assert r["rule_id"] == "pm25.range", r["rule_id"]
            assert r["raw_value"] == by_key[(r["_kafka_partition"], r["_kafka_offset"])].value.decode()
            quarantine += 1
    return bronze, quarantine


@pytest.fixture(scope="module")
def aws_env(s3_server: Any) -> Iterator[None]:
    """This process talks to the S3 server too (the Lake reads the standard AWS variables)."""
    mp = pytest.MonkeyPatch()
    for k, v in s3_server.env("unused").items():
        if k != "GDX_LAKE_ROOT":
            mp.setenv(k, v)
    yield
    mp.undo()


@pytest.fixture(scope="module")
def s3_lake(
    tmp_path_factory: pytest.TempPathFactory, kafka_cluster: Any, s3_server: Any, aws_env: None
) -> dict[str, Any]:
    """An S3 lake made by `gdx ingest` (one run SIGKILLed after its first bronze PUT, the next run
    recovering), then `gdx replay`: the state every test of this module reads."""
    env = make_env(tmp_path_factory.mktemp("s3-lake"), kafka_cluster)
    _s3_env(env, s3_server.env(f"lake-{env.suffix}"))
    contract = env.contract(AIR)
    published = publish(kafka_cluster, contract, _air_records(300, seed=21))
    lake = _lake(env)

    crashed = env.run_cli("ingest", contract.id, extra_env={"GDX_FAULT": "after_bronze_write@2"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    orphans = _uncommitted(lake, contract)
    assert orphans, "the crash left no uncommitted object on S3: it did not happen mid-batch"
    s3 = s3_server.client()
    assert all(s3.head_object(Bucket=s3_server.bucket, Key=lake.abs(p).split("/", 1)[1]) for p in orphans)

    done = env.run_cli("ingest", contract.id)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"env": env, "contract": contract, "published": published, "lake": lake, "orphans": orphans,
            "server": s3_server, "ingest_stdout": done.stdout}  # fmt: skip


def test_ingest_recovery_replay_status_and_audit_on_s3(s3_lake: dict[str, Any]) -> None:
    env, contract, published, lake = (s3_lake[k] for k in ("env", "contract", "published", "lake"))
    s3, bucket = s3_lake["server"].client(), s3_lake["server"].bucket

    # recovery deleted the crashed run's objects on S3; every record is in the lake exactly once
    listed = {
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=lake.base.split("/", 1)[1])["Contents"]
    }
    for orphan in s3_lake["orphans"]:
        if lake.abs(orphan).split("/", 1)[1] in listed:  # the same batch may land under the same name
            assert orphan not in _uncommitted(lake, contract)
    assert _uncommitted(lake, contract) == []
    figures = reconcile(lake, contract, published)
    assert (figures.lost, figures.duplicated) == (0, 0), figures
    assert (figures.landed, figures.quarantined) == (270, 30)
    assert _check_payloads(lake, contract, published) == (270, 30)
    record("SIGKILL after a bronze PUT (S3)", 1, figures,
           f"{len(s3_lake['orphans'])} uncommitted object(s) on S3 after the kill, deleted by recovery")  # fmt: skip

    # replay: the contract now allows the haze-episode PM2.5; the quarantined rows land once
    path = env.contracts_dir / "pcd" / "air_quality_hourly.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("{minimum: 0, maximum: 1000}", "{minimum: 0, maximum: 6000}", 1), encoding="utf-8")  # fmt: skip
    first = env.run_cli("replay", contract.id, "--from-quarantine")
    assert first.returncode == 0, first.stderr[-2000:]
    again = env.run_cli("replay", contract.id, "--from-quarantine")
    assert again.returncode == 0, again.stderr[-2000:]
    replayed = [f for f in lake.list(f"bronze/{contract.agency}/{contract.dataset}") if ".replay1." in f.path]
    assert sum(lake.read_parquet(f.path).num_rows for f in replayed) == 30
    assert not [f for f in lake.list(f"bronze/{contract.agency}/{contract.dataset}") if ".replay2." in f.path]

    status = env.run_cli("status", contract.id, extra_env={"COLUMNS": "240"})
    assert status.returncode == 0, status.stderr[-2000:]
    assert env.env["GDX_LAKE_ROOT"] in status.stdout and contract.id in status.stdout
    assert "300" in status.stdout  # 270 landed + 30 replayed

    verify = env.run_cli("audit", "verify")
    assert verify.returncode == 0, verify.stderr[-2000:]
    assert "audit log intact" in verify.stdout
    assert lake.exists("audit/head.json") and lake.list("audit/entries")
    os.environ["GDX_LAKE_ROOT"] = env.env["GDX_LAKE_ROOT"]
    try:
        from gdx.audit import AuditLog

        report = AuditLog.from_settings().verify()
        assert report.ok and report.ledger_files == len(
            lake.list(f"ledger/{contract.agency}/{contract.dataset}")
        )
    finally:
        del os.environ["GDX_LAKE_ROOT"]


def test_dbt_builds_from_the_s3_lake(s3_lake: dict[str, Any], tmp_path: Path) -> None:
    import dataclasses

    import duckdb

    from gdx.build import BuildPaths, run_dbt, unlanded_sources
    from gdx.contracts.exporters import EXPORTERS
    from gdx.contracts.model import load_all
    from gdx.dbt_lake import attach_lake
    from gdx.settings import Settings

    env, contract, lake = s3_lake["env"], s3_lake["contract"], s3_lake["lake"]
    catalog = EXPORTERS["catalog"]  # what `gdx contracts generate` writes, into the copy only
    for c in load_all(env.contracts_dir).values():
        out = env.root / catalog.path(c)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(catalog.render(catalog.func(c)), encoding="utf-8")
    settings = dataclasses.replace(
        Settings.from_env(), lake_root=env.env["GDX_LAKE_ROOT"], contracts_dir=env.contracts_dir,
        warehouse=tmp_path / "wh" / "onedata.duckdb",
    )  # fmt: skip
    paths = BuildPaths.from_settings(settings, target_dir=tmp_path / "target")
    # the models that read the lake (bronze, ledger) and the fact built on them, with the tests of
    # those alone (cautious); the full build is covered by test_dbt_marts on a local lake
    unlanded = unlanded_sources(paths)  # listed on S3
    assert set(unlanded) == {"bronze_customs.border_trade_daily", "bronze_dga.eservice_transactions_daily",
                             "bronze_dla.municipal_waste_monthly", "bronze_gistda.fire_hotspots",
                             "bronze_moi.informal_debt_cases"}  # fmt: skip
    selected = "+fct_air_quality_daily +stg_lake__ingestion_batches"
    result = run_dbt(["build", "--select", selected, "--indirect-selection", "cautious",
                      "--exclude", *(f"source:{name}" for name in unlanded)], paths)  # fmt: skip
    assert result.ok, result.output[-6000:]
    assert result.counts()[("model", "success")] >= 3 and not result.failures

    bronze = [
        r for f in lake.list(f"bronze/{contract.agency}/{contract.dataset}")
        for r in lake.read_parquet(f.path).select(["station_id", "measured_at", "_event_id"]).to_pylist()
    ]  # fmt: skip
    ledger_rows = [lake.read_parquet(f.path).to_pylist()[0] for f in lake.list(f"ledger/{contract.agency}/{contract.dataset}", recursive=False)]  # fmt: skip
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        # staging models are views over read_parquet('s3://…'): a reader of them needs the lake too
        assert attach_lake(con, env.env["GDX_LAKE_ROOT"])
        keys = set(
            con.execute("select station_id, measured_at from staging.stg_pcd__air_quality_hourly").fetchall()
        )
        assert keys == {(r["station_id"], r["measured_at"]) for r in bronze} and len(keys) == len(bronze)
        landed = con.execute(
            "select sum(rows_landed), sum(rows_quarantined) from staging.stg_lake__ingestion_batches "
            "where contract_id = ?", [contract.id],
        ).fetchone()  # fmt: skip
        assert landed == (
            sum(r["rows_landed"] for r in ledger_rows),
            sum(r["rows_quarantined"] for r in ledger_rows),
        )
        days = con.execute("select count(*) from marts.fct_air_quality_daily").fetchone()[0]
    assert days > 0


def test_serve_downloads_read_the_s3_lake(s3_lake: dict[str, Any], tmp_path: Path) -> None:
    from gdx.contracts.exporters.catalog import to_catalog
    from gdx.serve.config import ServeSettings
    from tests.integration.serve_fixtures import ServerThread, free_port

    env, contract, lake = s3_lake["env"], s3_lake["contract"], s3_lake["lake"]
    name = to_catalog(contract)["name"]
    expected = {
        (r["station_id"], r["measured_at"]): r["pm25"]
        for f in lake.list(f"bronze/{contract.agency}/{contract.dataset}")
        for r in lake.read_parquet(f.path).select(["station_id", "measured_at", "pm25"]).to_pylist()
    }

    def settings(lake_root: str) -> ServeSettings:
        return ServeSettings(port=free_port(), warehouse=tmp_path / "none.duckdb",
                             contracts_dir=env.contracts_dir, lake_root=lake_root)  # fmt: skip

    with ServerThread(settings(env.env["GDX_LAKE_ROOT"])) as server:
        got = requests.get(f"{server.url}/download/{name}.parquet", timeout=120)
        assert got.status_code == 200, got.text[:500]
        table = pq.read_table(io.BytesIO(got.content))
        assert {(r["station_id"], r["measured_at"]): r["pm25"] for r in table.to_pylist()} == expected
        assert "_kafka_offset" not in table.column_names
        csv = requests.get(f"{server.url}/download/{name}.csv", timeout=120)
        assert csv.status_code == 200 and csv.text.count("\n") == len(expected) + 1

    # a lake that cannot be read is an error, never an empty table
    with ServerThread(settings("s3://no-such-bucket-gdx/lake")) as server:
        missing = requests.get(f"{server.url}/download/{name}.csv", timeout=120)
    assert missing.status_code == 503 and "cannot be read" in missing.json()["error"]["message"]
    mp = pytest.MonkeyPatch()
    try:
        from gdx.kafka_local import free_port as closed_port

        down = f"http://127.0.0.1:{closed_port()}"  # nothing listens there
        mp.setenv("AWS_ENDPOINT_URL", down)
        mp.setenv("AWS_ENDPOINT_URL_S3", down)
        with ServerThread(settings(env.env["GDX_LAKE_ROOT"])) as server:
            unreachable = requests.get(f"{server.url}/download/{name}.parquet", timeout=120)
    finally:
        mp.undo()
    assert unreachable.status_code == 503, unreachable.text[:300]


def test_s3_put_failing_mid_batch(tmp_path: Path, kafka_cluster: Any, s3_server: Any, aws_env: None) -> None:
    """The ledger PUT of the run's second batch fails (500, every retry): the run stops with an
    actionable error, the failed object does not exist, nothing uncommitted counts; the next run
    deletes what the failed batch left and lands it exactly once."""
    from gdx.ingest import ledger
    from gdx.ingest.paths import BatchName
    from tests.integration.s3_fault_proxy import FaultProxy

    proxy = FaultProxy(s3_server.port).start()
    try:
        env = make_env(tmp_path, kafka_cluster)
        _s3_env(env, {**s3_server.env(f"put-fault-{env.suffix}"), "AWS_ENDPOINT_URL": proxy.endpoint,
                      "AWS_ENDPOINT_URL_S3": proxy.endpoint})  # fmt: skip
        contract = env.contract(AIR)
        published = publish(kafka_cluster, contract, _air_records(300, seed=5))
        lake = _lake(env)  # direct to the server, not through the proxy

        proxy.fail_put(r"/ledger/", nth=2)
        failed = env.run_cli("ingest", contract.id)
        assert failed.returncode == 1, failed.stdout[-2000:] + failed.stderr[-2000:]
        assert "the lake could not be read or written" in failed.stderr and "rerun" in failed.stderr
        assert s3_server.secret_key not in failed.stdout + failed.stderr
        assert proxy.failed, "no PUT was refused"
        # the ledger entry is created by one conditional PutObject (If-None-Match: *, gdx.ingest.lease)
        assert {op for op, _ in proxy.failed} == {"PutObject"} and len({k for _, k in proxy.failed}) == 1
        failed_key = proxy.failed[0][1].split("/", 2)[2]  # /bucket/key → key
        assert "/ledger/" in failed_key and failed_key.endswith(".parquet")
        assert not lake.exists(lake.rel(f"{s3_server.bucket}/{failed_key}")), "a failed PUT left an object"
        committed_before = len(lake.list(f"ledger/{contract.agency}/{contract.dataset}", recursive=False))
        assert committed_before >= 1  # the first batch committed before the fault
        left = _uncommitted(lake, contract)
        assert left, "the failed batch wrote nothing before its ledger PUT: the fault was not mid-batch"
        partial = reconcile(lake, contract, published)
        assert partial.duplicated == 0 and 0 < partial.lost < 300  # uncommitted rows are not counted
        failed_batch = BatchName.parse(failed_key)
        assert failed_batch is not None
        proof = (f"{len(proxy.failed)} refused conditional PutObject attempt(s) of the run's 2nd ledger entry "
                 f"(partition {failed_batch.partition}, offsets {failed_batch.first}-{failed_batch.last}), after "
                 f"{committed_before} ledger file(s) committed; {len(left)} uncommitted object(s) left, deleted by the rerun")  # fmt: skip

        proxy.disarm()
        done = env.run_cli("ingest", contract.id)
        assert done.returncode == 0, done.stderr[-3000:]
        assert _uncommitted(lake, contract) == []
        figures = reconcile(lake, contract, published)
        assert (figures.lost, figures.duplicated) == (0, 0), figures
        assert (figures.landed, figures.quarantined) == (270, 30)
        assert _check_payloads(lake, contract, published) == (270, 30)
        covering = [  # the failed batch's offsets are committed now (maybe cut into other batches)
            n for n in ledger.committed_names(lake, contract)
            if n.partition == failed_batch.partition and n.first <= failed_batch.last and n.last >= failed_batch.first
        ]  # fmt: skip
        assert covering and min(n.first for n in covering) <= failed_batch.first
        assert max(n.last for n in covering) >= failed_batch.last
        record("S3 PUT failing mid-batch", 1, figures, proof)
    finally:
        proxy.stop()
