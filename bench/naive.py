"""The naive ingestion baseline: per-record `jsonschema` + Great Expectations on a pandas frame.

What a first implementation typically looks like, end to end on the same topic:
kafka-python poll loop with default settings → `json.loads` per record → `jsonschema` validator
(the contract's `to_jsonschema`, with format checking) per record → pandas DataFrame of the decoded
dicts (`gdx.contracts.rules.validation_frame`, i.e. typed and with the `_rule_*` columns the suite
expects) → the contract's GX suite (`to_gx_suite`) with result_format COMPLETE to find the failing
rows → valid rows to zstd Parquet with pandas, rejected rows to a quarantine Parquet.

It is measured on a subset (default the first 100k records of the topic) and its rate is
extrapolated to the full run; the table says so.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from bench import stats
from gdx.security.kafka_conn import KafkaConnection


def validate(contract: Any, values: list[bytes]) -> tuple[set[int], dict[str, Any]]:
    """Indices of rejected records (JSON, JSON Schema, GX), with a breakdown of where time went."""
    import logging
    import os

    import great_expectations as gx
    import great_expectations.validator.validation_graph as graph
    import jsonschema

    from gdx.contracts.exporters import to_gx_suite, to_jsonschema
    from gdx.contracts.rules import validation_frame

    # no progress bar per validation, no INFO chatter (the same quietening the engine applies)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    if not getattr(graph.tqdm, "_gdx_quiet", False):
        # GX passes disable=… explicitly, so functools.partial(tqdm, disable=True) would be overridden
        original = graph.tqdm

        def quiet_tqdm(*args: Any, **kwargs: Any) -> Any:
            return original(*args, **{**kwargs, "disable": True})

        quiet_tqdm._gdx_quiet = True  # type: ignore[attr-defined]
        graph.tqdm = quiet_tqdm
    logging.getLogger("great_expectations").setLevel(logging.WARNING)

    timings: dict[str, float] = {}
    t = time.perf_counter()
    decoded: list[dict[str, Any]] = []
    index: list[int] = []
    bad: set[int] = set()
    for i, raw in enumerate(values):
        try:
            obj = json.loads(raw)
        except ValueError:
            bad.add(i)
            continue
        if not isinstance(obj, dict):
            bad.add(i)
            continue
        decoded.append(obj)
        index.append(i)
    timings["json_s"] = time.perf_counter() - t

    t = time.perf_counter()
    schema = to_jsonschema(contract)
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    keep: list[dict[str, Any]] = []
    keep_index: list[int] = []
    for i, obj in zip(index, decoded, strict=True):
        if next(validator.iter_errors(obj), None) is not None:
            bad.add(i)
        else:
            keep.append(obj)
            keep_index.append(i)
    timings["jsonschema_s"] = time.perf_counter() - t

    t = time.perf_counter()
    frame = validation_frame(contract, keep)
    timings["dataframe_s"] = time.perf_counter() - t

    t = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas(f"naive-{uuid.uuid4().hex[:6]}")
    asset = source.add_dataframe_asset("records")
    batch_def = asset.add_batch_definition_whole_dataframe("all")
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    suite = gx.ExpectationSuite(**to_gx_suite(contract))
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    failing: set[int] = set()
    for r in result.results:
        if not r.success:
            rows = (r.result or {}).get("unexpected_index_list") or []
            for row in rows:
                failing.add(int(row["index"]) if isinstance(row, dict) else int(row))
    bad |= {keep_index[j] for j in failing}
    timings["gx_s"] = time.perf_counter() - t
    timings["gx_evaluated"] = float(len(result.results))
    return bad, {"frame": frame, "keep_index": keep_index, "failing": failing, **timings}


def run_naive(conn: KafkaConnection, topic: str, limit: int, contract: Any, out_dir: Path) -> dict[str, Any]:
    """Consume `limit` records and push them through the naive pipeline; returns timings and rejects."""
    from kafka import KafkaConsumer

    started = time.perf_counter()
    consumer = KafkaConsumer(
        topic,
        **conn.kafka_python(),
        group_id=f"bench-naive-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    values: list[bytes] = []
    positions: list[tuple[int, int]] = []
    while len(values) < limit:
        for records in consumer.poll(timeout_ms=1000).values():
            for r in records:
                values.append(r.value)
                positions.append((r.partition, r.offset))
        if time.perf_counter() - started > 900:
            raise TimeoutError("naive consumer too slow")
    consumer.close(autocommit=False)
    values, positions = values[:limit], positions[:limit]
    consume_s = time.perf_counter() - started

    bad, info = validate(contract, values)

    t = time.perf_counter()
    frame = info["frame"]
    keep_index = info["keep_index"]
    landed_mask = [j not in info["failing"] for j in range(len(keep_index))]
    landed = frame[landed_mask].drop(columns=[c for c in frame.columns if c.startswith("_rule_")])
    landed = landed.assign(
        _kafka_partition=[positions[keep_index[j]][0] for j in range(len(keep_index)) if landed_mask[j]],
        _kafka_offset=[positions[keep_index[j]][1] for j in range(len(keep_index)) if landed_mask[j]],
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    landed.to_parquet(out_dir / "bronze.parquet", compression="zstd", index=False)
    import pandas as pd

    quarantine = pd.DataFrame(
        {
            "_kafka_partition": [positions[i][0] for i in sorted(bad)],
            "_kafka_offset": [positions[i][1] for i in sorted(bad)],
            "raw_value": [values[i].decode("utf-8", "replace") for i in sorted(bad)],
        }
    )
    quarantine.to_parquet(out_dir / "quarantine.parquet", compression="zstd", index=False)
    write_s = time.perf_counter() - t
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "records": len(values),
        "rate": stats.rate(len(values), seconds),
        "landed": len(landed),
        "rejected": len(bad),
        "rejected_positions": sorted(positions[i] for i in bad),
        "positions": positions,
        "consume_s": consume_s,
        "json_s": info["json_s"],
        "jsonschema_s": info["jsonschema_s"],
        "dataframe_s": info["dataframe_s"],
        "gx_s": info["gx_s"],
        "write_s": write_s,
    }
