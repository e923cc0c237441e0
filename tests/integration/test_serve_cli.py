"""`gdx serve` as an operator runs it: configuration from the environment, clear errors."""

# The fixtures come from serve_fixtures (tests/conftest.py is shared): test arguments named like
# them shadow the import on purpose.
# ruff: noqa: F811

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import ckanapi
import pytest

from tests.integration.serve_fixtures import REPO_ROOT, ServeWarehouse, free_port, serve_warehouse  # noqa: F401

pytestmark = pytest.mark.integration


def _env(warehouse: ServeWarehouse, **extra: str) -> dict[str, str]:
    env = os.environ.copy()
    env.update(GDX_WAREHOUSE=str(warehouse.warehouse), GDX_LAKE_ROOT=str(warehouse.lake_root), **extra)
    return env


def test_gdx_serve_answers_ckanapi(serve_warehouse: ServeWarehouse) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gdx.cli", "serve", "--log-level", "warning"],
        cwd=REPO_ROOT,
        env=_env(serve_warehouse, GDX_SERVE_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        client = ckanapi.RemoteCKAN(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                assert client.action.status_show()["site_title"]
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert "pcd-air-quality-hourly" in client.action.package_list()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    assert f"serving http://127.0.0.1:{port}/" in stderr


def test_bad_port_setting_is_one_clear_error(serve_warehouse: ServeWarehouse) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gdx.cli", "serve"],
        cwd=REPO_ROOT,
        env=_env(serve_warehouse, GDX_SERVE_PORT="http"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "error: GDX_SERVE_PORT='http' is not a port number"


def test_port_in_use_is_one_clear_error(serve_warehouse: ServeWarehouse) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "gdx.cli", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=_env(serve_warehouse),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")


def _worker_of_connection(server_pid: int, server_port: int, client_port: int) -> int:
    """The worker process holding the server side of a loopback connection (/proc/net/tcp's
    socket inode, then the worker whose file descriptors include that socket)."""
    inode = None
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(a.split(":")[1], 16) for a in fields[1:3])
        if local == server_port and remote == client_port:
            inode = fields[9]
    assert inode, f"no server socket for client port {client_port}"
    children = open(f"/proc/{server_pid}/task/{server_pid}/children").read().split()
    for child in children:
        for fd in os.listdir(f"/proc/{child}/fd"):
            try:
                if os.readlink(f"/proc/{child}/fd/{fd}") == f"socket:[{inode}]":
                    return int(child)
            except OSError:
                continue
    raise AssertionError(f"no worker holds socket {inode}")


def test_every_worker_serves_an_edited_contract(serve_warehouse: ServeWarehouse, tmp_path) -> None:
    import http.client
    import json
    import shutil

    contracts = tmp_path / "repo" / "contracts"
    shutil.copytree(REPO_ROOT / "contracts", contracts, ignore=shutil.ignore_patterns("_generated"))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gdx.cli", "serve", "--workers", "2", "--log-level", "warning"],
        cwd=REPO_ROOT,
        env=_env(serve_warehouse, GDX_SERVE_PORT=str(port), GDX_CONTRACTS_DIR=str(contracts)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    path = "/api/3/action/package_show?id=pcd.air_quality_hourly"

    def title(conn: http.client.HTTPConnection) -> str:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        return json.loads(body)["result"]["title"]

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        # keep-alive connections until each of the two workers holds at least one
        by_worker: dict[int, http.client.HTTPConnection] = {}
        opened = []
        while len(by_worker) < 2 and len(opened) < 200:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            assert title(conn) == "คุณภาพอากาศรายชั่วโมง (Air4Thai)"
            opened.append(conn)
            worker = _worker_of_connection(process.pid, port, conn.sock.getsockname()[1])
            by_worker.setdefault(worker, conn)
        assert len(by_worker) == 2, "the kernel never gave a connection to the second worker"

        target = contracts / "pcd" / "air_quality_hourly.yaml"
        target.write_text(
            target.read_text(encoding="utf-8").replace(
                "value: คุณภาพอากาศรายชั่วโมง (Air4Thai)", "value: คุณภาพอากาศ ฉบับแก้ไข"
            ),
            encoding="utf-8",
        )
        edited = time.monotonic()
        for worker, conn in by_worker.items():
            while title(conn) != "คุณภาพอากาศ ฉบับแก้ไข":
                assert time.monotonic() - edited < 15, f"worker {worker} still serves the old contract"
                time.sleep(0.2)
        for conn in opened:
            conn.close()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "with 2 worker(s)" in stderr
    assert process.returncode == 0, stderr[-2000:]
