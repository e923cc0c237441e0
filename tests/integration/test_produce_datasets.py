"""Publish each dataset's sample through a real broker and read back exactly what was meant."""

from __future__ import annotations

import orjson
import pytest

from gdx.events import REQUIRED_HEADERS, event_id
from gdx.producer.pipeline import produce_file
from gdx.sample import generate, read_truth
from tests.integration.test_produce_helpers import as_dry_run_lines, contract_on, read_topic

pytestmark = pytest.mark.integration

DATASETS = [
    "pcd.air_quality_hourly",
    "gistda.fire_hotspots",
    "dla.municipal_waste_monthly",
    "dga.eservice_transactions_daily",
    "moi.informal_debt_cases",
    "customs.border_trade_daily",
]


@pytest.mark.parametrize("contract_id", DATASETS)
def test_sample_round_trip(contract_id, kafka_cluster, unique_name, tmp_path):
    contract = contract_on(contract_id, unique_name)
    kafka_cluster.grant(contract)
    src = generate(contract_id, 400, bad_ratio=0.05, seed=21, out=tmp_path / "src.dat")
    truth = read_truth(src)

    # what the producer means to publish, via a dry run of the same file
    dry = tmp_path / "dry.ndjson"
    produce_file(contract, src, dry_run_out=dry)
    expected = [orjson.loads(line) for line in dry.read_bytes().splitlines()]
    for line in expected:
        line.pop("topic")

    result = produce_file(contract, src, connection=kafka_cluster.owner(contract))
    assert result.published == truth.valid == len(expected)
    assert result.failed == 0 and result.rejected == len(truth.bad)
    assert not result.ok  # the file had invalid records

    got = read_topic(kafka_cluster.admin, unique_name, expected=len(expected))
    assert len(got) == len(expected)
    lines = as_dry_run_lines(got)
    if contract.pii_properties:
        # Sealed boxes are randomised: each run seals personal data anew, so the value bytes and the
        # event id differ from the dry run's. Both must be ciphertext that opens to the same clear value.
        lines, expected = _opened(contract, lines), _opened(contract, expected)
        key = lambda line: line["key"]  # noqa: E731
    else:
        key = lambda line: line["headers"]["gdx.event.id"]  # noqa: E731 - partitions interleave: compare as sets
    assert sorted(lines, key=key) == sorted(expected, key=key)
    for message in got:
        headers = dict(message.headers)
        assert set(REQUIRED_HEADERS) <= set(headers)
        assert headers["gdx.event.id"].decode() == event_id(contract, message.value)
        assert headers["gdx.contract.id"].decode() == contract_id
    # one entity → one partition: the key decides it
    partitions: dict[bytes, set[int]] = {}
    for message in got:
        partitions.setdefault(message.key, set()).add(message.partition)
    assert all(len(p) == 1 for p in partitions.values())
    assert len({m.partition for m in got}) == 3  # topic created with 3 partitions


def _opened(contract, lines):
    """Lines with each personal value decrypted (after checking it was a gdxenc:v1 ciphertext and
    not the clear value) and the event id, a hash of the sealed bytes, left out."""
    from gdx.security.field_crypto import WIRE_RE
    from gdx.testing.wire import decryptor

    dec = decryptor(contract)
    out = []
    for line in lines:
        value = dict(line["value"])
        for prop in contract.pii_properties:
            if value.get(prop.name) is not None:
                assert WIRE_RE.match(value[prop.name]), value[prop.name]
                value[prop.name] = dec.open(prop.name, value[prop.name])
        headers = {k: v for k, v in line["headers"].items() if k != "gdx.event.id"}
        out.append({**line, "value": value, "headers": headers})
    return out


def test_clean_file_is_ok(kafka_cluster, unique_name, tmp_path):
    contract = contract_on("pcd.air_quality_hourly", unique_name)
    kafka_cluster.grant(contract)
    src = generate("pcd.air_quality_hourly", 250, 0.0, seed=1, out=tmp_path / "a.json")
    result = produce_file(contract, src, connection=kafka_cluster.owner(contract))
    assert result.ok and result.published == 250
    assert len(read_topic(kafka_cluster.admin, unique_name, expected=250)) == 250
