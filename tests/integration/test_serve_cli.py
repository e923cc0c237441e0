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
