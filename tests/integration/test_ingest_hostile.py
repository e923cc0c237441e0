"""Hostile input through a real broker: every bad record is quarantined with a rule and a reason,
every good one lands with its exact content — injection strings included (they are just text)."""

from __future__ import annotations

import pytest

from gdx.events import H_CONTRACT_ID, canonical_json, headers_for
from gdx.sample import valid_records
from tests.integration.ingest_fixtures import (
    assert_dead_letters,
    assert_exact,
    dead_letters,
    make_env,
    publish,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INJECTIONS = [
    "'; DROP TABLE bronze; --",
    "<script>alert('x')</script>",
    "\" OR 1=1 --",
    "{{7*7}} ${jndi:ldap://x/a}",
    "สถานี ทดสอบ \u200b zero-width, emoji 🌫️, RTL \u202e",
    "line one\nline two\ttabbed",
]


def test_hostile_corpus(tmp_path, kafka_cluster, monkeypatch) -> None:
    from gdx.ingest.runner import run_ingest

    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    contract = env.contract("pcd.air_quality_hourly")
    good = list(valid_records(contract.id, 60, seed=21))
    for i, text in enumerate(INJECTIONS):
        good[i]["station_name_th"] = text  # no pattern on this property: lands as text
    base = dict(good[-1])

    def raw(value: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
        return value, headers_for(contract, value)

    def rec(**changes) -> tuple[bytes, list[tuple[str, bytes]]]:
        return raw(canonical_json({**base, **changes}))

    bad: list[tuple[tuple[bytes | None, list | None], str]] = [
        (raw(b'{"station_id": "57t",'), "message.invalid_json"),
        (raw(b'{"station_id": "\xc3\x28"}'), "message.invalid_utf8"),
        (raw(b'{"station_id": "57\x00t"}'), "message.invalid_json"),
        (rec(station_name_th="nul \u0000 inside"), "station_name_th.control_characters"),
        (raw(b'{"pm25": 1e999}'), "message.invalid_json"),
        (rec(aqi=2**64 - 1), "aqi.type"),
        (raw(b"[" * 10_000 + b"]" * 10_000), "message.too_deep"),
        (raw(b'{"a":' * 10_000 + b"1" + b"}" * 10_000), "message.too_deep"),
        # deep enough to parse (orjson allows 1024 levels) and to overflow a recursive masking walk
        (raw(b"[" * 600 + b'"x"' + b"]" * 600), "message.not_object"),
        (raw(b'{"a":' * 600 + b'"x"' + b"}" * 600), "record.unknown_property"),
        (rec(pm25="35.5"), "pm25.type"),
        (rec(aqi=True), "aqi.type"),
        (rec(station_id=57), "station_id.type"),
        (rec(station_name_th="ก" * 300_000), "station_name_th.oversized"),
        (rec(province_raw="x" * 201), "province_raw.length"),
        (raw(b"null"), "message.not_object"),
        (raw(b"42"), "message.not_object"),
        (rec(station_id="57t\n"), "station_id.control_characters"),
        (rec(measured_at="yesterday"), "measured_at.format"),
        (rec(hacker="1"), "record.unknown_property"),
        ((canonical_json(base), None), "header.missing"),
        ((canonical_json(base), [(k, b"moi.informal_debt_cases" if k == H_CONTRACT_ID else v)
                                 for k, v in headers_for(contract, canonical_json(base))]), "header.contract_mismatch"),  # fmt: skip
        ((canonical_json(base), [*headers_for(contract, canonical_json(base)), ("x-evil", b"1")]), "header.unexpected"),
        ((None, headers_for(contract, b"")), "message.null_value"),
    ]
    items = [*good[:30], *(b for b, _ in bad), *good[30:]]
    published = publish(kafka_cluster, contract, items)
    summary = run_ingest(contract.id)
    assert summary.rows_in == len(published)

    bronze, quarantine = assert_exact(published, env.lake, contract)
    where = {(p.partition, p.offset): i for i, p in enumerate(published)}
    got = {where[k]: r["rule_id"] for k, r in quarantine.items()}
    assert got == {30 + j: rule for j, (_, rule) in enumerate(bad)}
    assert all(r["reason"] for r in quarantine.values())
    landed_names = {r["station_name_th"] for r in bronze.values()}
    assert set(INJECTIONS) <= landed_names
    assert len(bronze) == len(good)
    letters = assert_dead_letters(dead_letters(kafka_cluster, contract), quarantine, published, contract)
    assert len(letters) == len(bad)
    # the 900 KB record goes to the dead-letter topic cut to 64 KiB, and says so
    oversized = next(k for k, r in quarantine.items() if r["rule_id"] == "station_name_th.oversized")
    assert letters[oversized]["headers"]["gdx.errors.value.truncated"] == "true"
