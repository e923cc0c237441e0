"""A run that has to wait for its dataset says for whom, since when and for how long at most:
the host's flock (`gdx.ingest.locking`) and the lake lease (`gdx.ingest.lease`)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from gdx.ingest.lakefs import Lake
from gdx.ingest.lease import DatasetLease, LeaseHeld
from gdx.ingest.locking import LockTimeout, dataset_lock, describe_holder

CID = "pcd.air_quality_hourly"


def test_lock_wait_names_the_holder_and_since_when(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with dataset_lock(tmp_path, CID, 5):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert held.wait(5)
        time.sleep(1.1)
        with caplog.at_level(logging.WARNING, logger="gdx.ingest.locking"), pytest.raises(LockTimeout):
            with dataset_lock(tmp_path, CID, 1.0):
                pass
    finally:
        release.set()
        t.join()
    (line,) = [r.getMessage() for r in caplog.records if "waiting for the dataset lock" in r.getMessage()]
    assert f"held by pid {os.getpid()} on {socket.gethostname()} since " in line
    assert "(up to 1 s)" in line
    ago = int(line.split(" s ago)")[0].rsplit("(", 1)[1])
    assert 1 <= ago <= 5, line


def test_describe_holder_of_old_and_empty_lock_files() -> None:
    assert describe_holder(b"4242\n") == "pid 4242"
    assert describe_holder(b"") == "an unknown run (empty lock file)"
    assert (
        describe_holder(b"7 h 1764771600\n", now=1764771660)
        == "pid 7 on h since 2025-12-03 14:20:00Z (60 s ago)"
    )


def test_lease_wait_names_the_holder_since_when_and_the_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = Lake(str(tmp_path / "lake"))
    a = DatasetLease(lake, CID, tmp_path / "host-a", ttl_s=30).acquire(1)
    try:
        with caplog.at_level(logging.WARNING, logger="gdx.ingest.lease"), pytest.raises(LeaseHeld):
            DatasetLease(lake, CID, tmp_path / "host-b", ttl_s=30).acquire(0.3)
    finally:
        a.release()
    (line,) = [r.getMessage() for r in caplog.records if "waiting for the lake lease" in r.getMessage()]
    assert f"run {a.run_id} (pid {os.getpid()} on {socket.gethostname()}" in line
    assert " since " in line and " s ago)" in line and line.endswith("(up to 0 s)")
