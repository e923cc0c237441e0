"""The three-broker test cluster, started the way an operator starts it: `gdx kafka up --brokers 3`
in a subprocess, with a private state folder (the session's broker jars linked in, so Maven does
not assemble them twice) and three consecutive free ports; `gdx kafka down` stops it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gdx.kafka_cluster import LocalCluster
from gdx.kafka_local import ensure_jars, free_port, port_in_use
from gdx.settings import Settings

EXTERNAL = ("KAFKA_BOOTSTRAP_SERVERS", "GDX_KAFKA_CLIENTS_DIR", "GDX_KAFKA_CLIENT_CONFIG")


@dataclass
class CliCluster:
    cluster: LocalCluster
    env: dict[str, str]  # what points `gdx` at this cluster's state folder
    up: subprocess.CompletedProcess[str]
    seconds: float

    def gdx(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return gdx(self.env, *args, timeout=timeout)


def gdx(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gdx.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def three_free_ports() -> int:
    """A first port whose two successors are free too (the nodes take base, base+1, base+2)."""
    for _ in range(50):
        base = free_port()
        if base + 2 < 65536 and not any(port_in_use(base + i) for i in (1, 2)):
            return base
    raise RuntimeError("no three consecutive free ports on 127.0.0.1")


@contextmanager
def cli_cluster(root: Path, attempts: int = 3) -> Iterator[CliCluster]:
    libs = ensure_jars(Settings.from_env())
    failures = []
    for attempt in range(attempts):  # a free port can be taken between the check and the start
        state = root / f"state-{attempt}"
        (state / "kafka").mkdir(parents=True)
        (state / "kafka" / "libs").symlink_to(libs)
        env = {"GDX_STATE_DIR": str(state), **dict.fromkeys(EXTERNAL, "")}
        cluster = LocalCluster(
            home=state / "kafka" / "cluster",
            clients_dir=state / "kafka" / "clients",
            tls_dir=state / "kafka" / "tls",
        )
        started = time.monotonic()
        up = gdx(env, "kafka", "up", "--brokers", "3", "--port", str(three_free_ports()))
        seconds = time.monotonic() - started
        if up.returncode == 0:
            break
        gdx(env, "kafka", "down")
        failures.append(up.stderr[-2000:])
    else:
        raise RuntimeError("`gdx kafka up --brokers 3` failed:\n" + "\n---\n".join(failures))
    cluster = LocalCluster(
        home=cluster.home, clients_dir=cluster.clients_dir, tls_dir=cluster.tls_dir
    )  # its ports
    try:
        yield CliCluster(cluster, env, up, seconds)
    finally:
        down = gdx(env, "kafka", "down")
        left = cluster.running()
        if down.returncode != 0 or left:
            cluster.stop()
            raise RuntimeError(f"`gdx kafka down` left nodes {left} running: {down.stdout}{down.stderr}")
