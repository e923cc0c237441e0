"""Publish → ingest → lake, against a real Kafka 4 broker: every record exactly once, counts
reconcile, dead letters carry context, a re-run lands nothing, replay lands fixed rows once."""

from __future__ import annotations

import random
from typing import Any

import pytest

from gdx.sample import valid_records
from tests.integration.ingest_fixtures import (
    assert_dead_letters,
    assert_exact,
    dead_letters,
    ledger_rows,
    make_env,
    publish,
    read_lake,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _air_records(n: int, bad_every: int = 25, seed: int = 11) -> tuple[list[dict[str, Any]], dict[int, str]]:
    rng = random.Random(seed)
    records = list(valid_records("pcd.air_quality_hourly", n, seed=seed))
    expected: dict[int, str] = {}
    kinds = [
        ("pm25", 5000.0, "pm25.range"),
        ("pm25", "12", "pm25.type"),
        ("station_id", "x1", "station_id.pattern"),
        ("province_code", "TH-99", "rule.province_code_known"),
        ("station_name_th", None, "station_name_th.not_null"),
        ("measured_at", "2024-03-01 13:00", "measured_at.format"),
    ]
    for i in range(0, n, bad_every):
        field, value, rule = rng.choice(kinds)
        records[i][field] = value
        expected[i] = rule
    return records, expected


def test_ingest_lands_every_record_exactly_once(tmp_path, kafka_cluster, monkeypatch) -> None:
    from gdx.ingest.config import IngestConfig
    from gdx.ingest.runner import run_ingest
    from gdx.ingest.status import dataset_status

    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    contract = env.contract("pcd.air_quality_hourly")
    records, expected = _air_records(3000)
    published = publish(kafka_cluster, contract, records)

    summary = run_ingest(contract.id, config=IngestConfig.from_env(batch_max_records=1000))
    assert summary.rows_in == len(published) == summary.rows_landed + summary.rows_quarantined
    assert summary.rows_quarantined == len(expected)
    bronze, quarantine = assert_exact(published, env.lake, contract)
    by_index = {(p.partition, p.offset): i for i, p in enumerate(published)}
    assert {by_index[k]: r["rule_id"] for k, r in quarantine.items()} == expected
    assert summary.gate_ran and summary.quarantined_by_rule

    # ledger: one entry per batch and partition, reconciling exactly, covering every offset
    ledger = ledger_rows(env.lake, contract)
    assert sum(r["rows_in"] for r in ledger) == len(published)
    for r in ledger:
        assert r["rows_in"] == r["rows_landed"] + r["rows_quarantined"]
        assert r["batch_id"] == f"{contract.topic}+{r['partition']}+{r['first_offset']}-{r['last_offset']}"
        assert r["bronze_path"] is None or (env.lake / r["bronze_path"]).is_file()
    for p in {r["partition"] for r in ledger}:
        ranges = sorted((r["first_offset"], r["last_offset"]) for r in ledger if r["partition"] == p)
        assert ranges[0][0] == 0 and all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:], strict=False))

    # bronze is typed by the contract, ingest_date is the record time in Bangkok
    some = next(iter(bronze.values()))
    assert set(some) >= {"station_id", "measured_at", "_event_id", "_kafka_timestamp", "_batch_id", "_ingested_at"}

    # dead letters: one per quarantined record, with context headers and the original value
    letters = assert_dead_letters(dead_letters(kafka_cluster, contract), quarantine, published, contract)
    # these failures need no masking: each dead letter is the published record itself, reprocessable as is
    assert all(letters[k]["value"] == p.value and letters[k]["key"] == p.key
               for p in published if (k := (p.partition, p.offset)) in quarantine)  # fmt: skip
    assert {letters[k]["headers"]["gdx.errors.stage"] for k in quarantine} == {"decode", "gate"}

    # a second run finds nothing new and lands nothing
    again = run_ingest(contract.id)
    assert again.rows_in == 0 and not again.batches
    assert_exact(published, env.lake, contract)

    status = dataset_status(_lake(env), contract, kafka_cluster.ingest)
    assert status.rows_landed == len(bronze) and status.rows_quarantined == len(quarantine)
    assert status.lag == 0 and status.newest_value is not None


def _lake(env: Any) -> Any:
    from gdx.ingest.lakefs import Lake

    return Lake(str(env.lake))


def test_replay_lands_fixed_rows_once(tmp_path, kafka_cluster, monkeypatch) -> None:
    from gdx.ingest.replay import run_replay
    from gdx.ingest.runner import run_ingest

    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    contract = env.contract("pcd.air_quality_hourly")
    records, expected = _air_records(600, bad_every=20, seed=3)
    published = publish(kafka_cluster, contract, records)
    run_ingest(contract.id)
    _, quarantine = read_lake(env.lake, contract)
    range_failures = {k for k, r in quarantine.items() if r["rule_id"] == "pm25.range"}
    assert range_failures

    # nothing passes under the same contract
    first = run_replay(contract.id)
    assert first.rows_landed == 0

    # the agency and PCD agree PM2.5 can reach 6000 in a haze episode: the contract changes
    path = env.contracts_dir / "pcd" / "air_quality_hourly.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("logicalTypeOptions: {minimum: 0, maximum: 1000}\n        customProperties:\n          - {property: unit, value: µg/m³}\n      - name: pm10",
                                 "logicalTypeOptions: {minimum: 0, maximum: 6000}\n        customProperties:\n          - {property: unit, value: µg/m³}\n      - name: pm10", 1).replace("version: 1.0.0", "version: 1.1.0", 1), encoding="utf-8")  # fmt: skip
    second = run_replay(contract.id)
    assert second.rows_landed == len(range_failures)
    bronze, quarantine = read_lake(env.lake, contract)
    assert range_failures <= set(bronze) and range_failures <= set(quarantine)  # quarantine keeps history
    replayed = [r for k, r in bronze.items() if k in range_failures]
    assert all(".replay1" in r["_batch_id"] and r["_contract_version"] == "1.1.0" for r in replayed)

    third = run_replay(contract.id)
    assert third.rows_landed == 0 and third.rows_already_replayed == len(range_failures)
    bronze_again, _ = read_lake(env.lake, contract)
    assert len(bronze_again) == len(bronze)
    # and ingestion still sees every offset exactly once in its own files
    assert len(published) == len(bronze) - len(range_failures) + len(quarantine)


def test_cli_replay_survives_a_crash_and_status_reports(tmp_path, kafka_cluster) -> None:
    import signal

    env = make_env(tmp_path, kafka_cluster)
    contract = env.contract("pcd.air_quality_hourly")
    records, _ = _air_records(400, bad_every=10, seed=4)
    published = publish(kafka_cluster, contract, records)
    ingest = env.run_cli("ingest", contract.id)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    assert "landed (bronze)" in ingest.stdout and "quarantined" in ingest.stdout
    _, quarantine = read_lake(env.lake, contract)
    fixable = {k for k, r in quarantine.items() if r["rule_id"] == "pm25.range"}
    path = env.contracts_dir / "pcd" / "air_quality_hourly.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("{minimum: 0, maximum: 1000}", "{minimum: 0, maximum: 6000}", 1), encoding="utf-8")

    crashed = env.run_cli("replay", contract.id, "--from-quarantine", extra_env={"GDX_FAULT": "after_replay_write@1"})
    assert crashed.returncode == -signal.SIGKILL
    orphans = list(env.lake.glob("bronze/**/*.replay1.parquet"))
    assert orphans  # written, but not committed by a replay-ledger entry
    done = env.run_cli("replay", contract.id, "--from-quarantine")
    assert done.returncode == 0, done.stderr[-2000:]
    twice = env.run_cli("replay", contract.id, "--from-quarantine")
    assert twice.returncode == 0
    bronze, _ = read_lake(env.lake, contract)
    assert sum(1 for k in fixable if k in bronze) == len(fixable)
    assert_exact(published, env.lake, contract)

    status = env.run_cli("status", contract.id, extra_env={"COLUMNS": "240"})
    assert status.returncode == 0, status.stderr[-2000:]
    assert contract.id in status.stdout and "%" in status.stdout


def test_replay_of_personal_data_lands_the_same_token(tmp_path, kafka_cluster, monkeypatch) -> None:
    """The quarantine holds only the token of a citizen id; a replayed row lands that token, equal
    to what direct ingestion of the clear id produces."""
    from gdx.ingest.pii import PiiKey, Pseudonymiser
    from gdx.ingest.replay import run_replay
    from gdx.ingest.runner import run_ingest
    from tests.integration.ingest_fixtures import TEST_PII_KEY

    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    contract = env.contract("moi.informal_debt_cases")
    records = list(valid_records(contract.id, 50, seed=9))
    records[10]["principal_thb"] = 20_000_000.0  # above the contract's maximum
    published = publish(kafka_cluster, contract, records)
    run_ingest(contract.id)
    _, quarantine = read_lake(env.lake, contract)
    assert [r["rule_id"] for r in quarantine.values()] == ["principal_thb.range"]
    assert records[10]["citizen_id"] not in next(iter(quarantine.values()))["raw_value"]
    # its dead letter is the quarantine's masked text: the citizen id sealed, never in clear
    letters = assert_dead_letters(dead_letters(kafka_cluster, contract), quarantine, published, contract)
    (letter,) = letters.values()
    assert letter["headers"]["gdx.errors.value.masked"] == "true"
    assert records[10]["citizen_id"].encode() not in letter["value"] and b"gdxenc:v1" in letter["value"]
    assert letter["key"] is None or records[10]["citizen_id"].encode() not in letter["key"]

    path = env.contracts_dir / "moi" / "informal_debt_cases.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("{minimum: 0.01, maximum: 10000000}", "{minimum: 0.01, maximum: 50000000}", 1), encoding="utf-8")
    assert run_replay(contract.id).rows_landed == 1
    bronze, _ = read_lake(env.lake, contract)
    key = next(iter(quarantine))
    token = Pseudonymiser(PiiKey.parse(TEST_PII_KEY)).token(records[10]["citizen_id"])
    assert bronze[key]["citizen_id_hmac"] == token
    assert bronze[key]["_event_id"] == quarantine[key]["_event_id"]
    assert_exact(published, env.lake, contract)
