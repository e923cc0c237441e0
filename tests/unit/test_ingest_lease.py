"""The lake lease (`gdx.ingest.lease`) on a local folder and on a real S3 server (S3Proxy, the
`s3_server` fixture): exclusive acquisition, waiting and timing out on a live lease, expiry and
takeover with a larger fencing token, and a fenced run refused every write and deletion."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from gdx.ingest import recovery
from gdx.ingest.lakefs import Lake
from gdx.ingest.lease import DatasetLease, Fenced, LeaseHeld, dataset_guard

CID = "pcd.air_quality_hourly"


@pytest.fixture(params=["local", "s3"])
def lake(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    if request.param == "local":
        return Lake(str(tmp_path / "lake"))
    server = request.getfixturevalue("s3_server")
    env = server.env(f"lease-{request.node.name}-{time.time_ns()}".replace("[", "-").replace("]", ""))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return Lake(env["GDX_LAKE_ROOT"])


def _pause(lease: DatasetLease) -> None:
    """What SIGSTOP does to a run's lease: its heartbeat stops renewing it."""
    lease._stop.set()
    if lease._heartbeat is not None:
        lease._heartbeat.join(5)


def _table() -> pa.Table:
    return pa.table({"x": [1, 2, 3]})


def test_acquire_is_exclusive_and_tokens_only_grow(lake: Lake, tmp_path: Path) -> None:
    a = DatasetLease(lake, CID, tmp_path / "host-a", ttl_s=30).acquire(1)
    assert a.token == 1
    holder, _ = a.store.read(1)
    assert (holder.run_id, holder.state_dir, holder.released) == (
        a.run_id,
        str((tmp_path / "host-a").resolve()),
        False,
    )
    assert holder.expires_at - holder.acquired_at == pytest.approx(30)
    b = DatasetLease(lake, CID, tmp_path / "host-b", ttl_s=30)
    t0 = time.monotonic()
    with pytest.raises(LeaseHeld) as held:
        b.acquire(0.6)
    assert time.monotonic() - t0 >= 0.6
    assert a.run_id in str(held.value) and "host-a" in str(held.value)
    a.check("write", "bronze/x")  # the holder passes
    a.release()
    assert a.store.read(1)[0].released
    b.acquire(1)
    assert b.token == 2 and b.took_over is None  # a released lease is free: no takeover
    with pytest.raises(Fenced, match="taken over"):
        a.check("write", "bronze/x")
    b.release()
    c = DatasetLease(lake, CID, tmp_path / "host-a", ttl_s=30).acquire(1)
    assert c.token == 3
    c.release()


def test_expired_lease_is_taken_over_and_the_old_holder_is_fenced(lake: Lake, tmp_path: Path) -> None:
    a = DatasetLease(lake, CID, tmp_path / "host-a", ttl_s=1.2).acquire(1)
    _pause(a)
    b = DatasetLease(lake, CID, tmp_path / "host-b", ttl_s=30)
    t0 = time.monotonic()
    b.acquire(10)
    waited = time.monotonic() - t0
    assert 0.3 < waited < 5, waited  # waited for the expiry, no longer
    assert b.token == a.token + 1
    assert b.took_over is not None and b.took_over.run_id == a.run_id
    # A wakes up: renewal refused, every check fenced, its release leaves B's lease alone
    assert not a.renew() and a.lost
    with pytest.raises(Fenced, match=f"run {a.run_id}.*taken over.*refusing to write ledger/x"):
        a.check("write", "ledger/x")
    a.release()
    b.check("delete", "bronze/x")
    assert not b.store.read(b.token)[0].released
    b.release()


def test_an_expired_lease_is_never_revived(lake: Lake, tmp_path: Path) -> None:
    a = DatasetLease(lake, CID, tmp_path / "host-a", ttl_s=0.8).acquire(1)
    _pause(a)
    time.sleep(1.0)  # expired, and nobody took it over yet
    assert not a.renew() and "expired" in (a.lost or "")
    with pytest.raises(Fenced, match="expires in -"):
        a.check()


def test_heartbeat_keeps_a_live_lease(lake: Lake, tmp_path: Path) -> None:
    # a TTL of seconds, not fractions: a loaded box (the suite's lanes, a busy S3 server) can
    # delay one renewal by a second without the lease having been lost
    a = DatasetLease(lake, CID, tmp_path / "host-a", ttl_s=4.0).acquire(1)
    first = a.store.read(a.token)[0].expires_at
    time.sleep(6.0)  # longer than the TTL: only renewals keep it
    a.check()
    assert a.store.read(a.token)[0].expires_at > first + 1.0
    with pytest.raises(LeaseHeld):
        DatasetLease(lake, CID, tmp_path / "host-b", ttl_s=4.0).acquire(0.3)
    a.release()


def test_racing_takeovers_have_one_winner(lake: Lake, tmp_path: Path) -> None:
    stale = DatasetLease(lake, CID, tmp_path / "host-0", ttl_s=0.5).acquire(1)
    _pause(stale)
    time.sleep(0.6)
    racers = [DatasetLease(lake, CID, tmp_path / f"host-{i}", ttl_s=30) for i in range(1, 6)]
    barrier = threading.Barrier(len(racers))
    outcome: dict[int, str] = {}

    def race(i: int, lease: DatasetLease) -> None:
        barrier.wait()
        try:
            lease.acquire(1.0)
            outcome[i] = "won"
        except LeaseHeld:
            outcome[i] = "held"

    threads = [threading.Thread(target=race, args=(i, r)) for i, r in enumerate(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcome.values()) == ["held"] * 4 + ["won"], outcome
    winner = next(r for i, r in enumerate(racers) if outcome[i] == "won")
    assert winner.token == stale.token + 1 and winner.store.tokens()[-1] == winner.token
    winner.release()


def test_fenced_writer_can_neither_write_nor_delete(lake: Lake, tmp_path: Path) -> None:
    lake.write_parquet("bronze/a/b/v1/ingest_date=2026-01-01/orphan.parquet", _table())
    a = DatasetLease(lake, CID, tmp_path / "host-a", ttl_s=1.0).acquire(1)
    lake.fence = a.check
    lake.write_parquet("bronze/a/b/v1/ingest_date=2026-01-01/ok.parquet", _table())  # holder: allowed
    _pause(a)
    b = DatasetLease(lake, CID, tmp_path / "host-b", ttl_s=30).acquire(10)
    with pytest.raises(Fenced):
        lake.write_parquet("bronze/a/b/v1/ingest_date=2026-01-01/late.parquet", _table())
    with pytest.raises(Fenced):
        lake.write_parquet("ledger/a/b/late.parquet", _table(), exclusive=True)
    plan = recovery.RecoveryPlan(
        orphans=["bronze/a/b/v1/ingest_date=2026-01-01/orphan.parquet"], contract_id=CID
    )
    with pytest.raises(
        Fenced, match="refusing to delete bronze/a/b/v1/ingest_date=2026-01-01/orphan.parquet"
    ):
        recovery.clean(lake, plan)
    names = {f.path.rsplit("/", 1)[-1] for f in lake.list("")}
    assert {"orphan.parquet", "ok.parquet"} <= names
    assert "late.parquet" not in names  # nothing became visible, temp files included
    assert not any(n.endswith(".tmp") for n in names)
    lake.fence = b.check  # the new holder deletes what it must
    recovery.clean(lake, plan)
    assert not lake.exists("bronze/a/b/v1/ingest_date=2026-01-01/orphan.parquet")
    b.release()


def test_ledger_commit_is_create_once(lake: Lake) -> None:
    lake.write_parquet("ledger/a/b/t+0+0-9.parquet", pa.table({"run": ["first"]}), exclusive=True)
    with pytest.raises(Fenced, match="another run committed this batch"):
        lake.write_parquet("ledger/a/b/t+0+0-9.parquet", pa.table({"run": ["second"]}), exclusive=True)
    assert lake.read_parquet("ledger/a/b/t+0+0-9.parquet")["run"].to_pylist() == ["first"]
    assert [f.path for f in lake.list("ledger")] == ["ledger/a/b/t+0+0-9.parquet"]


def test_dead_run_of_this_host_and_state_folder_is_taken_over_at_once(lake: Lake, tmp_path: Path) -> None:
    state = tmp_path / "state"
    crashed = DatasetLease(lake, CID, state, ttl_s=60).acquire(1)
    _pause(crashed)  # as if SIGKILLed: the lease stays live for a minute
    t0 = time.monotonic()
    with dataset_guard(lake, state, CID, 5) as lease:  # holds the flock: the old holder is dead
        assert time.monotonic() - t0 < 2
        assert lease.token == crashed.token + 1 and lease.took_over.run_id == crashed.run_id
        assert lake.fence == lease.check
    assert lake.fence is None and lease.store.read(lease.token)[0].released
    # another state folder (another host) does not get that shortcut
    other = DatasetLease(lake, CID, state, ttl_s=60).acquire(1)
    _pause(other)
    with pytest.raises(LeaseHeld):
        with dataset_guard(lake, tmp_path / "elsewhere", CID, 0.5):
            pass


def test_old_tenures_are_pruned_and_the_token_still_grows(lake: Lake, tmp_path: Path) -> None:
    for _ in range(6):
        DatasetLease(lake, CID, tmp_path / "host-a", ttl_s=30).acquire(1).release()
    lease = DatasetLease(lake, CID, tmp_path / "host-b", ttl_s=30).acquire(1)
    assert lease.token == 7 and lease.store.tokens() == [4, 5, 6, 7]
    lease.release()
