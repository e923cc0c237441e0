"""CKAN-style API tokens for the catalog service: one or more per agency, stored only as hashes.

A token is what an agency's scripts send in the `Authorization` header (CKAN 2.10's header; the
older `X-CKAN-API-Key` works too) to see and download the restricted datasets its contracts grant
it. `gdx agencies token AGENCY` issues one and prints it once; the store keeps its SHA-256 only,
so neither the file nor a backup of it can be replayed against the server.

Store (`GDX_API_TOKENS_FILE`, default `<GDX_STATE_DIR>/auth/api_tokens.json`, mode 0600, folder
0700), rewritten atomically (temporary file + rename) under an exclusive lock:

    {"version": 1,
     "tokens": [{"id": "3f9c0a7be41d2c85", "agency": "moi", "label": "nightly report",
                 "created": "2026-12-03T08:15:02Z", "revoked": null,
                 "sha256": "<hex SHA-256 of the token>"}]}

The server re-reads the file whenever it changes (`TokenStore.lookup` compares its inode, size
and mtime on every call), so a revocation takes effect on the next request without a restart.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TOKEN_PREFIX = "gdx_"
"""Every token starts with this, so a leaked one is recognisable (secret scanners, log filters)."""

TOKEN_BYTES = 32
"""256 bits from the OS CSPRNG (`secrets`), as URL-safe base64: 43 characters after the prefix."""

STORE_VERSION = 1
MAX_LABEL = 100
_TOKEN_SHAPE = re.compile(r"^gdx_[A-Za-z0-9_-]{43}$")
_TOKEN_ID_SHAPE = re.compile(r"^[0-9a-f]{16}$")


class TokenError(ValueError):
    """A token request the store refuses (unknown agency, unknown token id, unreadable store)."""


@dataclass(frozen=True)
class TokenRecord:
    """One issued token as stored: everything but the token itself."""

    id: str
    agency: str
    label: str
    created: str
    revoked: str | None
    sha256: str

    @property
    def active(self) -> bool:
        return self.revoked is None

    def public(self) -> dict[str, Any]:
        """What listings show: never the hash either (it is useless to an operator)."""
        return {k: v for k, v in asdict(self).items() if k != "sha256"}


def token_hash(token: str) -> str:
    """SHA-256 of the token, hex.

    A plain, unsalted hash is enough here because the token is 256 bits from a CSPRNG: nobody can
    enumerate or guess preimages, so the hash alone lets the server recognise a token without the
    store being able to reproduce it. Citizen IDs are the opposite case: 13 digits with a check
    digit are ~10^12 candidates, which a laptop hashes through in hours, so a plain hash of a
    citizen ID is no protection at all; they are pseudonymised with a keyed HMAC whose key lives
    outside the data (GDX_PII_KEY).
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def default_tokens_path(state_dir: Path | None = None) -> Path:
    """GDX_API_TOKENS_FILE, else `<state>/auth/api_tokens.json`."""
    configured = os.environ.get("GDX_API_TOKENS_FILE")
    if configured:
        return Path(configured).expanduser()
    if state_dir is None:
        from gdx.settings import Settings

        state_dir = Settings.from_env().state_dir
    return Path(state_dir) / "auth" / "api_tokens.json"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean_label(label: str | None) -> str:
    text = (label or "").strip()
    if len(text) > MAX_LABEL:
        raise TokenError(f"the label is longer than {MAX_LABEL} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise TokenError("the label contains control characters")
    return text


class TokenStore:
    """The token file: issue, list, revoke (CLI) and look up (server, re-read on change)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | None = None
        self._by_hash: dict[str, TokenRecord] = {}

    # --- reading ---------------------------------------------------------------------------------

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def _read(self) -> list[TokenRecord]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise TokenError(f"cannot read the token store {self.path}: {exc.strerror}") from exc
        try:
            raw = json.loads(text)
            if raw.get("version") != STORE_VERSION:
                raise TokenError(f"{self.path}: unsupported token store version {raw.get('version')!r}")
            return [TokenRecord(**entry) for entry in raw["tokens"]]
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise TokenError(f"{self.path} is not a valid token store: {exc}") from exc

    def records(self, agency: str | None = None) -> list[TokenRecord]:
        """Every issued token (revoked ones included), oldest first; only `agency`'s if given."""
        return [r for r in self._read() if agency is None or r.agency == agency]

    def lookup(self, token: str) -> TokenRecord | None:
        """The record of `token` (active or revoked), or None if the store never issued it.

        Reloads the file when its inode, size or mtime changed since the last call: an atomic
        rewrite by `gdx agencies revoke` is seen by the next request. A malformed token is refused
        before hashing. The dictionary lookup compares hashes, not the secret, so its timing tells
        an attacker nothing about a valid token.
        """
        if not isinstance(token, str) or not _TOKEN_SHAPE.match(token):
            return None
        with self._lock:
            signature = self._stat()
            if signature != self._signature:
                self._by_hash = {r.sha256: r for r in self._read()}
                self._signature = signature
            return self._by_hash.get(token_hash(token))

    # --- writing ---------------------------------------------------------------------------------

    @contextmanager
    def _exclusive(self) -> Iterator[list[TokenRecord]]:
        """Read-modify-write under an exclusive lock; the caller mutates the list it is given."""
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(parents=True, mode=0o700)
        lock_path = folder / f".{self.path.name}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            records = self._read()
            yield records
            self._write(records)
        finally:
            os.close(fd)  # releases the lock

    def _write(self, records: list[TokenRecord]) -> None:
        body = json.dumps(
            {"version": STORE_VERSION, "tokens": [asdict(r) for r in records]}, indent=2, ensure_ascii=False
        ).encode("utf-8")
        tmp = self.path.parent / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        # 0600 from the first byte: O_CREAT's mode applies before anything is written, and a umask
        # can only remove permissions, never add them.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a crash
        finally:
            os.close(dir_fd)

    def issue(
        self, agency: str, known_agencies: set[str] | dict[str, Any], label: str | None = None
    ) -> tuple[TokenRecord, str]:
        """A new token for `agency` (which must be in the agencies registry): (its record, the token).

        The token is returned once and never stored; only its hash is.
        """
        if agency not in known_agencies:
            known = ", ".join(sorted(known_agencies))
            raise TokenError(f"unknown agency {agency!r}; the agencies registry has: {known}")
        clean = _clean_label(label)
        token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        with self._exclusive() as records:
            taken = {r.id for r in records}
            token_id = secrets.token_hex(8)
            while token_id in taken:
                token_id = secrets.token_hex(8)
            record = TokenRecord(token_id, agency, clean, _now(), None, token_hash(token))
            records.append(record)
        return record, token

    def revoke(self, token_id: str) -> TokenRecord:
        """Mark a token revoked (kept in the store, so a later use is recognised and audited)."""
        if not _TOKEN_ID_SHAPE.match(token_id or ""):
            raise TokenError(f"{token_id!r} is not a token id (16 hex digits, see `gdx agencies tokens`)")
        with self._exclusive() as records:
            for i, record in enumerate(records):
                if record.id == token_id:
                    if record.revoked is None:
                        records[i] = replace(record, revoked=_now())
                    return records[i]
        raise TokenError(f"no token with id {token_id}")

    def forget(self, token_id: str) -> None:
        """Remove a token that must not exist (issuing it could not be audited)."""
        with self._exclusive() as records:
            records[:] = [r for r in records if r.id != token_id]
