"""Ingest end to end — the headline: Kafka → validated → bronze Parquet + quarantine, ledger, commit.

* ours — the ingestion engine (`bench.ingest_api.ingest_function`) in a child process
  (`bench.ingest_child`), on the N-record wire topic, a fresh consumer group and a fresh lake per
  repeat. Rate = N / seconds inside the engine call; the child's interpreter start-up and the
  engine's heavy imports (Great Expectations alone takes seconds) are done first and reported
  separately (`import_s`, row "process start + imports"), with the rate including them in the note. Peak memory: the child's own high-water RSS
  (`VmHWM`), cross-checked by polling the RSS of its process tree (psutil, every 50 ms).
* exactness, every repeat — the quarantined (partition, offset) set must equal the planted bad
  records exactly, bronze and quarantine must not overlap or hold duplicates, landed +
  quarantined must equal the records produced, and the group's committed offsets must be the
  end offsets. Any mismatch marks the repeat (and the row) FAILED: a fast wrong gate is a failure.
* compared with — the naive baseline (`bench.naive`, measured on the first `naive_records`
  records, rate extrapolated) and the decode+write ceiling (`bench.stage_decode`), both measured
  *inside* the ingest repeats (naive, ceiling, ours, in turn), because on a shared machine a
  ceiling measured minutes earlier can be several times off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench import stats
from bench.context import Context
from bench.kafka_util import set_group_offsets
from bench.model import Measurement, not_run
from gdx.security.kafka_conn import KafkaConnection

KEY_OURS = "ingest.gdx"
KEY_NAIVE = "ingest.naive"
KEY_RSS = "ingest.peak_rss"
KEY_STARTUP = "ingest.process_startup"
KEY_CEILING = "ingest.ceiling"
REPO_ROOT = Path(__file__).resolve().parent.parent


def run_child(spec: dict[str, Any], workdir: Path, timeout_s: float = 3600.0) -> dict[str, Any]:
    """Run `bench.ingest_child` with `spec`; returns its result plus the polled peak RSS of its tree."""
    import psutil

    spec_path = workdir / f"spec-{uuid.uuid4().hex[:8]}.json"
    out_path = spec_path.with_suffix(".out.json")
    spec = {**spec, "out": str(out_path)}
    spec_path.write_text(json.dumps(spec))
    log_path = spec_path.with_suffix(".log")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "TQDM_DISABLE": "1",
    }
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.ingest_child", str(spec_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO_ROOT,
        )
        peak_tree = peak_main = 0
        try:
            ps = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    main_rss = ps.memory_info().rss
                    tree = main_rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
                except psutil.Error:
                    main_rss = tree = 0
                peak_main, peak_tree = max(peak_main, main_rss), max(peak_tree, tree)
                if time.perf_counter() - started > timeout_s:
                    proc.kill()
                    raise TimeoutError(f"ingest child ran over {timeout_s:.0f} s")
                time.sleep(0.05)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    wall = time.perf_counter() - started
    try:
        result = json.loads(out_path.read_text())
    except (OSError, ValueError):
        tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
        result = {
            "ok": False,
            "error": f"the child exited with {proc.returncode} and wrote no result:\n{tail}",
        }
    result.update(
        {
            "wall_s": wall,
            "peak_rss_polled_bytes": peak_main,
            "peak_rss_tree_bytes": peak_tree,
            "returncode": proc.returncode,
        }
    )
    return result


def _read(pattern_root: Path, columns: list[str]) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(pattern_root.glob("*/*.parquet")) if pattern_root.exists() else []
    tables = [pq.read_table(f, columns=columns) for f in files]
    if not tables:
        return None, 0
    return pa.concat_tables(tables, promote_options="default"), len(files)


def committed_offsets(conn: KafkaConnection, group: str, topic: str) -> dict[int, int]:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(**conn.kafka_python(), client_id="gdx-bench-verify")
    try:
        offsets = admin.list_group_offsets(
            group
        )  # kafka-python 3: {group: {TopicPartition: OffsetAndMetadata}}
    finally:
        admin.close()
    offsets = offsets.get(group, offsets)
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


def verify_lake(
    lake_root: Path, ds: Any, conn: KafkaConnection | None = None, group: str | None = None
) -> dict[str, Any]:
    """Compare what landed and what was quarantined with the wire dataset's ground truth."""
    from bench.kafka_util import end_offsets

    c = ds.contract
    rel = Path(c.agency) / c.dataset / f"v{c.major}"
    bronze, n_bronze_files = _read(lake_root / "bronze" / rel, ["_kafka_partition", "_kafka_offset"])
    quarantine, n_q_files = _read(
        lake_root / "quarantine" / rel, ["_kafka_partition", "_kafka_offset", "rule_id"]
    )
    landed_pos: list[tuple[int, int]] = []
    if bronze is not None:
        landed_pos = list(
            zip(
                bronze.column("_kafka_partition").to_pylist(),
                bronze.column("_kafka_offset").to_pylist(),
                strict=True,
            )
        )
    q_pos: list[tuple[int, int]] = []
    q_rules: dict[tuple[int, int], str] = {}
    if quarantine is not None:
        parts, offs, rules = (
            quarantine.column(n).to_pylist() for n in ("_kafka_partition", "_kafka_offset", "rule_id")
        )
        q_pos = list(zip(parts, offs, strict=True))
        for pos, rule in zip(q_pos, rules, strict=True):
            q_rules.setdefault(pos, rule)
    truth = ds.bad_positions()
    landed, quarantined = set(landed_pos), set(q_pos)
    missed = {p: k for p, k in truth.items() if p not in quarantined}
    extra = quarantined - set(truth)
    ledger, n_ledger = _read_ledger(lake_root, c)
    out: dict[str, Any] = {
        "produced": ds.n,
        "landed": len(landed),
        "landed_rows": len(landed_pos),
        "quarantined": len(quarantined),
        "quarantine_rows": len(q_pos),
        "bronze_files": n_bronze_files,
        "quarantine_files": n_q_files,
        "ledger_files": n_ledger,
        "truth_bad": len(truth),
        "missed": len(missed),
        "missed_by_kind": dict(Counter(missed.values())),
        "extra": len(extra),
        "extra_rules": dict(Counter(q_rules[p] for p in extra).most_common(5)),
        "overlap": len(landed & quarantined),
        "bronze_duplicates": len(landed_pos) - len(landed),
        "rules_by_kind": _rules_by_kind(truth, q_rules),
        **ledger,
    }
    out["accounted"] = out["landed"] + out["quarantined"] == ds.n and not out["overlap"]
    if conn is not None and group:
        try:
            committed = committed_offsets(conn, group, ds.topic)
            ends = end_offsets(conn, ds.topic)
            out["offsets_committed"] = committed == ends
            out["committed"] = committed
        except Exception as exc:  # the check is reported, not fatal
            out["offsets_committed"] = None
            out["offsets_error"] = str(exc)
    exact = not out["missed"] and not out["extra"]
    out["exact"] = exact
    out["ok"] = (
        exact
        and out["accounted"]
        and not out["bronze_duplicates"]
        and out.get("offsets_committed") is not False
    )
    return out


def _rules_by_kind(truth: dict[tuple[int, int], str], q_rules: dict[tuple[int, int], str]) -> dict[str, str]:
    """The rule id the quarantine recorded for each planted kind (first one seen)."""
    out: dict[str, str] = {}
    for pos, kind in truth.items():
        if kind not in out and pos in q_rules:
            out[kind] = q_rules[pos]
    return dict(sorted(out.items()))


def _read_ledger(lake_root: Path, c: Any) -> tuple[dict[str, Any], int]:
    import pyarrow.parquet as pq

    folder = lake_root / "ledger" / c.agency / c.dataset
    files = sorted(folder.glob("*.parquet")) if folder.exists() else []
    sums = {"ledger_rows_in": 0, "ledger_rows_landed": 0, "ledger_rows_quarantined": 0}
    for f in files:
        t = pq.read_table(f, columns=["rows_in", "rows_landed", "rows_quarantined"])
        for name in ("rows_in", "rows_landed", "rows_quarantined"):
            sums[f"ledger_{name}"] += sum(v or 0 for v in t.column(name).to_pylist())
    return sums, len(files)


def _describe_failure(v: dict[str, Any]) -> str:
    bits = []
    if v["missed"]:
        bits.append(
            f"{v['missed']:,} planted bad records landed ({', '.join(f'{k} {n}' for k, n in sorted(v['missed_by_kind'].items()))})"
        )
    if v["extra"]:
        bits.append(f"{v['extra']:,} valid records quarantined (rules {v['extra_rules']})")
    if not v["accounted"]:
        bits.append(
            f"landed {v['landed']:,} + quarantined {v['quarantined']:,} ≠ produced {v['produced']:,} (overlap {v['overlap']})"
        )
    if v["bronze_duplicates"]:
        bits.append(f"{v['bronze_duplicates']:,} duplicate rows in bronze")
    if v.get("offsets_committed") is False:
        bits.append("committed offsets ≠ end offsets")
    return "; ".join(bits) or "mismatch"


def run(ctx: Context) -> None:
    from bench import ingest_api

    run = ctx.run
    ours = run.add(
        Measurement(
            KEY_OURS,
            "ingest",
            "gdx ingest end to end (Kafka → bronze/quarantine, ledger, commit)",
            stats.RATE,
            "ours",
            compare=[KEY_NAIVE, KEY_CEILING],
        )
    )
    naive = run.add(
        Measurement(
            KEY_NAIVE, "ingest", "naive: json + jsonschema per record + GX on pandas", stats.RATE, "baseline"
        )
    )
    rss = run.add(Measurement(KEY_RSS, "ingest", "gdx ingest peak RSS (ingest process)", stats.BYTES, "ours"))
    startup = run.add(
        Measurement(KEY_STARTUP, "ingest", "gdx ingest process start + imports", stats.SECONDS, "reference")
    )
    ceiling = run.add(
        Measurement(
            KEY_CEILING,
            "ingest",
            "decode+write ceiling (orjson + Parquet), interleaved",
            stats.RATE,
            "reference",
        )
    )
    ds = ctx.loaded_wire
    fn = ingest_api.ingest_function()
    if isinstance(fn, str):
        for m in (ours, rss, startup):
            m.status = not_run(fn)
    for rep in range(ctx.options.repeats):
        if ours.ran:
            lake = ctx.subdir("ingest", f"r{rep}", "lake")
            state = ctx.subdir("ingest", f"r{rep}", "state")
            # the engine's group is fixed per contract: forget it, so this fresh lake gets every record
            group = ingest_api.group_for(ctx.contract.id)
            set_group_offsets(ctx.kafka, ds.topic, group, "beginning")
            ctx.log(f"ingest repeat {rep + 1}/{ctx.options.repeats}: gdx ingest in a child process …")
            spec = {
                "env": {
                    "GDX_LAKE_ROOT": str(lake),
                    "GDX_STATE_DIR": str(state),
                    "GDX_KAFKA_CLIENT_CONFIG": ctx.kafka_client_config,
                },
                "call": {"client_config": ctx.kafka_client_config, "contract_id": ctx.contract.id},
            }
            r = run_child(spec, ctx.subdir("ingest", f"r{rep}"))
            if not r.get("ok"):
                ours.fail(f"repeat {rep + 1}: {str(r.get('error', 'failed'))[:300]}")
                ours.repeats.append(r)
                continue
            r["verify"] = v = verify_lake(lake, ds, ctx.kafka, group)
            seconds = r["engine_s"]
            r["rate"] = stats.rate(ds.n, seconds)
            r["rate_with_startup"] = stats.rate(ds.n, r.get("process_s", seconds))
            ours.samples.append(r["rate"])
            ours.repeats.append(r)
            rss.samples.append(float(r.get("vm_hwm_bytes") or r.get("peak_rss_polled_bytes", 0)))
            rss.repeats.append(
                {
                    k: r.get(k)
                    for k in (
                        "vm_hwm_bytes",
                        "peak_rss_polled_bytes",
                        "peak_rss_tree_bytes",
                        "maxrss_self_bytes",
                        "maxrss_children_bytes",
                    )
                }
            )
            startup.samples.append(r.get("import_s", 0.0))
            if not v["ok"]:
                ours.fail(f"repeat {rep + 1}: {_describe_failure(v)}")
        # the naive baseline and the ceiling, interleaved with ours
        run_naive_repeats_one(ctx, naive, rep)
        run_ceiling_one(ctx, ceiling, rep)
    with_startup = [r["rate_with_startup"] for r in ours.repeats if "rate_with_startup" in r]
    if with_startup:
        ours.details["rate_with_startup_median"] = stats.median(with_startup)
        ours.add_note(
            f"rate excludes process start + imports ({stats.format_value(startup.median, stats.SECONDS)}); "
            f"with them {stats.format_value(stats.median(with_startup), stats.RATE)}"
        )
    if ours.ran and ours.status == "ok" and ours.repeats:
        v = ours.repeats[-1]["verify"]
        ours.add_note(
            f"exact: quarantine = {v['truth_bad']:,} planted bad, landed + quarantined = produced, offsets committed"
        )
    if naive.repeats and ds.n > naive.details.get("records", ds.n):
        naive.add_note(
            f"measured on the first {naive.details['records']:,} records, rate extrapolated to {ds.n:,}"
        )
    missed = [r["missed"] for r in naive.repeats]
    if missed and max(missed):
        kinds = ", ".join(sorted(naive.repeats[-1]["missed_by_kind"]))
        naive.add_note(f"also inexact: lets {max(missed)} planted bad records through ({kinds})")


def run_ceiling_one(ctx: Context, ceiling: Measurement, rep: int) -> None:
    import shutil

    from bench.stage_decode import decode_write, orjson_batch

    ctx.log(f"ingest repeat {rep + 1}/{ctx.options.repeats}: decode+write ceiling …")
    indices = ctx.cache.get("valid_indices") or ctx.cache.setdefault(
        "valid_indices", ctx.wire.valid_indices()
    )
    out = ctx.subdir("ingest", f"r{rep}", "ceiling")
    r = decode_write(ctx, out, orjson_batch, indices)
    shutil.rmtree(out, ignore_errors=True)
    ceiling.samples.append(r["rate"])
    ceiling.repeats.append(r)
    ceiling.details.update({"records": len(indices), "note": "valid records only, values already in memory"})


def run_naive_repeats_one(ctx: Context, naive: Measurement, rep: int) -> None:
    from bench.naive import run_naive

    ds = ctx.loaded_wire
    limit = min(ctx.options.naive_records, ds.n)
    naive.details.update({"records": limit, "extrapolated_to": ds.n})
    ctx.log(f"ingest repeat {rep + 1}/{ctx.options.repeats}: naive baseline on {limit:,} records …")
    r = run_naive(ctx.kafka, ds.topic, limit, ctx.contract, ctx.subdir("naive", f"r{rep}"))
    got = {tuple(p) for p in r.pop("rejected_positions")}
    seen = {tuple(p) for p in r.pop("positions", [])}
    truth = ds.bad_positions()
    want = {p for p in truth if p in seen}
    r["missed"] = len(want - got)
    r["missed_by_kind"] = dict(Counter(truth[p] for p in want - got))
    r["extra"] = len(got - set(truth))
    naive.samples.append(r["rate"])
    naive.repeats.append(r)
