"""Throughput of the whole ingestion path (consume → decode → GX gate → Parquet → ledger → commit)
on ~250 B air-quality records with 1 % bad. Prints the measured rate; the assertion is only a
floor that catches an accidental order-of-magnitude regression on a loaded CI machine.
Size: GDX_BENCH_RECORDS (default 200 000)."""

from __future__ import annotations

import os
import random
import time

import pytest

from gdx.events import canonical_json, headers_for, record_key
from tests.integration.ingest_fixtures import ensure_topic, make_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _publish_fast(cluster, contract, n: int) -> None:
    from confluent_kafka import Producer

    ensure_topic(cluster, contract.topic, 3)
    p = Producer({**cluster.owner(contract).librdkafka(), "compression.type": "lz4", "linger.ms": 50,
                  "batch.size": 1_000_000, "queue.buffering.max.messages": 2_000_000})  # fmt: skip
    rnd = random.Random(1)
    for i in range(n):
        rec = {"station_id": f"{rnd.randint(10, 999)}t", "station_name_th": "สถานีตรวจวัดอากาศ ต.เวียง อ.เมือง",
               "province_code": "TH-57", "province_raw": "เชียงราย",
               "measured_at": f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:00:00+07:00",
               "pm25": round(rnd.uniform(0, 300), 1), "pm10": round(rnd.uniform(0, 400), 1), "o3": None,
               "co": 0.5, "no2": 12.0, "so2": None, "aqi": rnd.randint(0, 500)}  # fmt: skip
        if rnd.random() < 0.01:
            k = rnd.randint(0, 3)
            if k == 0:
                rec["pm25"] = "abc"
            elif k == 1:
                rec["pm25"] = 5000
            elif k == 2:
                rec["station_id"] = "xx"
            else:
                rec["province_code"] = None
        v = canonical_json(rec)
        while True:
            try:
                p.produce(contract.topic, v, record_key(contract, rec), headers=headers_for(contract, v))
                break
            except BufferError:
                p.poll(0.1)
        if i % 10_000 == 0:
            p.poll(0)
    assert p.flush(120) == 0


def test_throughput(tmp_path, kafka_cluster, monkeypatch, capsys) -> None:
    from gdx.ingest.gate import _gx_context
    from gdx.ingest.runner import run_ingest

    n = int(os.environ.get("GDX_BENCH_RECORDS", "200000"))
    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    contract = env.contract("pcd.air_quality_hourly")
    _publish_fast(kafka_cluster, contract, n)
    t = time.perf_counter()
    _gx_context()  # one-time GX import, reported separately
    warmup = time.perf_counter() - t
    cpu = time.process_time()
    summary = run_ingest(contract.id)
    cpu = time.process_time() - cpu
    assert summary.rows_in == n
    with capsys.disabled():
        print(
            f"\n[ingest throughput] {n:,} records: {summary.records_per_s:,.0f} records/s wall, "
            f"{n / cpu:,.0f} records per CPU-second; GX import {warmup:.1f} s; "
            f"stages {dict((k, round(v, 2)) for k, v in summary.timings.items())}"
        )
    assert summary.records_per_s > 10_000
