"""Landing opens personal data before any typed check: sealed values decrypt to the clear id the
GX gate validates; clear, tampered, misplaced or unknown-key values are quarantined by rule."""

from __future__ import annotations

from typing import Any

from gdx.contracts.model import get_contract
from gdx.events import canonical_json, headers_for
from gdx.ingest.config import IngestConfig
from gdx.ingest.decode import Decoder
from gdx.ingest.model import RawBatch
from gdx.ingest.pii import PiiKey, Pseudonymiser
from gdx.ingest.validate import Validator
from gdx.sample import valid_records
from gdx.security.field_crypto import seal
from gdx.security.field_keys import FieldKeyring
from gdx.testing.wire import decryptor, sealed

MOI = get_contract("moi.informal_debt_cases")
PSEUDO = Pseudonymiser(PiiKey.parse("k1:" + "d" * 32))


def _raw(values: list[bytes]) -> RawBatch:
    raw = RawBatch(MOI.topic)
    for i, value in enumerate(values):
        raw.partitions.append(0)
        raw.offsets.append(i)
        raw.timestamps.append(1_709_272_800_000 + i)
        raw.keys.append(None)
        raw.values.append(value)
        raw.headers.append(headers_for(MOI, value))
    return raw


def _cases() -> tuple[list[dict[str, Any]], list[bytes], dict[int, str]]:
    records = list(valid_records(MOI.id, 12, seed=4))
    values = [canonical_json(sealed(MOI, r)) for r in records]
    other_key = FieldKeyring.build({}, {"k7": b"\x07" * 32})
    wire = sealed(MOI, records[0])["citizen_id"]
    head, body = wire.rsplit(":", 1)
    bad: dict[int, tuple[Any, str]] = {
        1: (records[1]["citizen_id"], "citizen_id.not_encrypted"),  # a producer that did not encrypt
        2: (int(records[2]["citizen_id"]), "citizen_id.not_encrypted"),  # … as a number
        3: (f"{head}:{body[:30]}{'Q' if body[30] != 'Q' else 'R'}{body[31:]}", "citizen_id.undecryptable"),
        4: (seal(records[4]["citizen_id"], MOI.id, "case_id", "k1", _public()), "citizen_id.undecryptable"),
        5: (
            seal(records[5]["citizen_id"], "dopa.x", "citizen_id", "k1", _public()),
            "citizen_id.undecryptable",
        ),
        6: (
            seal(records[6]["citizen_id"], MOI.id, "citizen_id", "k7", other_key.public["k7"]),
            "citizen_id.undecryptable",
        ),
        7: ("gdxenc:v1:k1:" + records[7]["citizen_id"], "citizen_id.undecryptable"),
    }
    expected = {}
    for i, (v, rule) in bad.items():
        values[i] = canonical_json({**sealed(MOI, records[i]), "citizen_id": v})
        expected[i] = rule
    return records, values, expected


def _public() -> bytes:
    from gdx.security.field_keys import FieldKeyring
    from gdx.settings import Settings

    ring = FieldKeyring.from_settings(Settings.from_env())
    return ring.public[ring.newest]


def test_decrypt_before_typed_checks() -> None:
    records, values, expected = _cases()
    decoded = Decoder(MOI, IngestConfig(), PSEUDO, decryptor(MOI)).decode(_raw(values))
    assert {i: f.rule_id for i, f in decoded.failures.first.items()} == expected
    reasons = {i: f.reason for i, f in decoded.failures.first.items()}
    assert "another key" in reasons[3] and "another contract or property" in reasons[4] == reasons[5]
    assert "k7" in reasons[6] and "well-formed" in reasons[7] and "in clear" in reasons[1]
    clear = decoded.columns["citizen_id"].to_pylist()
    for i, r in enumerate(records):
        assert clear[i] == (None if i in expected else r["citizen_id"])
    for f in decoded.failures.first.values():
        assert not any(r["citizen_id"] in f.reason for r in records)


def test_gate_validates_the_clear_value_and_lands_tokens_only() -> None:
    from gdx.ingest.landing import bronze_table

    records = list(valid_records(MOI.id, 20, seed=8))
    records[3]["citizen_id"] = records[3]["citizen_id"][:-1] + str(
        (int(records[3]["citizen_id"][-1]) + 1) % 10
    )
    validated = Validator(MOI, IngestConfig(), PSEUDO, decryptor(MOI)).validate(
        _raw([canonical_json(sealed(MOI, r)) for r in records])
    )
    assert {i: f.rule_id for i, f in validated.failures.items()} == {3: "rule.citizen_id_checksum"}
    table = bronze_table(
        MOI, validated.properties.take(validated.landed), topic=MOI.topic, partitions=[0] * 19,
        offsets=list(validated.landed), timestamps_ms=[1_709_272_800_000] * 19,
        event_ids=[validated.event_ids[i] for i in validated.landed], batch_id="b",
        ingested_at=__import__("datetime").datetime.now(__import__("datetime").UTC), pseudonymiser=PSEUDO,
    )  # fmt: skip
    landed = [records[i]["citizen_id"] for i in validated.landed]
    assert table.column("citizen_id_hmac").to_pylist() == [PSEUDO.token(c) for c in landed]


def test_without_a_decryptor_nothing_personal_lands() -> None:
    records = list(valid_records(MOI.id, 5, seed=1))
    decoded = Decoder(MOI, IngestConfig(), PSEUDO, None).decode(
        _raw([canonical_json(sealed(MOI, r)) for r in records])
    )
    assert {f.rule_id for f in decoded.failures.first.values()} == {"citizen_id.undecryptable"}
    assert len(decoded.failures) == 5


def test_replay_accepts_tokens_but_not_clear_values() -> None:
    records = list(valid_records(MOI.id, 3, seed=3))
    token_rec = {**records[0], "citizen_id": PSEUDO.token(records[0]["citizen_id"])}
    values = [canonical_json(token_rec), canonical_json(records[1]), canonical_json(sealed(MOI, records[2]))]
    decoder = Decoder(MOI, IngestConfig(), PSEUDO, decryptor(MOI))
    replay = decoder.decode(_raw(values), accept_tokens=True)
    assert {i: f.rule_id for i, f in replay.failures.first.items()} == {1: "citizen_id.not_encrypted"}
    ingest = decoder.decode(_raw(values))
    assert {i: f.rule_id for i, f in ingest.failures.first.items()} == {
        0: "citizen_id.not_encrypted",
        1: "citizen_id.not_encrypted",
    }
