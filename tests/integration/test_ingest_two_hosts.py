"""Two ingestion runs of one dataset on two "hosts" — separate state folders, so the per-host flock
cannot serialise them — sharing one lake, local and on a real S3 server (S3Proxy).

Run A freezes itself mid-batch (`GDX_FAULT=after_dlq_publish@2` with `GDX_FAULT_SIGNAL=STOP`: its
second batch's bronze and quarantine files are written, its ledger entry is not — exactly the
uncommitted files a second copy's recovery used to delete before the first committed them), and run B starts while A is frozen, which proves the two
overlap in time. Then:

* A's lease is live (TTL 60 s): B waits on it (its log names A's run), A is woken, finishes, and B
  runs after it;
* A's lease is short (TTL 3 s): it expires while A is frozen, B takes it over with the next
  fencing token, recovers (deleting A's uncommitted file) and lands everything; A is woken and is
  fenced: it fails saying so, and the lake is byte-for-byte what B left.

Either way the lake holds every acknowledged record exactly once (`fault_matrix.reconcile`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gdx.ingest.lakefs import Lake
from gdx.sample import valid_records
from tests.integration.fault_matrix import reconcile, record
from tests.integration.ingest_fixtures import make_env, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 800
BATCH = "400"
FREEZE = {"GDX_FAULT": "after_dlq_publish@2", "GDX_FAULT_SIGNAL": "STOP"}


def _records() -> list[dict[str, Any]]:
    records = list(valid_records("pcd.air_quality_hourly", N, seed=12))
    for i in range(0, N, 29):
        records[i]["pm25"] = 9999.0  # some of every batch is quarantined
    return records


def _start(
    env: Any, contract_id: str, state: Path, log: Path, extra: dict[str, str]
) -> subprocess.Popen[bytes]:
    full = {**os.environ, **env.env, "GDX_STATE_DIR": str(state), **extra}
    with open(log, "wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "gdx.cli", "ingest", contract_id, "--batch-records", BATCH],
            env=full, stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]


def _wait(what: str, done: Any, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _lease(lake: Lake, contract_id: str) -> dict[str, Any]:
    """The current lease file, read as an operator would (highest token)."""
    from gdx.ingest.lease import _store

    store = _store(lake, contract_id)
    holder, _ = store.read(store.tokens()[-1])
    return json.loads(holder.to_bytes())


def _snapshot(lake: Lake) -> dict[str, int]:
    return {f.path: f.size for f in lake.list("") if not f.path.startswith("_leases/")}


def _uncommitted_bronze(lake: Lake, contract: Any) -> list[str]:
    from gdx.ingest import ledger
    from gdx.ingest.paths import BatchName, bronze_root

    committed = {n.stem for n in ledger.committed_names(lake, contract)}
    return [
        f.path
        for f in lake.list(bronze_root(contract))
        if (n := BatchName.parse(f.path)) and n.stem not in committed
    ]


def _two_hosts(
    tmp_path: Path, kafka_cluster: Any, monkeypatch: pytest.MonkeyPatch, s3: Any, takeover: bool
) -> None:
    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    if s3 is not None:
        s3_env = s3.env(f"two-hosts-{env.suffix}")
        env.env.update(s3_env)
        for k, v in s3_env.items():
            monkeypatch.setenv(k, v)
    lake = Lake(env.env["GDX_LAKE_ROOT"])
    contract = env.contract("pcd.air_quality_hourly")
    published = publish(kafka_cluster, contract, _records())
    ttl_a = "3" if takeover else "60"

    a = _start(
        env, contract.id, tmp_path / "host-a", tmp_path / "a.log", {**FREEZE, "GDX_LEASE_TTL_S": ttl_a}
    )
    try:
        _wait("run A to freeze mid-batch", lambda: a.poll() is not None or _state(a.pid) == "T")
        assert a.poll() is None, (tmp_path / "a.log").read_text()[-3000:]
        lease_a = _lease(lake, contract.id)
        assert lease_a["pid"] == a.pid and not lease_a["released"]
        orphans = _uncommitted_bronze(lake, contract)
        assert orphans, "A froze with no uncommitted bronze file: not mid-batch"
        t_b = time.time()
        b = _start(env, contract.id, tmp_path / "host-b", tmp_path / "b.log", {"GDX_LEASE_TTL_S": "60"})
        if takeover:
            b_out = b.wait(240)
            b_log = (tmp_path / "b.log").read_text()
            assert b_out == 0, b_log[-3000:]
            assert _state(a.pid) == "T"  # A stayed frozen, alive, all through B's run
            assert f"took over the lake lease from token {lease_a['token']}, run {lease_a['run_id']}" in b_log
            lease_b = _lease(lake, contract.id)
            assert lease_b["token"] == lease_a["token"] + 1 and lease_b["released"]
            # B's recovery deleted A's uncommitted file (then landed that range itself, committed)
            assert all(p in b_log for p in orphans) and "removed" in b_log, b_log[-3000:]
            assert not _uncommitted_bronze(lake, contract)
            before = _snapshot(lake)
            os.kill(a.pid, signal.SIGCONT)
            a_out = a.wait(120)
            a_log = (tmp_path / "a.log").read_text()
            assert a_out == 1, a_log[-3000:]
            assert "is fenced — the lease was taken over" in a_log and f"token {lease_b['token']}" in a_log
            assert "refusing to write ledger/" in a_log  # its first act on waking: the commit, refused
            assert _snapshot(lake) == before  # woken up, A committed, wrote and deleted nothing
            proof = (
                f"A frozen (SIGSTOP) after bronze {orphans[0].rsplit('/', 1)[-1]} with its lease of TTL 3 s; "
                f"B took over token {lease_a['token']}→{lease_b['token']}, deleted it, landed all; "
                "A woken: fenced, lake unchanged"
            )
        else:
            _wait(
                "B to wait on A's lease",
                lambda: "waiting for the lake lease" in (tmp_path / "b.log").read_text(),
            )
            assert b.poll() is None and _state(a.pid) == "T"
            assert (
                f"held by token {lease_a['token']}, run {lease_a['run_id']}"
                in (tmp_path / "b.log").read_text()
            )
            os.kill(a.pid, signal.SIGCONT)
            assert a.wait(240) == 0, (tmp_path / "a.log").read_text()[-3000:]
            t_a_end = time.time()
            assert b.wait(240) == 0, (tmp_path / "b.log").read_text()[-3000:]
            assert t_b < t_a_end  # B started before A ended: they overlapped
            lease_b = _lease(lake, contract.id)
            assert lease_b["token"] == lease_a["token"] + 1 and lease_b["released"]
            assert all(lake.exists(p) for p in orphans)  # A's file, committed by A, untouched by B
            proof = (
                f"A frozen mid-batch (uncommitted {orphans[0].rsplit('/', 1)[-1]}); B started "
                f"{time.time() - t_b:.0f} s before its end, logged waiting on A's lease (run {lease_a['run_id']}), "
                "ran after A released it"
            )
    finally:
        for p in (a,):
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait(30)
    figures = reconcile(lake, contract, published)
    kind = "S3" if s3 is not None else "local"
    what = (
        "lease expired while A frozen, B took over, A fenced" if takeover else "second run waits on the lease"
    )
    record(f"two hosts on one lake, overlapping: {what} ({kind})", 1, figures, proof)
    assert figures.lost == 0 and figures.duplicated == 0, figures
    assert figures.landed + figures.quarantined == N
    assert figures.quarantined == len(range(0, N, 29))


@pytest.mark.parametrize("takeover", [False, True], ids=["wait", "takeover"])
def test_two_hosts_local_lake(tmp_path, kafka_cluster, monkeypatch, takeover) -> None:
    _two_hosts(tmp_path, kafka_cluster, monkeypatch, None, takeover)


@pytest.mark.parametrize("takeover", [False, True], ids=["wait", "takeover"])
def test_two_hosts_s3_lake(tmp_path, kafka_cluster, monkeypatch, s3_server, takeover) -> None:
    _two_hosts(tmp_path, kafka_cluster, monkeypatch, s3_server, takeover)
