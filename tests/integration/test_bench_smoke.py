"""`python -m bench` end to end on a tiny run of its fast stages: the JSON has what readers expect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_fast_stages(tmp_path: Path) -> None:
    out = tmp_path / "results"
    env = {**os.environ, "TQDM_DISABLE": "1"}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)  # the harness always starts its own throwaway broker
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--records",
            "20000",
            "--repeats",
            "1",
            "--stages",
            "decode_write,consume,security",
            "--out",
            str(out),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    latest = out / "latest.json"
    assert latest.exists()
    stamped = [p for p in out.glob("*.json") if p.name != "latest.json"]
    assert len(stamped) == 1 and stamped[0].read_text() == latest.read_text()
    data = json.loads(latest.read_text())

    assert {"config", "machine", "setup", "measurements", "targets", "findings", "failed"} <= set(data)
    assert data["failed"] == []
    assert data["config"]["records"] == 20_000 and data["config"]["repeats"] == 1
    for key in ("cpu_model", "logical_cores", "memory_bytes", "python", "libs"):
        assert data["machine"][key], key
    assert data["machine"]["libs"]["pyarrow"] and data["machine"]["libs"]["confluent-kafka"]
    assert data["setup"]["wire_dataset"]["records"] == 20_000
    assert data["setup"]["wire_dataset"]["bad"] == 200

    m = data["measurements"]
    for key in ("decode_write.orjson_pyarrow", "consume.kafka_python", "consume.confluent"):
        assert m[key]["status"] == "ok", (key, m[key]["note"])
        assert m[key]["unit"] == "rec/s"
        assert m[key]["n"] == 1 and m[key]["median"] > 0
        assert m[key]["min"] <= m[key]["median"] <= m[key]["max"]
    assert all(r["records"] == 20_000 for r in m["consume.kafka_python"]["repeats"])
    ratio = m["consume.confluent"]["speed_ratio"]["consume.kafka_python"]
    assert ratio == pytest.approx(m["consume.confluent"]["median"] / m["consume.kafka_python"]["median"])
    arrow = m["decode_write.pyarrow_json"]["speed_ratio"]["decode_write.orjson_pyarrow"]
    assert arrow == pytest.approx(
        m["decode_write.pyarrow_json"]["median"] / m["decode_write.orjson_pyarrow"]["median"]
    )
    # stages that were not selected are not in the file; targets of those stages are "not run"
    assert not any(k.startswith(("ingest.", "publish.", "dbt.")) for k in m)
    targets = {t["id"]: t for t in data["targets"]}
    assert targets["ingest_rate"]["value"] is None and targets["ingest_rate"]["met"] is None
    assert any("confluent-kafka" in f for f in data["findings"])

    # security: both brokers ran the same work exactly (the stage fails a repeat whose lake or
    # rejects are not exact), and the targets are the same-run ratios secure / plain
    sec = {k: m[k] for k in m if k.startswith("security.")}
    assert set(sec) == {
        "security.publish_sasl_ssl", "security.publish_plain", "security.ingest_sasl_ssl", "security.ingest_plain",
    }  # fmt: skip
    for key, row in sec.items():
        assert row["status"] == "ok" and row["n"] == 1 and row["median"] > 0, (key, row["note"])
    for key in ("security.ingest_sasl_ssl", "security.ingest_plain"):
        assert m[key]["repeats"][0]["verify"]["ok"]
    for key in ("security.publish_sasl_ssl", "security.publish_plain"):
        assert m[key]["repeats"][0]["exact"] and m[key]["repeats"][0]["published"] > 0
    for tid, ours, base in (
        ("security_publish", "security.publish_sasl_ssl", "security.publish_plain"),
        ("security_ingest", "security.ingest_sasl_ssl", "security.ingest_plain"),
    ):
        assert targets[tid]["value"] == pytest.approx(m[ours]["median"] / m[base]["median"])
