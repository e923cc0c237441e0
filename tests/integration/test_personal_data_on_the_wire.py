"""No citizen id crosses Kafka in clear — checked on every byte, against a real broker.

What goes through the producer (`gdx produce`, the edge check, field encryption) leaves no valid
citizen id on the dataset topic, the dead-letter topics or the broker's log segments. What a
hostile client injects raw, bypassing the edge (clear and JSON-escaped ids under the personal-data
contract and under a contract without personal data, records sent to the wrong topic, missing
headers), is on the source topic by construction — the scanner finds it there, which proves the
scan works — but never reaches a dead letter, the quarantine or bronze. Payloads are inspected,
not only counted.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from gdx.events import H_CONTRACT_ID, canonical_json, headers_for
from gdx.ingest.pii import PiiKey, Pseudonymiser
from gdx.sample import generate, read_truth, valid_records
from gdx.security.field_crypto import WIRE_RE
from gdx.testing.wire import sealed
from gdx.thai.citizen_id import make_citizen_id
from tests.integration.ingest_fixtures import TEST_PII_KEY, dead_letters, make_env, publish, read_lake
from tests.unit.test_ingest_masking import _scan

pytestmark = [pytest.mark.integration, pytest.mark.slow]

THAI = "๐๑๒๓๔๕๖๗๘๙"
_HEX64 = re.compile(rb"[0-9a-f]{64}")


def _scan_bytes(data: bytes | None) -> list[str]:
    """Valid ids in raw bytes as any reader would decode them (UTF-8, JSON escapes). Hex digests
    (event ids, HMAC tokens) are keyed/hashed, not ids: a 13-decimal-digit stretch occurs in them
    by chance, so they are blanked first."""
    if not data:
        return []
    return _scan(_HEX64.sub(b" ", data).decode("utf-8", "replace"))


def _read_all(conn: Any, topic: str) -> list[dict[str, Any]]:
    """Every record of `topic`, as raw bytes, from the beginning to the current end (read with
    `conn`, a KafkaConnection: the scans read as gdx-admin, who may read everything)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {**conn.librdkafka(), "group.id": f"scan-{uuid.uuid4().hex}", "enable.auto.commit": False}
    )
    meta = c.list_topics(topic, timeout=10).topics[topic]
    out: list[dict[str, Any]] = []
    for p in meta.partitions:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if hi <= lo:
            continue
        c.assign([TopicPartition(topic, p, lo)])
        got = 0
        while got < hi - lo:
            for m in c.consume(1000, 5.0):
                assert m.error() is None, m.error()
                out.append({"partition": m.partition(), "offset": m.offset(), "key": m.key(), "value": m.value(),
                            "headers": list(m.headers() or [])})  # fmt: skip
                got += 1
    c.close()
    return out


# The source record's Kafka timestamp in ms: a 13-digit number until the year 2286, which passes
# the citizen-id checksum one time in ten. It is not personal data.
_NUMERIC_HEADERS = {"gdx.errors.timestamp", "gdx.errors.offset", "gdx.errors.partition"}


def _record_ids(r: dict[str, Any]) -> list[str]:
    found = _scan_bytes(r["key"]) + _scan_bytes(r["value"])
    for k, v in r["headers"]:
        found += _scan_bytes(k.encode())
        if k not in _NUMERIC_HEADERS:
            found += _scan_bytes(v)
        else:
            assert v.isdigit(), (k, v)
    return found


def _escaped(cid: str, thai: bool = False) -> str:
    return "".join(f"\\u{(0x0E50 + int(c)) if thai else ord(c):04x}" for c in cid)


def _ids(n: int, seed: int) -> list[str]:
    return [make_citizen_id(f"{seed}{i:011d}"[-12:].replace("0", "1", 1)) for i in range(n)]


def test_no_clear_citizen_id_on_topics_dead_letters_quarantine_or_log_segments(
    tmp_path, kafka_cluster, monkeypatch, tmp_path_factory
) -> None:
    from gdx.ingest.runner import run_ingest
    from gdx.producer.pipeline import publish_records

    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    moi, air = env.contract("moi.informal_debt_cases"), env.contract("pcd.air_quality_hourly")

    # 1. the producer path: the agency's file through `gdx produce` (edge check, encryption)
    src = generate(moi.id, 600, bad_ratio=0.05, seed=31, out=tmp_path / "debt.csv")
    truth = read_truth(src)
    source_ids = set(_scan(src.read_text(encoding="utf-8-sig", errors="replace")))
    assert len(source_ids) > 500
    done = env.run_cli("produce", moi.id, str(src))
    assert done.returncode == 1, done.stderr[-2000:]  # 1: the file had bad records (rejected)
    rejects = Path(str(src) + ".rejects.ndjson").read_text()
    assert rejects and _scan(rejects) == [] and not _scan(done.stdout + done.stderr)
    produced = _read_all(kafka_cluster.admin, moi.topic)
    assert len(produced) == truth.valid
    for r in produced:
        assert _record_ids(r) == [], r
        assert WIRE_RE.match(orjson.loads(r["value"])["citizen_id"])
    # a record of a contract without personal data that carries an id never leaves the producer
    air_good = list(valid_records(air.id, 20, seed=3))
    air_bad = [{**air_good[0], "station_name_th": f"ผู้แจ้ง {_ids(1, 7)[0]}"},
               {**air_good[1], "station_name_th": _ids(1, 8)[0].translate(str.maketrans("0123456789", THAI))}]  # fmt: skip
    res = publish_records(air, air_good[2:] + air_bad, kafka_cluster.owner(air))
    assert (
        res.published == 18
        and [v.code for r in res.rejects for v in r.violations] == ["undeclared_personal_data"] * 2
    )
    air_produced = _read_all(kafka_cluster.admin, air.topic)
    assert len(air_produced) == 18 and all(_record_ids(r) == [] for r in air_produced)
    produced_offsets = {(r["partition"], r["offset"]) for r in produced}
    air_offsets = {(r["partition"], r["offset"]) for r in air_produced}

    # 2. hostile records injected raw, bypassing the edge
    cid = _ids(12, 5)
    good = list(valid_records(moi.id, 4, seed=77))  # clear: publish() seals them like a producer
    base = sealed(moi, good[0])

    def raw(contract: Any, value: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
        return value, headers_for(contract, value)

    def moi_text(citizen: str, **extra: str) -> bytes:
        fields = {**base, **extra}
        body = ",".join(f'"{k}":{orjson.dumps(v).decode()}' for k, v in fields.items() if k != "citizen_id")
        return ('{"citizen_id":"' + citizen + '",' + body + "}").encode()

    dashed = f"{cid[2][0]}-{cid[2][1:5]}-{cid[2][5:10]}-{cid[2][10:12]}-{cid[2][12]}"
    moi_bad: list[tuple[tuple[bytes | None, list | None], str]] = [
        (raw(moi, moi_text(cid[0])), "citizen_id.not_encrypted"),
        (raw(moi, moi_text(_escaped(cid[1]))), "citizen_id.not_encrypted"),
        (raw(moi, moi_text(_escaped(cid[2], thai=True))), "citizen_id.not_encrypted"),
        (raw(moi, moi_text(dashed)), "citizen_id.not_encrypted"),
        (
            raw(moi, canonical_json({**base, "district_name": cid[3]})),
            "district_name.undeclared_personal_data",
        ),
        (
            raw(moi, canonical_json({**base, "citizen_id": "gdxenc:v1:k1:" + cid[4]})),
            "citizen_id.undecryptable",
        ),
        (raw(moi, canonical_json({**base, cid[5]: "x"})), "record.unknown_property"),
        (raw(moi, ('{"citizen_id":"' + _escaped(cid[6]) + '", "broken": ').encode()), "message.invalid_json"),
    ]
    air_base = air_good[5]
    moi_clear = canonical_json({**base, "citizen_id": cid[7]})
    air_text = canonical_json(air_base)[:-1] + b',"note":"' + _escaped(cid[10]).encode() + b'"}'
    air_bad_raw: list[tuple[tuple[bytes | None, list | None], str]] = [
        (raw(air, canonical_json({**air_base, "station_name_th": cid[8]})), "station_name_th.undeclared_personal_data"),
        (raw(air, canonical_json(air_base)[:-1] + b',"station_name_th":"' + _escaped(cid[9], True).encode() + b'"}'),
         "station_name_th.undeclared_personal_data"),  # a duplicate key: orjson keeps the last one
        # a moi record (clear id) sent to the air topic, with moi's headers
        ((moi_clear, headers_for(moi, moi_clear)), "header.contract_mismatch"),
        ((moi_clear, [(k, moi.id.encode() if k == H_CONTRACT_ID else v) for k, v in headers_for(air, moi_clear)]),
         "header.contract_mismatch"),
        ((air_text, None), "header.missing"),
        (raw(air, air_text), "record.unknown_property"),
    ]  # fmt: skip
    moi_pub = publish(kafka_cluster, moi, [v for v, _ in moi_bad] + good[1:])
    air_pub = publish(kafka_cluster, air, [v for v, _ in air_bad_raw])
    hostile = {(p.partition, p.offset) for p in moi_pub}
    air_hostile = {(p.partition, p.offset) for p in air_pub}

    # 3. ingest both
    s_moi, s_air = run_ingest(moi.id), run_ingest(air.id)
    assert s_moi.rows_in == truth.valid + len(moi_pub) and s_air.rows_in == 18 + len(air_pub)

    # the lake: each hostile record quarantined under its rule, bronze holds tokens only
    bronze, quarantine = read_lake(env.lake, moi)
    where = {(p.partition, p.offset): i for i, p in enumerate(moi_pub)}
    assert {where[k]: r["rule_id"] for k, r in quarantine.items() if k in where} == {
        i: rule for i, (_, rule) in enumerate(moi_bad)
    }
    assert len(bronze) == truth.valid + len(good) - 1
    pseudo = Pseudonymiser(PiiKey.parse(TEST_PII_KEY))
    tokens = {pseudo.token(c) for c in source_ids}
    assert all(r["citizen_id_hmac"] in tokens for k, r in bronze.items() if k in produced_offsets)
    air_bronze, air_quarantine = read_lake(env.lake, air)
    awhere = {(p.partition, p.offset): i for i, p in enumerate(air_pub)}
    assert {awhere[k]: r["rule_id"] for k, r in air_quarantine.items()} == {
        i: rule for i, (_, rule) in enumerate(air_bad_raw)
    }
    for row in [*bronze.values(), *quarantine.values(), *air_bronze.values(), *air_quarantine.values()]:
        for name, value in row.items():
            if isinstance(value, str):
                assert _scan_bytes(value.encode()) == [], (name, row.get("rule_id"))

    # 4. every record of the dataset topics: what came through the producer holds no id; what was
    # injected raw does (the scanner is not blind)
    for r in _read_all(kafka_cluster.admin, moi.topic):
        key = (r["partition"], r["offset"])
        assert bool(_record_ids(r)) == (key in hostile and where[key] < len(moi_bad)), key
    for r in _read_all(kafka_cluster.admin, air.topic):
        key = (r["partition"], r["offset"])
        assert bool(_record_ids(r)) == (key in air_hostile), key
    assert produced_offsets.isdisjoint(hostile) and air_offsets.isdisjoint(air_hostile)

    # 5. every record of both dead-letter topics, raw: no id anywhere, and what each one carries
    for dlq in (moi.dlq_topic, air.dlq_topic):
        for r in _read_all(kafka_cluster.admin, dlq):
            assert _record_ids(r) == [], (dlq, r["headers"])
    letters = {(int(d["headers"]["gdx.errors.partition"]), int(d["headers"]["gdx.errors.offset"])): d
               for d in dead_letters(kafka_cluster, moi)}  # fmt: skip
    assert set(letters) == set(quarantine)
    for key, d in letters.items():
        assert d["headers"]["gdx.errors.value.masked"] == "true"
        if key in where and where[key] in (0, 1, 2, 3):  # clear id: the dead letter holds its token
            value = orjson.loads(d["value"])
            clear_id = [cid[0], cid[1], cid[2], cid[2]][where[key]]  # 3 is cid[2] with dashes
            assert value["citizen_id"] == pseudo.token(clear_id) and value["case_id"] == base["case_id"]
        elif key in where and where[key] == 5:  # a fake "ciphertext" holding a clear id: tokenised
            assert orjson.loads(d["value"])["citizen_id"] == "gdxenc:v1:k1:" + pseudo.token(cid[4])
        elif key not in where:  # a record the producer sealed: the dead letter keeps the ciphertext
            assert WIRE_RE.match(orjson.loads(d["value"])["citizen_id"])
    air_letters = {int(d["headers"]["gdx.errors.offset"]) * 10 + int(d["headers"]["gdx.errors.partition"]): d
                   for d in dead_letters(kafka_cluster, air)}  # fmt: skip
    assert len(air_letters) == len(air_bad_raw)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for d in air_letters.values():
        by_rule.setdefault(d["headers"]["gdx.errors.rule"], []).append(d)
    for d in by_rule["header.contract_mismatch"]:  # the moi record, masked hard
        value = orjson.loads(d["value"])
        assert value["case_id"] == base["case_id"] and value["citizen_id"] == pseudo.token(cid[7])
        assert d["headers"]["gdx.errors.value.masked"] == "true"
    (missing,) = by_rule["header.missing"]
    assert orjson.loads(missing["value"])["note"] == pseudo.token(cid[10])

    # 6. the broker's log segments, decoded batch by batch (they are lz4-compressed)
    data_dirs = [
        d for d in tmp_path_factory.getbasetemp().glob("kafka*/data") if (d / f"{moi.topic}-0").is_dir()
    ]
    if not data_dirs:
        pytest.skip(
            "the broker is external (KAFKA_BOOTSTRAP_SERVERS): its log directory is not readable here"
        )
    segments = _segment_records(data_dirs[0])
    seen = {"producer": 0, "hostile_with_id": 0, "dlq": 0}
    for (topic, partition), records in segments.items():
        for offset, rec in records:
            ids = _record_ids(rec)
            if topic in (moi.topic, air.topic):
                mine = hostile if topic == moi.topic else air_hostile
                if (partition, offset) in mine:
                    seen["hostile_with_id"] += bool(ids)
                else:
                    assert ids == [], (topic, partition, offset)
                    seen["producer"] += 1
            elif topic in (moi.dlq_topic, air.dlq_topic):
                assert ids == [], (topic, partition, offset)
                seen["dlq"] += 1
    assert seen["producer"] == truth.valid + 18  # every record of the producer path was looked at
    assert seen["hostile_with_id"] == len(moi_bad) + len(air_bad_raw)  # and the scan is not blind
    assert seen["dlq"] >= len(quarantine) + len(air_bad_raw)
    # No scan of the dead-letter segments' raw bytes: they are lz4 batches whose literals hold record
    # timestamps and `gdx.errors.timestamp` values (13-digit milliseconds that pass the citizen-id
    # checksum one time in ten), so such a scan fails by chance, the more often the more letters
    # the session's shared dead-letter topics hold. Every record of those segments was decoded and
    # scanned above, headers included.


def _segment_records(data_dir: Path) -> dict[tuple[str, int], list[tuple[int, dict[str, Any]]]]:
    from kafka.record import MemoryRecords

    out: dict[tuple[str, int], list[tuple[int, dict[str, Any]]]] = {}
    for log in sorted(data_dir.glob("*-*/*.log")):
        topic, _, partition = log.parent.name.rpartition("-")
        records = MemoryRecords(log.read_bytes())
        rows = out.setdefault((topic, int(partition)), [])
        while (batch := records.next_batch()) is not None:
            for r in batch:
                headers = [(k, v or b"") for k, v in (r.headers or [])]
                rows.append((r.offset, {"key": r.key, "value": r.value, "headers": headers}))
    return out


def test_rotation_records_sealed_under_k1_and_k2_both_land(tmp_path, kafka_cluster, monkeypatch) -> None:
    """`gdx keys rotate` between two `gdx produce` runs: producers switch to the newest key, and one
    `gdx ingest` lands what was sealed under either; `gdx keys list` shows fingerprints only."""
    from gdx.audit import AuditLog
    from gdx.settings import Settings

    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    moi = env.contract("moi.informal_debt_cases")
    keydir = env.state / "keys" / "field"
    env.env["GDX_FIELD_KEYS_DIR"] = str(keydir)
    no_env_keys = {"GDX_FIELD_PRIVATE_KEYS": "", "GDX_FIELD_PUBLIC_KEYS": ""}  # keys from the folder only

    src = generate(moi.id, 400, bad_ratio=0.0, seed=41, out=tmp_path / "all.csv")
    lines = src.read_bytes().splitlines(keepends=True)
    halves = [tmp_path / "first.csv", tmp_path / "second.csv"]
    halves[0].write_bytes(lines[0] + b"".join(lines[1:201]))
    halves[1].write_bytes(lines[0] + b"".join(lines[201:]))
    versions = []
    for half in halves:
        rotated = env.run_cli("keys", "rotate", extra_env=no_env_keys)
        assert rotated.returncode == 0, rotated.stderr[-2000:]
        versions.append(rotated.stdout.strip())
        done = env.run_cli("produce", moi.id, str(half), extra_env=no_env_keys)
        assert done.returncode == 0, done.stderr[-2000:]
    assert versions == ["k1", "k2"]

    wire = [orjson.loads(r["value"])["citizen_id"] for r in _read_all(kafka_cluster.admin, moi.topic)]
    assert len(wire) == 400
    assert sorted(w.split(":")[2] for w in wire) == ["k1"] * 200 + ["k2"] * 200

    listed = env.run_cli("keys", "list", extra_env=no_env_keys)
    assert (
        listed.returncode == 0
        and "k1" in listed.stdout
        and "k2  " in listed.stdout
        and "newest" in listed.stdout
    )
    for key_file in keydir.glob("*.key"):
        secret = key_file.read_text().strip()
        assert secret not in listed.stdout + listed.stderr and secret[:12] not in listed.stdout

    ingest = env.run_cli("ingest", moi.id, extra_env=no_env_keys)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    bronze, quarantine = read_lake(env.lake, moi)
    assert len(bronze) == 400 and not quarantine
    pseudo = Pseudonymiser(PiiKey.parse(TEST_PII_KEY))
    source_ids = set(_scan(src.read_text(encoding="cp874", errors="replace")))
    assert {r["citizen_id_hmac"] for r in bronze.values()} <= {pseudo.token(c) for c in source_ids}

    monkeypatch.setenv("GDX_LAKE_ROOT", str(env.lake))
    rotations = [e for e in AuditLog.from_settings(Settings.from_env()).entries() if e.action == "key.rotate"]
    assert [e.detail["key_version"] for e in rotations] == ["k1", "k2"]
    assert all(e.principal == "gdx-admin" and e.outcome == "ok" for e in rotations)
