"""Field-level encryption: sealed boxes that only landing opens, bound to contract and property,
versioned keys that rotate without stranding old records, keys only from configuration."""

from __future__ import annotations

import base64
import os
import stat

import pytest
from nacl.public import PrivateKey, PublicKey, SealedBox

from gdx.contracts.model import get_contract
from gdx.security import field_crypto as fc
from gdx.security import field_keys as fk
from gdx.settings import Settings
from gdx.thai.citizen_id import make_citizen_id

MOI = get_contract("moi.informal_debt_cases")
CID = make_citizen_id("110170020754")


def _ring(*versions: str) -> fk.FieldKeyring:
    return fk.FieldKeyring.build({}, {v: bytes(PrivateKey.generate()) for v in versions})


def test_round_trip_and_wire_form() -> None:
    ring = _ring("k1")
    enc = fc.FieldEncryptor(MOI, ring)
    record = {"case_id": "BRM-2567-000001", "citizen_id": CID, "principal_thb": 5000.0}
    sealed = enc.encrypt_record(record)
    wire = sealed["citizen_id"]
    assert fc.WIRE_RE.match(wire) and wire.startswith("gdxenc:v1:k1:")
    assert CID not in wire and sealed["case_id"] == record["case_id"] and record["citizen_id"] == CID
    assert enc.encrypt_record(record)["citizen_id"] != wire  # randomised: an ephemeral key per value
    assert fc.FieldDecryptor(MOI, ring).open("citizen_id", wire) == CID
    assert enc.encrypt_record({**record, "citizen_id": None})["citizen_id"] is None


def test_interoperable_with_any_libsodium_sealed_box() -> None:
    """What an agency's own libsodium binding produces (crypto_box_seal of the documented
    plaintext, base64url without padding) opens here — no GDX code on the producer side."""
    secret = PrivateKey.generate()
    ring = fk.FieldKeyring.build({}, {"k3": bytes(secret)})
    public = PublicKey(ring.public["k3"])
    box = SealedBox(public).encrypt(f"moi.informal_debt_cases|citizen_id|{CID}".encode())
    wire = "gdxenc:v1:k3:" + base64.urlsafe_b64encode(box).rstrip(b"=").decode()
    assert fc.FieldDecryptor(MOI, ring).open("citizen_id", wire) == CID
    # and ours opens with plain libsodium
    ours = fc.FieldEncryptor(MOI, ring).encrypt_record({"citizen_id": CID})["citizen_id"]
    raw = base64.urlsafe_b64decode(ours.split(":", 3)[3] + "==")
    assert SealedBox(secret).decrypt(raw) == f"moi.informal_debt_cases|citizen_id|{CID}".encode()


def _kind(dec: fc.FieldDecryptor, prop: str, text: str) -> str:
    with pytest.raises(fc.FieldCryptoError) as info:
        dec.open(prop, text)
    assert CID not in str(info.value)
    return info.value.kind


def test_tampered_wrong_context_unknown_version_malformed_are_refused() -> None:
    ring = _ring("k1", "k2")
    dec = fc.FieldDecryptor(MOI, ring)
    wire = fc.seal(CID, MOI.id, "citizen_id", "k2", ring.public["k2"])
    head, body = wire.rsplit(":", 1)
    flipped = body[:40] + ("A" if body[40] != "A" else "B") + body[41:]
    assert _kind(dec, "citizen_id", f"{head}:{flipped}") == fc.UNAUTHENTIC
    # the same box relabelled with another version the landing holds: wrong key, does not open
    assert _kind(dec, "citizen_id", wire.replace(":k2:", ":k1:")) == fc.UNAUTHENTIC
    # moved to another property or another contract: opens, but the sealed context says no
    assert _kind(dec, "case_id", wire) == fc.WRONG_CONTEXT
    other = fc.seal(CID, "dopa.population", "citizen_id", "k2", ring.public["k2"])
    assert _kind(dec, "citizen_id", other) == fc.WRONG_CONTEXT
    # a version this landing does not hold
    k9 = _ring("k9")
    assert (
        _kind(dec, "citizen_id", fc.seal(CID, MOI.id, "citizen_id", "k9", k9.public["k9"])) == fc.UNKNOWN_KEY
    )
    for bad in ("gdxenc:v1:k1:short", f"gdxenc:v1:{CID}:{body}", "gdxenc:v1:k1:" + "!" * 80, CID):
        assert _kind(dec, "citizen_id", bad) == fc.MALFORMED


def test_open_many_in_threads_keeps_positions() -> None:
    ring = _ring("k1")
    dec = fc.FieldDecryptor(MOI, ring, threads=2)
    ids = [make_citizen_id(f"{110170020000 + i}") for i in range(2500)]
    wires = [fc.seal(c, MOI.id, "citizen_id", "k1", ring.public["k1"]) for c in ids]
    wires[7] = wires[7][:-6] + "AAAAAA"
    wires[2222] = "gdxenc:v1:k5:" + wires[2222].split(":", 3)[3]
    opened = dec.open_many("citizen_id", wires)
    assert set(opened.errors) == {7, 2222} and opened.errors[2222].kind == fc.UNKNOWN_KEY
    assert opened.values[7] is None and opened.values[2222] is None
    assert [v for i, v in enumerate(opened.values) if i not in (7, 2222)] == [
        c for i, c in enumerate(ids) if i not in (7, 2222)
    ]


def test_rotation_producers_use_newest_landing_reads_all(tmp_path) -> None:
    keydir = tmp_path / "keys"
    assert fk.rotate(keydir) == "k1"
    settings = Settings(field_keys_dir=keydir)
    before = fc.FieldEncryptor.for_contract(MOI, settings=settings)
    old = before.encrypt_record({"citizen_id": CID})["citizen_id"]
    assert fk.rotate(keydir, fk.FieldKeyring.from_settings(settings)) == "k2"
    after = fc.FieldEncryptor.for_contract(MOI, settings=settings)
    assert after.version == "k2"
    new = after.encrypt_record({"citizen_id": CID})["citizen_id"]
    assert new.startswith("gdxenc:v1:k2:") and old.startswith("gdxenc:v1:k1:")
    dec = fc.FieldDecryptor.for_contract(MOI, settings=settings)
    assert dec.open("citizen_id", old) == dec.open("citizen_id", new) == CID


def test_key_files_are_private_from_creation(tmp_path) -> None:
    keydir = tmp_path / "state" / "keys" / "field"
    old_umask = os.umask(0o000)  # even with a permissive umask
    try:
        fk.ensure_keys(keydir)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(keydir.stat().st_mode) == 0o700
    assert stat.S_IMODE((keydir / "k1.key").stat().st_mode) == 0o600
    assert fk.ensure_keys(keydir) is None  # idempotent: an existing pair is kept
    (keydir / "k1.key").chmod(0o644)
    with pytest.raises(fk.FieldKeyError, match="readable by other users"):
        fk.read_key_dir(keydir)


def test_keys_from_environment_never_printed() -> None:
    secret = bytes(PrivateKey.generate())
    b64 = base64.b64encode(secret).decode()
    settings = Settings(
        field_private_keys=f"k1:{b64}", field_keys_dir=__import__("pathlib").Path("/nonexistent")
    )
    ring = fk.FieldKeyring.from_settings(settings)
    assert ring.versions == ["k1"] and ring.private["k1"] == secret
    for text in (repr(ring), repr(settings), repr(fc.FieldDecryptor(MOI, ring))):
        assert b64 not in text and b64[:16] not in text
    other_public = base64.b64encode(bytes(PrivateKey.generate().public_key)).decode()
    with pytest.raises(fk.FieldKeyError, match="does not belong"):
        fk.FieldKeyring.from_settings(
            Settings(
                field_private_keys=f"k1:{b64}",
                field_public_keys=f"k1:{other_public}",
                field_keys_dir=settings.field_keys_dir,
            )
        )
    for bad in (
        "k1",
        "x1:" + b64,
        "k1:notbase64!!",
        "k1:" + base64.b64encode(b"short").decode(),
        f"k1:{b64},k1:{b64}",
    ):
        with pytest.raises(fk.FieldKeyError) as info:
            fk.parse_key_list(bad, "GDX_FIELD_PRIVATE_KEYS")
        assert b64 not in str(info.value)


def test_missing_keys_fail_clearly(tmp_path) -> None:
    empty = Settings(field_keys_dir=tmp_path / "none")
    with pytest.raises(fk.FieldKeyError, match="GDX_FIELD_PUBLIC_KEYS"):
        fc.FieldEncryptor.for_contract(MOI, settings=empty)
    with pytest.raises(fk.FieldKeyError, match="GDX_FIELD_PRIVATE_KEYS"):
        fc.FieldDecryptor.for_contract(MOI, settings=empty)
    air = get_contract("pcd.air_quality_hourly")
    assert fc.FieldEncryptor.for_contract(air, settings=empty) is None
    assert fc.FieldDecryptor.for_contract(air, settings=empty) is None
    # a producer holding only the public key can encrypt but not decrypt
    pub_only = fk.FieldKeyring(public=dict(_ring("k1").public))
    assert fc.FieldEncryptor(MOI, pub_only).version == "k1"
    with pytest.raises(fk.FieldKeyError):
        fc.FieldDecryptor.for_contract(MOI, keyring=pub_only)


def test_demo_creates_its_keys_private_from_the_first_byte(tmp_path, monkeypatch) -> None:
    from gdx.demo import demo_env

    monkeypatch.delenv("GDX_PII_KEY", raising=False)
    monkeypatch.delenv("GDX_FIELD_PRIVATE_KEYS", raising=False)
    old_umask = os.umask(0o000)  # a mode applied after writing would show up as 0666 first
    try:
        settings = Settings(
            state_dir=tmp_path / "state", field_keys_dir=tmp_path / "state" / "keys" / "field"
        )
        env = demo_env(settings)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "state" / "pii.key").stat().st_mode) == 0o600
    assert env["GDX_PII_KEY"].startswith("k1:")
    ring = fk.FieldKeyring.from_settings(settings)
    assert ring.versions == ["k1"] and "k1" in ring.private
    assert stat.S_IMODE((settings.field_keys_dir / "k1.key").stat().st_mode) == 0o600
    demo_env(settings)  # a second run keeps both keys
    assert fk.FieldKeyring.from_settings(settings).private == ring.private
