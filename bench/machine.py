"""Machine and software facts recorded with every result file (a figure means little without them)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

LIBS = (
    "kafka-python", "confluent-kafka", "orjson", "pyarrow", "duckdb", "jsonschema", "fastjsonschema",
    "great-expectations", "pandas", "numpy", "dbt-core", "dbt-duckdb", "psutil", "rich", "lz4",
)  # fmt: skip


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _java() -> str | None:
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stderr or out.stdout).strip().splitlines()
    return text[0] if text else None


def _kafka_version() -> str | None:
    try:
        from gdx.settings import Settings

        libs = Settings.from_env().state_dir / "kafka" / "libs"
        jars = sorted(libs.glob("kafka_2.13-*.jar"))
        return jars[0].name.removeprefix("kafka_2.13-").removesuffix(".jar") if jars else None
    except Exception:  # informational only
        return None


def _git() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=20
        ).stdout
        return {"commit": commit or None, "dirty_files": len(dirty.splitlines())}
    except (OSError, subprocess.SubprocessError):
        return {}


def machine_info() -> dict[str, Any]:
    import psutil

    try:
        import confluent_kafka

        librdkafka = confluent_kafka.libversion()[0]
    except Exception:  # informational only
        librdkafka = None
    vm = psutil.virtual_memory()
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_bytes": vm.total,
        "memory_available_bytes": vm.available,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "java": _java(),
        "kafka_broker": _kafka_version(),
        "librdkafka": librdkafka,
        "libs": {name: _version(name) for name in LIBS},
        "git": _git(),
    }
