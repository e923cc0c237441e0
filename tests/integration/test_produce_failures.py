"""Nothing is lost silently: oversize records are rejected, delivery failures are reported."""

from __future__ import annotations

import socket

import pytest
from kafka.record.default_records import DefaultRecordBatchBuilder
from typer.testing import CliRunner

from gdx.cli import app
from gdx.producer.pipeline import encode, produce_file, publish_records
from gdx.producer.publish import KafkaPublisher, PublishOptions
from gdx.sample import generate, valid_records
from gdx.security.kafka_conn import KafkaConnection
from tests.integration.test_produce_helpers import contract_on, read_topic

pytestmark = pytest.mark.integration


def _dead_address() -> str:
    # a loopback port nobody listens on: bound then released
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def test_too_large_record_is_reported_not_sent(kafka_cluster, unique_name):
    contract = contract_on("pcd.air_quality_hourly", unique_name)
    kafka_cluster.grant(contract)
    records = list(valid_records("pcd.air_quality_hourly", 20, seed=3))
    records[5] = {**records[5], "station_name_th": "ก" * 190}  # still valid, but bigger than the limit below
    sizes = [DefaultRecordBatchBuilder.estimate_size_in_bytes(*encode(contract, r)) for r in records]
    limit = max(s for i, s in enumerate(sizes) if i != 5) + 20
    assert sizes[5] > limit
    options = PublishOptions(max_request_size=limit, batch_size=limit)
    result = publish_records(contract, records, kafka_cluster.owner(contract), options)
    assert result.published == 19 and result.failed == 0
    (reject,) = result.rejects
    assert reject.record == 6 and reject.violations[0].code == "too_large"
    assert f"{limit}-byte limit" in reject.violations[0].reason
    assert len(read_topic(kafka_cluster.admin, unique_name, expected=19, timeout_s=10)) == 19


def test_broker_default_limit_is_respected(kafka_cluster, unique_name):
    # a record just over 1 MiB is rejected at the edge instead of failing in delivery
    contract = contract_on("pcd.air_quality_hourly", unique_name)
    kafka_cluster.grant(contract)
    with KafkaPublisher(contract, kafka_cluster.owner(contract)) as publisher:
        from gdx.producer.publish import oversize_reason

        assert oversize_reason(b"k", b"x" * 1_048_600, [], publisher.options.max_request_size)
        publisher.send(1, b"k", b"x" * 900_000, [])  # under the limit: the broker takes it
    assert publisher.close() == (1, [])


def test_unreachable_broker_gives_failures_not_silence(tmp_path):
    contract = contract_on("pcd.air_quality_hourly", "t-unreachable")
    src = generate("pcd.air_quality_hourly", 100, 0.0, seed=1, out=tmp_path / "a.json")
    result = produce_file(
        contract, src, connection=KafkaConnection.plain(_dead_address()), options=PublishOptions.fast_fail()
    )
    assert result.published == 0 and result.failed == 100 and not result.ok
    assert "cannot connect" in result.failures[0].error
    assert result.failures[0].event_id and result.failures[0].key


def test_cli_exit_status_on_unreachable_broker(tmp_path):
    src = generate("pcd.air_quality_hourly", 30, 0.0, seed=1, out=tmp_path / "a.json")
    res = CliRunner().invoke(
        app,
        [
            "produce",
            "pcd.air_quality_hourly",
            str(src),
            "--bootstrap-servers",
            _dead_address(),
            "--timeout",
            "3",
        ],
    )
    assert res.exit_code == 1
    assert "failed" in res.output


def test_missing_topic_times_out_into_failures(kafka_cluster, unique_name):
    # metadata for a topic that never appears (auto-creation off, create_topic=False) → failures
    contract = contract_on("pcd.air_quality_hourly", unique_name)
    kafka_cluster.grant(contract)
    options = PublishOptions.fast_fail(create_topic=False)
    records = list(valid_records("pcd.air_quality_hourly", 10, seed=1))
    result = publish_records(contract, records, kafka_cluster.owner(contract), options)
    if result.published:  # the broker auto-creates topics: nothing to test here
        pytest.skip("broker auto-creates topics")
    assert result.failed == 10 and not result.ok
