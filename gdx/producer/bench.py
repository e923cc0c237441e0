"""Publish-throughput benchmark: `python -m gdx.producer.bench [--client-config FILE]`.

Measures, for already-normalised air-quality records (~310-byte values), the edge check alone,
the edge check + wire encoding, and the full publish (edge check + encoding + delivery with
acks=all, idempotence and lz4, until every record is acknowledged) per Kafka client; and the
whole file path (Air4Thai JSON → normalise → edge → Kafka). Each run uses a fresh topic.
"""

from __future__ import annotations

import argparse
import time
import uuid
from dataclasses import replace
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    from gdx.contracts.model import get_contract
    from gdx.producer.edge_check import EdgeChecker
    from gdx.producer.pipeline import encode, produce_file, publish_records
    from gdx.producer.publish import PublishOptions, fewer_gc_pauses
    from gdx.sample import generate, valid_records
    from gdx.security.kafka_conn import KafkaConnection, connection_for
    from gdx.security.principals import ADMIN

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--client-config",
        type=Path,
        help="librdkafka-form client config to publish with (default: gdx-admin's, see connection_for: "
        "each run writes a fresh topic, which no agency's ACLs cover)",
    )
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--clients", default="kafka-python,confluent")
    ap.add_argument("--file", action="store_true", help="also time the file path (sample JSON → Kafka)")
    args = ap.parse_args(argv)

    base = get_contract("pcd.air_quality_hourly")
    conn = KafkaConnection.load(args.client_config) if args.client_config else connection_for(ADMIN)
    records = list(valid_records(base.id, args.rows, seed=1))
    check = EdgeChecker(base).check
    with fewer_gc_pauses():
        t = time.perf_counter()
        assert not any(check(r) for r in records)
        edge = time.perf_counter() - t
        t = time.perf_counter()
        for r in records:
            if not check(r):
                encode(base, r)
        edge_enc = time.perf_counter() - t
    print(
        f"records: {args.rows:,}; edge check {args.rows / edge:,.0f}/s; edge+encode {args.rows / edge_enc:,.0f}/s"
    )
    for client in args.clients.split(","):
        contract = replace(base, topic=f"bench.{client}.{uuid.uuid4().hex[:8]}")
        result = publish_records(contract, records, conn, PublishOptions(client=client))
        print(
            f"{client}: published {result.published:,} failed {result.failed} in {result.seconds:.2f} s "
            f"= {result.published / result.seconds:,.0f} records/s (edge check + encode + acks=all delivery)"
        )
        if args.file:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                src = generate(base.id, args.rows, 0.0, seed=1, out=Path(tmp) / "air.json")
                contract = replace(base, topic=f"bench.file.{client}.{uuid.uuid4().hex[:8]}")
                t = time.perf_counter()
                res = produce_file(
                    contract,
                    src,
                    connection=conn,
                    options=PublishOptions(client=client),
                )
                dt = time.perf_counter() - t
                print(
                    f"{client} file path: {res.published:,} in {dt:.2f} s = {res.published / dt:,.0f} records/s"
                )


if __name__ == "__main__":
    main()
