"""`gdx kafka up/status/down` manage one broker idempotently and leave no Java process behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gdx.kafka_local import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _gdx(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gdx.cli", *args], env=env, capture_output=True, text=True, timeout=180
    )


def _java_pids(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout
    return out.split()


def test_up_is_idempotent_and_down_leaves_no_java(tmp_path: Path) -> None:
    state = tmp_path / "state"
    jars = Path(__file__).resolve().parents[2] / ".gdx" / "kafka" / "libs"
    (state / "kafka").mkdir(parents=True)
    if jars.exists():  # reuse the Maven-assembled jars instead of copying 40 MB again
        (state / "kafka" / "libs").symlink_to(jars)
    env = _local_env(tmp_path)
    env["GDX_STATE_DIR"] = str(state)
    port = free_port()

    first = _gdx(env, "kafka", "up", "--port", str(port))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"127.0.0.1:{port}"
    try:
        pids = _java_pids(str(state))
        assert len(pids) == 1
        again = _gdx(env, "kafka", "up")
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == f"127.0.0.1:{port}"
        assert "already running" in again.stderr
        assert _java_pids(str(state)) == pids
        status = _gdx(env, "kafka", "status")
        assert status.returncode == 0 and status.stdout.startswith("up")
        assert "SASL_SSL/SCRAM-SHA-512" in status.stdout
        _check_credentials_cli(env, state / "kafka" / "clients", tmp_path / "lake")
    finally:
        down = _gdx(env, "kafka", "down")
    assert down.returncode == 0 and down.stdout.strip() == "stopped"
    assert _java_pids(str(state)) == []
    assert _gdx(env, "kafka", "status").returncode == 1


def _local_env(tmp_path: Path) -> dict[str, str]:
    """No existing cluster configured; the audit log in a scratch lake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "GDX_KAFKA_"))}
    env["GDX_LAKE_ROOT"] = str(tmp_path / "lake")
    return env


def _check_credentials_cli(env: dict[str, str], clients: Path, lake: Path) -> None:
    """`gdx kafka up` provisioned every principal; provision again keeps them; rotate changes one."""
    from gdx.audit import AuditLog
    from gdx.kafka_local import answers
    from gdx.security.kafka_conn import KafkaConnection
    from gdx.security.principals import all_principals
    from gdx.settings import Settings

    principals = all_principals()
    before = {p: (clients / f"{p}.properties").read_bytes() for p in principals}
    again = _gdx(env, "agencies", "provision")
    assert again.returncode == 0, again.stderr
    assert "created" not in again.stdout and "kept: gdx-ingest, gdx-catalog, gdx-admin" in again.stdout
    assert {p: (clients / f"{p}.properties").read_bytes() for p in principals} == before
    rotated = _gdx(env, "agencies", "rotate", "moi")
    assert rotated.returncode == 0, rotated.stderr
    assert (clients / "moi.properties").read_bytes() != before["moi"]
    assert answers(KafkaConnection.load(clients / "moi.properties"))
    assert all((clients / f"{p}.properties").read_bytes() == before[p] for p in principals if p != "moi")
    unknown = _gdx(env, "agencies", "rotate", "nobody")
    assert unknown.returncode == 1 and "unknown principal" in unknown.stderr
    log = AuditLog.from_settings(Settings(lake_root=str(lake)))
    entries = [(e.action, e.principal) for e in log.entries()]
    assert ("credential.provision", "pcd") in entries and ("credential.rotate", "moi") in entries
    assert any(action == "acl.add" for action, _ in entries)  # `gdx kafka up` applied the ACLs


def test_up_reports_a_taken_port(tmp_path: Path) -> None:
    import socket

    env = _local_env(tmp_path)
    env["GDX_STATE_DIR"] = str(tmp_path)
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = _gdx(env, "kafka", "up", "--port", str(port))
    assert result.returncode == 1
    assert f"port {port}" in result.stderr and "already taken" in result.stderr
    assert "Traceback" not in result.stderr
