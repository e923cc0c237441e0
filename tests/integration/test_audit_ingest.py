"""The landing ledger on the audit chain, against a real broker and the real CLI: every ledger file
an ingestion run writes has its `ingest.batch` entry; editing, removing or forging a ledger file
makes `gdx audit verify` fail naming it; a SIGKILL between a ledger write and its audit entry is
repaired by the next run without landing anything twice."""

from __future__ import annotations

import hashlib
import re
import shutil
import signal
from pathlib import Path

import pytest

from gdx.audit import AuditLog
from gdx.audit.ledger_chain import ledger_files
from gdx.ingest.lakefs import Lake
from gdx.ingest.pii import contains_citizen_id
from gdx.sample import valid_records
from tests.integration.ingest_fixtures import assert_exact, ledger_rows, make_env, publish

pytestmark = [pytest.mark.integration]

N = 2500
_DIGEST = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
BATCH = "600"


def _records(seed: int) -> list[dict]:
    records = list(valid_records("pcd.air_quality_hourly", N, seed=seed))
    for i in range(0, N, 41):
        records[i]["pm25"] = "n/a"  # some quarantine, so row counts differ between batches
    return records


def _batch_entries(lake: Path, contract_id: str) -> list:
    return AuditLog(Lake(str(lake))).entries(dataset=contract_id, action="ingest.batch")


def _ingest(env, contract, extra_env=None):
    return env.run_cli("ingest", contract.id, "--batch-records", BATCH, extra_env=extra_env)


def test_ingestion_puts_every_ledger_file_on_the_chain(tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    published = publish(kafka_cluster, contract, _records(seed=11))
    run = _ingest(env, contract)
    assert run.returncode == 0, run.stderr[-3000:]
    assert_exact(published, env.lake, contract)

    rows = {r["batch_id"]: r for r in ledger_rows(env.lake, contract)}
    entries = _batch_entries(env.lake, contract.id)
    assert len(rows) >= 5 and len(entries) == len(rows)
    assert sorted(e.detail["batch_id"] for e in entries) == sorted(rows)
    for e in entries:
        row = rows[e.detail["batch_id"]]
        assert (e.principal, e.outcome, e.dataset) == ("gdx-ingest", "ok", contract.id)
        for k in (
            "topic",
            "partition",
            "first_offset",
            "last_offset",
            "rows_in",
            "rows_landed",
            "rows_quarantined",
        ):
            assert e.detail[k] == row[k], (k, e.detail, row)
        path = env.lake / e.detail["ledger_path"]
        assert path.parent == env.lake / "ledger" / contract.agency / contract.dataset
        assert e.detail["ledger_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert "recovered" not in e.detail
    assert sum(e.detail["rows_in"] for e in entries) == N

    verify = env.run_cli("audit", "verify")
    assert verify.returncode == 0, verify.stderr
    head = AuditLog(Lake(str(env.lake))).entries()[-1]
    assert f"head: {head.seq}:{head.hash}" in verify.stdout
    assert f"{len(rows)} ledger files on the chain" in verify.stdout

    show = env.run_cli("audit", "show", "--dataset", contract.id, "--agency", "gdx-ingest", "--json")
    assert show.returncode == 0, show.stderr
    assert len(show.stdout.splitlines()) == len(entries)


def _tamper(lake: Path, how: str) -> str:
    """Change one ledger file the way `how` says; returns its lake path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(p for p in ledger_files(Lake(str(lake))) if "/_replay/" not in p)
    victim = files[len(files) // 2]
    path = lake / victim
    if how == "edit":  # a plausible edit written by the engine's own Parquet writer
        t = pq.read_table(path)
        t = t.set_column(
            t.schema.get_field_index("rows_quarantined"), "rows_quarantined", pa.array([0], pa.int64())
        )
        pq.write_table(t, path)
    elif how == "remove":
        path.unlink()
    elif how == "forge":  # a batch record nobody chained, e.g. to make a range look landed
        forged = path.with_name(path.name.replace("+", "+9", 1))
        shutil.copy(path, forged)
        victim = str(forged.relative_to(lake))
    return victim


@pytest.mark.parametrize("how", ["edit", "remove", "forge"])
def test_tampering_with_a_ledger_file_is_named_by_verify(how: str, tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    publish(kafka_cluster, contract, _records(seed=12))
    assert _ingest(env, contract).returncode == 0
    assert env.run_cli("audit", "verify").returncode == 0
    victim = _tamper(env.lake, how)
    verify = env.run_cli("audit", "verify")
    assert verify.returncode == 1
    expected = {
        "edit": f"ledger file {victim} was edited: its SHA-256 differs from audit entry",
        "remove": f"ledger file {victim} is missing (audit entry",
        "forge": f"ledger file {victim} is not on the chain",
    }[how]
    assert expected in verify.stderr, verify.stderr


def test_crash_between_ledger_write_and_audit_entry_is_repaired(tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    published = publish(kafka_cluster, contract, _records(seed=13))
    crashed = _ingest(env, contract, {"GDX_FAULT": "before_ledger_audit@3"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]

    # the kill happened exactly there: 3 ledger files are durable, only the first 2 are chained
    lake = Lake(str(env.lake))
    files = ledger_files(lake)
    chained = {e.detail["ledger_path"] for e in _batch_entries(env.lake, contract.id)}
    assert len(files) == 3 and len(chained) == 2 and chained < set(files)
    (unchained,) = set(files) - chained
    verify = env.run_cli("audit", "verify")
    assert verify.returncode == 1
    assert f"ledger file {unchained} is not on the chain" in verify.stderr

    done = _ingest(env, contract)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_exact(published, env.lake, contract)  # still exactly once
    assert "put ledger file" in done.stderr and unchained in done.stderr
    entries = _batch_entries(env.lake, contract.id)
    by_path: dict[str, list] = {}
    for e in entries:
        by_path.setdefault(e.detail["ledger_path"], []).append(e)
    assert set(by_path) == set(ledger_files(lake))  # every ledger file on the chain …
    assert all(len(v) == 1 for v in by_path.values())  # … exactly once
    late = by_path[unchained][0]
    assert late.detail["recovered"] is True and "chained by recovery" in late.detail["note"]
    assert late.detail["ledger_sha256"] == hashlib.sha256((env.lake / unchained).read_bytes()).hexdigest()
    # recovery chained it before the new run landed anything
    assert late.seq == 3 and [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert env.run_cli("audit", "verify").returncode == 0
    assert sum(r["rows_in"] for r in ledger_rows(env.lake, contract)) == N
    # and no audit byte carries personal data or a temp file left behind
    for p in (env.lake / "audit").rglob("*"):
        assert not p.name.endswith(".tmp")
        if p.is_file():  # hex digests aside (1 in ~700 has 13 digits with a valid check digit)
            assert not contains_citizen_id(_DIGEST.sub("-", p.read_text(encoding="utf-8")))
