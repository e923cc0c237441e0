"""One ingestion run per dataset at a time: an `fcntl.flock` on `GDX_STATE_DIR/locks/<id>.lock`.

Airflow may run two copies of a task (a retry while a zombie still runs, a manual trigger next to
the schedule). The second run waits for the lock and then recovers from the first run's ledger,
so it continues where the first stopped instead of landing the same offsets again. The kernel
drops a flock when its process dies — SIGKILL included — so a crash never leaves a stale lock.

Limits: flock is per host (and unreliable on NFS). Across hosts — Airflow workers on several
machines, a lake on S3 — the single writer is the lake lease of `gdx.ingest.lease`, taken right
after this lock (`dataset_guard`), whose fencing token every lake write and deletion checks; the
generated DAGs also run each dataset's ingest task in a one-slot Airflow pool. The consumer group
offers no such guarantee: partitions are assigned manually, not through group rebalancing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


class LockTimeout(TimeoutError):
    """Another run held the dataset lock for longer than the timeout."""


def describe_holder(content: bytes, now: float | None = None) -> str:
    """`pid 123 on host-a since 2026-12-03 14:20:00Z (95 s ago)` from a lock file's first line
    (`<pid> <host> <epoch s>`; older files hold the pid only)."""
    from datetime import UTC, datetime

    fields = content.decode(errors="replace").split()
    if not fields:
        return "an unknown run (empty lock file)"
    text = f"pid {fields[0]}"
    if len(fields) >= 2:
        text += f" on {fields[1]}"
    if len(fields) >= 3:
        try:
            since = float(fields[2])
        except ValueError:
            return text
        now = time.time() if now is None else now
        stamp = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        text += f" since {stamp} ({now - since:.0f} s ago)"
    return text


@contextmanager
def dataset_lock(state_dir: Path, contract_id: str, timeout_s: float) -> Iterator[Path]:
    folder = Path(state_dir) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"ingest.{contract_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout_s
    waiting = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waiting:  # an operator seeing two copies wants to know which one holds it
                    waiting = True
                    log.warning("%s: waiting for the dataset lock %s held by %s (up to %.0f s)",
                                contract_id, path, describe_holder(os.pread(fd, 256, 0)), timeout_s)  # fmt: skip
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"another ingestion of {contract_id} holds {path} (waited {timeout_s:.0f} s)"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        # who and since when, for the log line of the next run that has to wait
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode())
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
