"""Versioned X25519 key pairs for field-level encryption of personal data (`k1`, `k2`, …).

Producers encrypt with the newest public key; landing decrypts with whichever private key the
ciphertext names, so records sealed before a rotation still land after it. Where keys come from
(configuration only, never the repository or the code):

* `GDX_FIELD_PRIVATE_KEYS` — `k1:<base64>,k2:<base64>` (32-byte X25519 secret keys);
* `GDX_FIELD_PUBLIC_KEYS` — the same form with public keys (what an agency's producer needs);
* `GDX_FIELD_KEYS_DIR` (default `<state>/keys/field/`, git-ignored): `<version>.key` (secret key,
  base64, mode 0600) and `<version>.pub` (public key, base64); the folder is mode 0700.

The environment wins over the folder for a version both define, but a public key that does not
belong to the private key of the same version is an error, not a silent choice. Secret keys never
appear in a repr, a log line or an exception message; `fingerprint` (SHA-256 of the public key,
16 hex) is what `gdx keys list` shows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gdx.settings import Settings

VERSION_RE = re.compile(r"^k([0-9]{1,6})$")
KEY_BYTES = 32
PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"


class FieldKeyError(ValueError):
    """Field keys are missing, malformed or inconsistent (the message never holds a secret)."""


def version_number(version: str) -> int:
    m = VERSION_RE.match(version)
    if m is None:
        raise FieldKeyError(f"a field key version must look like k1, k2, …; got {version[:12]!r}")
    return int(m.group(1))


def fingerprint(public_key: bytes) -> str:
    """Short public identity of a key pair: the first 16 hex digits of SHA-256(public key)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def _b64decode(text: str, what: str) -> bytes:
    text = text.strip()
    try:
        raw = base64.b64decode(
            text + "=" * (-len(text) % 4),
            altchars=b"-_" if ("-" in text or "_" in text) else None,
            validate=True,
        )
    except (binascii.Error, ValueError):
        raise FieldKeyError(f"{what} is not base64") from None
    if len(raw) != KEY_BYTES:
        raise FieldKeyError(f"{what} is {len(raw)} bytes, not {KEY_BYTES}")
    return raw


def b64encode(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def public_of(private_key: bytes) -> bytes:
    from nacl.bindings import crypto_scalarmult_base

    return crypto_scalarmult_base(private_key)


def parse_key_list(text: str | None, what: str) -> dict[str, bytes]:
    """`k1:<base64>,k2:<base64>` → {version: key bytes}; empty/None → {}."""
    out: dict[str, bytes] = {}
    for item in (text or "").replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        version, sep, b64 = item.partition(":")
        if not sep:
            raise FieldKeyError(f"{what}: each entry must be <version>:<base64>, e.g. k1:…")
        version_number(version)
        if version in out:
            raise FieldKeyError(f"{what}: version {version} appears twice")
        out[version] = _b64decode(b64, f"{what} {version}")
    return out


@dataclass(frozen=True)
class FieldKeyring:
    """Public keys (to encrypt) and private keys (to decrypt) by version."""

    public: Mapping[str, bytes] = field(default_factory=dict)
    private: Mapping[str, bytes] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never print a secret key
        return f"FieldKeyring(public={sorted(self.public)}, private={sorted(self.private)})"

    @property
    def versions(self) -> list[str]:
        return sorted(set(self.public) | set(self.private), key=version_number)

    @property
    def newest(self) -> str | None:
        """The version producers encrypt with: the highest one with a public key."""
        pub = sorted(self.public, key=version_number)
        return pub[-1] if pub else None

    def fingerprints(self) -> dict[str, str]:
        return {v: fingerprint(self.public[v]) for v in self.versions if v in self.public}

    @classmethod
    def build(cls, public: Mapping[str, bytes], private: Mapping[str, bytes]) -> FieldKeyring:
        pub = dict(public)
        for version, secret in private.items():
            derived = public_of(secret)
            if version in pub and pub[version] != derived:
                raise FieldKeyError(f"field key {version}: the public key does not belong to the private key")
            pub[version] = derived
        return cls(pub, dict(private))

    @classmethod
    def from_settings(cls, settings: Settings) -> FieldKeyring:
        """Keys from the key folder, then the environment variables (which win per version)."""
        dir_pub, dir_priv = read_key_dir(settings.field_keys_dir)
        env_pub = parse_key_list(settings.field_public_keys, "GDX_FIELD_PUBLIC_KEYS")
        env_priv = parse_key_list(settings.field_private_keys, "GDX_FIELD_PRIVATE_KEYS")
        private = {**dir_priv, **env_priv}
        public = {**dir_pub, **env_pub}
        for version in env_priv:  # an env private key replaces the folder's pair of that version
            if version not in env_pub:
                public.pop(version, None)
        return cls.build(public, private)


def read_key_dir(directory: Path) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(public, private) keys of a key folder; a missing folder holds none."""
    public: dict[str, bytes] = {}
    private: dict[str, bytes] = {}
    if not directory.is_dir():
        return public, private
    for path in sorted(directory.iterdir()):
        version = path.stem
        if not VERSION_RE.match(version) or path.suffix not in (PRIVATE_SUFFIX, PUBLIC_SUFFIX):
            continue
        text = path.read_text(encoding="ascii", errors="replace")
        if path.suffix == PRIVATE_SUFFIX:
            if path.stat().st_mode & 0o077:
                raise FieldKeyError(
                    f"{path} is readable by other users: chmod 600 it (and rotate the key if it leaked)"
                )
            private[version] = _b64decode(text, f"key file {path.name}")
        else:
            public[version] = _b64decode(text, f"key file {path.name}")
    return public, private


def ensure_key_dir(directory: Path) -> Path:
    """The key folder, created with mode 0700 (an existing one is tightened to 0700)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if directory.stat().st_mode & 0o077:
        directory.chmod(0o700)  # a folder: no secret was readable through it (key files are 0600)
    return directory


def _write_new(path: Path, text: str, mode: int) -> None:
    """Write a new file created with `mode` from the start (never write-then-chmod), atomically:
    a temp file opened O_EXCL with the final mode, then renamed over nothing."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            raise FieldKeyError(f"{path} already exists: not overwriting a key")
        os.rename(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def rotate(directory: Path, existing: FieldKeyring | None = None) -> str:
    """Add a new key pair `k<n+1>` to `directory` (n = the highest version known); returns it."""
    from nacl.bindings import crypto_box_keypair

    ensure_key_dir(directory)
    dir_pub, dir_priv = read_key_dir(directory)
    known = set(dir_pub) | set(dir_priv) | set(existing.versions if existing else ())
    version = f"k{max((version_number(v) for v in known), default=0) + 1}"
    public_key, secret_key = crypto_box_keypair()
    _write_new(directory / f"{version}{PRIVATE_SUFFIX}", b64encode(secret_key) + "\n", 0o600)
    _write_new(directory / f"{version}{PUBLIC_SUFFIX}", b64encode(public_key) + "\n", 0o644)
    return version


def ensure_keys(directory: Path) -> str | None:
    """Create `k1` in `directory` unless it already holds a key pair; returns the new version or None."""
    public, private = read_key_dir(directory)
    if private:
        return None
    return rotate(directory)
