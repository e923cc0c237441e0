"""The lake filesystem fills up during a batch: the run fails loudly, no partial or orphan file
becomes visible to a reader (readers join the ledger; no half-written Parquet, no temp file
left), and once space is back the next run lands every record exactly once.

Two ways to fill it, both real kernel errors on the engine's own writes:
* a tiny tmpfs mounted as the lake, nearly filled by a ballast file → ENOSPC (needs `mount`,
  which root has in CI and here; skipped where mounting is not permitted);
* RLIMIT_FSIZE on the `gdx ingest` process → EFBIG on the first write past the limit (Python
  ignores SIGXFSZ, so the write fails with an error instead of killing the process). Needs
  nothing: this one always runs."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from gdx.ingest.faults import read_trace
from gdx.sample import valid_records
from tests.integration import fault_matrix
from tests.integration.ingest_fixtures import assert_exact, ledger_rows, make_env, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # measured 146 + 206 s on a 2-core box at load ~11

N = 3000
BATCH = "500"
FSIZE_LIMIT = 24 * 1024  # a bronze file of 500 records is larger; a ledger file or lock is not


def _records() -> list[dict]:
    records = list(valid_records("pcd.air_quality_hourly", N, seed=21))
    for i in range(0, N, 41):
        records[i]["pm25"] = 9999.0  # some quarantine writes too
    return records


def _ingest(
    env, contract, trace: Path | None = None, fsize: int | None = None
) -> subprocess.CompletedProcess[str]:
    extra = {"GDX_FAULT_TRACE": str(trace)} if trace else {}

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "gdx.cli", "ingest", contract.id, "--batch-records", BATCH],
        env={**os.environ, **env.env, **extra}, capture_output=True, text=True, timeout=300,
        preexec_fn=limit if fsize else None,
    )  # fmt: skip


def _nothing_partial_is_visible(env, contract) -> int:
    """No temp file, every Parquet file whole, every committed batch's files present; returns the
    number of uncommitted (orphan) files, which readers ignore and the next run deletes."""
    import pyarrow.parquet as pq

    assert not [p for p in env.lake.rglob("*") if p.name.endswith(".tmp")]
    committed = {r["batch_id"]: r for r in ledger_rows(env.lake, contract)}
    for r in committed.values():
        for rel in (r["bronze_path"], r["quarantine_path"]):
            assert rel is None or (env.lake / rel).is_file(), rel
    orphans = 0
    for path in env.lake.rglob("*.parquet"):
        pq.read_metadata(path)  # a half-written file has no footer: this raises
        if path.relative_to(env.lake).parts[0] in ("bronze", "quarantine") and path.stem not in committed:
            orphans += 1
    return orphans


def _fill_and_recover(
    env, contract, published, trace: Path, failing, mechanism: str, errno_text: str
) -> None:
    failed = failing()
    assert failed.returncode not in (0, -9), failed.stderr[-3000:]  # loud, not a crash or success
    assert errno_text in failed.stderr, failed.stderr[-3000:]
    writer = "write_parquet" if "write_parquet" in failed.stderr else "audit append"
    assert writer == "write_parquet" or "gdx/audit" in failed.stderr, failed.stderr[-3000:]
    stages = [point for _, point, _ in read_trace(str(trace))]
    assert "after_consume" in stages, stages  # the write that failed was a batch's
    committed_before = sum(r["rows_in"] for r in ledger_rows(env.lake, contract))
    assert committed_before < len(published)
    orphans = _nothing_partial_is_visible(env, contract)
    during = fault_matrix.reconcile(env.lake, contract, published)
    assert during.duplicated == 0 and during.landed + during.quarantined == committed_before

    done = _ingest(env, contract)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_exact(published, env.lake, contract)
    assert _nothing_partial_is_visible(env, contract) == 0
    figures = fault_matrix.reconcile(env.lake, contract, published)
    assert (figures.lost, figures.duplicated) == (0, 0), figures
    fault_matrix.record(
        f"lake filesystem full mid-batch ({mechanism})", 1, figures,
        f"{errno_text} from {writer} after stage {stages[-1]} ({len(stages)} stages traced); "
        f"{committed_before} rows committed before, {orphans} orphan file(s) invisible to readers, "
        "no temp or partial file; next run landed the rest",
    )  # fmt: skip


def test_lake_file_size_limit_mid_batch_then_rerun(tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    published = publish(kafka_cluster, contract, _records())
    trace = tmp_path / "fsize.trace"
    _fill_and_recover(
        env, contract, published, trace, lambda: _ingest(env, contract, trace, fsize=FSIZE_LIMIT),
        "RLIMIT_FSIZE, EFBIG", "File too large",
    )  # fmt: skip


def test_lake_tmpfs_full_mid_batch_then_rerun(tmp_path, kafka_cluster) -> None:
    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    env.lake.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(env.lake)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the RLIMIT_FSIZE test covers EFBIG"
        )
    try:
        published = publish(kafka_cluster, contract, _records())
        # leave room for the first batch or two, not for all of them
        free = os.statvfs(env.lake).f_bavail * os.statvfs(env.lake).f_frsize
        ballast = env.lake / "ballast"
        ballast.write_bytes(b"\0" * (free - 96 * 1024))
        trace = tmp_path / "tmpfs.trace"

        def failing() -> subprocess.CompletedProcess[str]:
            result = _ingest(env, contract, trace)
            ballast.unlink()  # space is back for the next run
            return result

        _fill_and_recover(
            env, contract, published, trace, failing, "tmpfs, ENOSPC", "No space left on device"
        )
    finally:
        subprocess.run(["umount", "-l", str(env.lake)], check=False)
