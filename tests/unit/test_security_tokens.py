"""The API token store on a real filesystem: hashes only, 0600, atomic rewrites, re-read on change."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from gdx.agencies import load_agencies
from gdx.security.tokens import TOKEN_PREFIX, TokenError, TokenStore, default_tokens_path, token_hash

REPO = Path(__file__).resolve().parents[2]
AGENCIES = load_agencies(REPO / "contracts")


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / "state" / "auth" / "api_tokens.json")


def test_issue_stores_only_the_hash_with_private_permissions(store: TokenStore) -> None:
    old_umask = os.umask(0o000)  # even a permissive umask must not widen the file's mode
    try:
        record, token = store.issue("moi", AGENCIES, "nightly report")
        second, token2 = store.issue("moi", AGENCIES)
    finally:
        os.umask(old_umask)
    assert token.startswith(TOKEN_PREFIX) and len(token) == len(TOKEN_PREFIX) + 43 and token != token2
    text = store.path.read_text()
    assert token not in text and token2 not in text
    assert token[len(TOKEN_PREFIX) :] not in text
    data = json.loads(text)
    assert data["version"] == 1
    assert [t["sha256"] for t in data["tokens"]] == [
        hashlib.sha256(token.encode()).hexdigest(),
        hashlib.sha256(token2.encode()).hexdigest(),
    ]
    assert data["tokens"][0] == {
        "id": record.id,
        "agency": "moi",
        "label": "nightly report",
        "created": record.created,
        "revoked": None,
        "sha256": token_hash(token),
    }
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")] == []  # no leftovers
    assert second.id != record.id


def test_lookup_and_revocation_are_seen_by_a_running_reader(store: TokenStore) -> None:
    reader = TokenStore(store.path)  # the server's instance, loaded before the revocation
    record, token = store.issue("dopa", AGENCIES, "etl")
    found = reader.lookup(token)
    assert found is not None and found.agency == "dopa" and found.active
    writer = TokenStore(store.path)  # `gdx agencies revoke` runs in another process
    revoked = writer.revoke(record.id)
    assert revoked.revoked is not None
    again = reader.lookup(token)
    assert again is not None and not again.active and again.revoked == revoked.revoked
    assert writer.revoke(record.id).revoked == revoked.revoked  # idempotent: the first time stays


def test_unknown_and_malformed_tokens_are_not_found(store: TokenStore) -> None:
    _, token = store.issue("pcd", AGENCIES)
    assert store.lookup(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    for junk in ("", "gdx_", "Bearer " + token, token + " ", "x" * 47, None):
        assert store.lookup(junk) is None  # type: ignore[arg-type]


def test_refusals(store: TokenStore) -> None:
    with pytest.raises(TokenError, match="unknown agency 'nasa'"):
        store.issue("nasa", AGENCIES)
    with pytest.raises(TokenError, match="control characters"):
        store.issue("moi", AGENCIES, "a\nb")
    with pytest.raises(TokenError, match="longer than"):
        store.issue("moi", AGENCIES, "x" * 101)
    with pytest.raises(TokenError, match="no token with id"):
        store.revoke("0123456789abcdef")
    with pytest.raises(TokenError, match="not a token id"):
        store.revoke("../../etc")
    assert not store.path.exists() or json.loads(store.path.read_text())["tokens"] == []


def test_listing_never_shows_a_token(store: TokenStore) -> None:
    _, moi = store.issue("moi", AGENCIES)
    _, dopa = store.issue("dopa", AGENCIES)
    assert [r.agency for r in store.records()] == ["moi", "dopa"]
    assert [r.agency for r in store.records("dopa")] == ["dopa"]
    shown = json.dumps([r.public() for r in store.records()])
    assert moi not in shown and dopa not in shown and "sha256" not in shown


def test_a_damaged_store_is_an_error_not_an_empty_store(store: TokenStore) -> None:
    store.issue("moi", AGENCIES)
    store.path.write_text("{not json")
    with pytest.raises(TokenError, match="not a valid token store"):
        store.records()
    with pytest.raises(TokenError):
        TokenStore(store.path).lookup(TOKEN_PREFIX + "a" * 43)


def test_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GDX_API_TOKENS_FILE", raising=False)
    assert default_tokens_path(tmp_path) == tmp_path / "auth" / "api_tokens.json"
    monkeypatch.setenv("GDX_API_TOKENS_FILE", str(tmp_path / "elsewhere.json"))
    assert default_tokens_path(tmp_path) == tmp_path / "elsewhere.json"
