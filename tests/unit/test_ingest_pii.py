"""Pseudonymisation: keyed, versioned tokens; raw text never keeps a citizen id in clear."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest

from gdx.contracts.model import get_contract
from gdx.ingest.pii import (
    PiiKey,
    PiiKeyError,
    Pseudonymiser,
    citizen_id_rows,
    contains_citizen_id,
    is_token,
    key_for,
    surrogate_citizen_id,
)
from gdx.thai.citizen_id import is_valid_citizen_id, make_citizen_id

KEY = "k1:" + "a-secret-of-32-bytes-0123456789x"
CID = make_citizen_id("110170020754")


def test_key_parsing_and_errors() -> None:
    key = PiiKey.parse(KEY)
    assert key.version == "k1" and "a-secret" not in repr(key)
    for bad in (None, "", "nocolon", "1:" + "x" * 32, "k1:short"):
        with pytest.raises(PiiKeyError):
            PiiKey.parse(bad)
    moi, air = get_contract("moi.informal_debt_cases"), get_contract("pcd.air_quality_hourly")
    with pytest.raises(PiiKeyError, match="GDX_PII_KEY is not set"):
        key_for(moi, None)
    assert key_for(air, None) is None


def test_token_is_versioned_hmac_sha256() -> None:
    p = Pseudonymiser(PiiKey.parse(KEY))
    token = p.token(CID)
    expected = hmac.new(KEY.split(":", 1)[1].encode(), CID.encode(), hashlib.sha256).hexdigest()
    assert token == f"k1:{expected}" and is_token(token)
    assert token != f"k1:{hashlib.sha256(CID.encode()).hexdigest()}"
    assert p.tokens(pa.array([CID, None])).to_pylist() == [token, None]


def test_mask_text() -> None:
    p = Pseudonymiser(PiiKey.parse(KEY))
    dashed = f"{CID[0]}-{CID[1:5]}-{CID[5:10]}-{CID[10:12]}-{CID[12]}"
    thai = CID.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
    invalid = CID[:-1] + str((int(CID[-1]) + 1) % 10)
    text = f'{{"citizen_id":"{CID}","a":"{dashed}","b":"{thai}","c":"{invalid}","n":12345678901234567}}'
    masked = p.mask_text(text, personal=True)
    for secret in (CID, dashed, thai, invalid, "12345678901234567"):
        assert secret not in masked
    assert p.token(CID) in masked
    assert not contains_citizen_id(masked)
    # a contract without personal data keeps other numbers, but never a valid id
    light = p.mask_text(text, personal=False)
    assert CID not in light and invalid in light
    # no key: valid ids are masked, not tokenised
    assert CID not in Pseudonymiser(None).mask_text(text, personal=False)


def test_citizen_id_rows_and_surrogates() -> None:
    values = pa.array(["station 57t", f"call {CID} now", None, "2024-03-01 13:00", "1234567890123"])
    assert citizen_id_rows(values) == [1]
    token = Pseudonymiser(PiiKey.parse(KEY)).token(CID)
    s = surrogate_citizen_id(token)
    assert is_valid_citizen_id(s) and s.startswith("9") and s != CID
    assert surrogate_citizen_id(token) == s
