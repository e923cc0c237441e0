"""`gdx kafka up --brokers 3` / `status` / `down` as an operator runs them, in a private state
folder on free ports: three secured nodes with one cluster id, every principal provisioned and
the contracts' ACLs applied, and no Java process left after `down`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gdx.kafka_local import answers, free_port, port_in_use

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _gdx(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gdx.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _three_free_ports() -> int:
    for _ in range(50):
        base = free_port()
        if base + 2 < 65536 and not any(port_in_use(base + i) for i in (1, 2)):
            return base
    raise AssertionError("no three consecutive free ports")


def test_up_status_down_three_brokers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from confluent_kafka.admin import AdminClient

    from gdx.kafka_cluster import default_cluster
    from gdx.kafka_local import ensure_jars
    from gdx.security.kafka_conn import KafkaConnection
    from gdx.settings import Settings

    libs = ensure_jars(Settings.from_env())  # the session's jars: no second Maven assembly
    state = tmp_path / "state"
    (state / "kafka").mkdir(parents=True)
    (state / "kafka" / "libs").symlink_to(libs)
    env = {"GDX_STATE_DIR": str(state)}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "GDX_KAFKA_CLIENTS_DIR", "GDX_KAFKA_CLIENT_CONFIG"):
        env[name] = ""
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    base = _three_free_ports()
    up = _gdx(env, "kafka", "up", "--brokers", "3", "--port", str(base))
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        bootstrap = ",".join(f"127.0.0.1:{base + i}" for i in range(3))
        assert up.stdout.strip() == bootstrap
        assert "3 brokers" in up.stderr and "principals:" in up.stderr
        status = _gdx(env, "kafka", "status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "cluster: 3/3 brokers up" in status.stdout

        cluster = default_cluster(Settings.from_env())
        ids = {
            (n.home / "data" / "meta.properties").read_text().split("cluster.id=")[1].split()[0]
            for n in cluster.nodes
        }
        assert len(ids) == 1  # one cluster, formatted once per node with the same id
        # an agency's own client file reaches all three brokers, over SASL_SSL
        pcd = KafkaConnection.load(cluster.clients_dir / "pcd.properties", principal="pcd")
        assert pcd.bootstrap == bootstrap and pcd.security_protocol == "SASL_SSL"
        meta = AdminClient(pcd.librdkafka()).list_topics(timeout=10)
        assert sorted(meta.brokers) == [1, 2, 3]
        # unauthenticated plaintext is refused on every node
        assert not any(answers(KafkaConnection.plain(f"127.0.0.1:{base + i}"), 3.0) for i in range(3))

        again = _gdx(env, "kafka", "up", "--brokers", "3")
        assert again.returncode == 0 and "already running" in again.stderr, again.stderr[-2000:]
        single = _gdx(env, "kafka", "up")
        assert single.returncode != 0 and "three-broker cluster runs" in single.stderr + single.stdout
    finally:
        down = _gdx(env, "kafka", "down")
    assert down.returncode == 0 and "stopped" in down.stdout, down.stderr
    after = _gdx(env, "kafka", "status")
    assert after.returncode == 1
    assert not default_cluster(Settings.from_env()).running()
