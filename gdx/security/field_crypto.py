"""Field-level encryption of personal data: sealed at the producer, opened only at landing.

Every property a contract marks as personal data (`Contract.pii_properties`, e.g. `citizen_id`) is
encrypted by the producer, value by value, after the edge check has validated the clear value, and
before the record is encoded for Kafka. The topic, its log segments, dead letters and quarantine
therefore only ever see ciphertext; landing decrypts with the platform's private key and
pseudonymises with the keyed HMAC (`gdx.ingest.pii`) as before.

Why libsodium sealed boxes (`crypto_box_seal`: X25519 + XSalsa20-Poly1305, via PyNaCl):
* interoperable: the same primitive is in every libsodium binding (Java lazysodium/jsodium, Go
  `golang.org/x/crypto/nacl/box.SealAnonymous`, .NET, PHP `sodium_crypto_box_seal`, JS
  libsodium.js, the `sodium` CLI tools), so an agency that publishes from its own stack — or with
  kcat after a one-line encrypt step — can encrypt exactly as we do (docs/publish-encrypted-fields.md);
* no nonce management: the nonce is derived from the ephemeral and recipient public keys, so a
  producer cannot get it wrong (an AES-GCM nonce reused across producers is catastrophic);
* anonymous sender: a producer needs only the public key, holds no secret, and cannot decrypt
  what it — or any other agency — published;
* authenticated: a flipped byte fails the Poly1305 tag.
HPKE (RFC 9180) in `cryptography` would work too, but is not in every agency's toolbox yet.

Wire form of an encrypted value (a JSON string in place of the clear value; null stays null):

    gdxenc:v1:<key version>:<base64url, no padding, of crypto_box_seal(plaintext, public key)>

    e.g. "gdxenc:v1:k2:Xq3…"   (version `k<n>`, the key pair that sealed it)
    plaintext = UTF-8 of  <contract id> "|" <property name> "|" <clear value>
              e.g. "moi.informal_debt_cases|citizen_id|1101700207544"

Sealed boxes carry no associated data, so the context is sealed *inside* the box and checked on
opening: a ciphertext copied into another property or another contract's record decrypts, but is
refused (`wrong_context`) instead of landing as that other field. The format tag `v1` names this
exact layout; a future layout gets `v2`, and landing keeps reading `v1`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gdx.security.field_keys import FieldKeyError, FieldKeyring

if TYPE_CHECKING:
    from gdx.contracts.model import Contract
    from gdx.settings import Settings

PREFIX = "gdxenc:v1:"
WIRE_RE = re.compile(r"^gdxenc:v1:(k[0-9]{1,6}):([A-Za-z0-9_-]{64,})$")
SEAL_OVERHEAD = 48  # ephemeral public key (32) + Poly1305 tag (16)
_PARALLEL_FROM = 2_000  # below this, a thread pool costs more than it saves

# Why a value could not be opened; the reasons never quote the value.
MALFORMED = "malformed"
UNKNOWN_KEY = "unknown_key"
UNAUTHENTIC = "unauthentic"
WRONG_CONTEXT = "wrong_context"
REASONS = {
    MALFORMED: "not a well-formed gdxenc:v1 ciphertext",
    UNKNOWN_KEY: "sealed with key version {version}, which this landing does not hold",
    UNAUTHENTIC: "ciphertext does not authenticate (tampered with, or sealed for another key)",
    WRONG_CONTEXT: "ciphertext was sealed for another contract or property",
}


class FieldCryptoError(ValueError):
    """A value could not be encrypted or decrypted; `kind` is one of the constants above."""

    def __init__(self, kind: str, version: str | None = None) -> None:
        self.kind = kind
        self.version = version
        super().__init__(REASONS.get(kind, kind).format(version=version))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def context(contract_id: str, prop: str) -> bytes:
    """The bytes sealed in front of the value: `<contract id>|<property>|`."""
    return f"{contract_id}|{prop}|".encode()


def is_ciphertext(value: Any) -> bool:
    """True for a string in the wire form (whether or not it would open)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(value: str, contract_id: str, prop: str, version: str, public_key: bytes) -> str:
    """The wire form of `value` sealed for the holder of `public_key` (key `version`)."""
    from nacl.bindings import crypto_box_seal

    if not isinstance(value, str):
        raise TypeError(f"{prop}: only string values are encrypted, got {type(value).__name__}")
    box = crypto_box_seal(context(contract_id, prop) + value.encode("utf-8"), public_key)
    return f"{PREFIX}{version}:{_b64url(box)}"


def parse_wire(text: str) -> tuple[str, bytes]:
    """(key version, sealed box) of a wire value; FieldCryptoError(MALFORMED) otherwise."""
    m = WIRE_RE.match(text) if isinstance(text, str) else None
    if m is None:
        raise FieldCryptoError(MALFORMED)
    try:
        box = _unb64url(m.group(2))
    except (binascii.Error, ValueError):
        raise FieldCryptoError(MALFORMED) from None
    if len(box) <= SEAL_OVERHEAD:
        raise FieldCryptoError(MALFORMED)
    return m.group(1), box


class FieldEncryptor:
    """Encrypts one contract's personal-data properties with the newest public key."""

    def __init__(self, contract: Contract, keyring: FieldKeyring) -> None:
        version = keyring.newest
        if version is None:
            raise FieldKeyError(
                f"{contract.id} declares personal data, which is encrypted before it is published, but no "
                "field public key is configured: set GDX_FIELD_PUBLIC_KEYS=k1:<base64>, or put the platform's "
                "k<n>.pub in GDX_FIELD_KEYS_DIR (`gdx keys rotate` creates a key pair)."
            )
        self.contract = contract
        self.version = version
        self._public = keyring.public[version]
        self.properties = tuple(p.name for p in contract.pii_properties)

    @classmethod
    def for_contract(
        cls, contract: Contract, keyring: FieldKeyring | None = None, settings: Settings | None = None
    ) -> FieldEncryptor | None:
        """None for a contract without personal data; else an encryptor (FieldKeyError if no key)."""
        if not contract.pii_properties:
            return None
        if keyring is None:
            from gdx.settings import Settings

            keyring = FieldKeyring.from_settings(settings or Settings.from_env())
        return cls(contract, keyring)

    def encrypt_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of `record` with every non-null personal value in the wire form."""
        out = dict(record)
        cid, version, public = self.contract.id, self.version, self._public
        for name in self.properties:
            value = out.get(name)
            if value is not None:
                out[name] = seal(value, cid, name, version, public)
        return out


@dataclass(frozen=True)
class Opened:
    """Result of opening a column: clear values (None where it failed) and why rows failed."""

    values: list[Any]
    errors: dict[int, FieldCryptoError]


class FieldDecryptor:
    """Opens one contract's ciphertexts with whichever private key version they name."""

    def __init__(self, contract: Contract, keyring: FieldKeyring, threads: int | None = None) -> None:
        self.contract = contract
        self._keys = {v: (keyring.public[v], s) for v, s in keyring.private.items()}
        self.versions = tuple(sorted(self._keys))
        self.threads = max(1, threads if threads is not None else min(4, os.cpu_count() or 1))

    def __repr__(self) -> str:
        return f"FieldDecryptor({self.contract.id}, versions={list(self.versions)})"

    @classmethod
    def for_contract(
        cls, contract: Contract, keyring: FieldKeyring | None = None, settings: Settings | None = None
    ) -> FieldDecryptor | None:
        """None for a contract without personal data; FieldKeyError if it has some and no private key."""
        if not contract.pii_properties:
            return None
        if keyring is None:
            from gdx.settings import Settings

            keyring = FieldKeyring.from_settings(settings or Settings.from_env())
        if not keyring.private:
            raise FieldKeyError(
                f"{contract.id} declares personal data, which arrives encrypted: landing needs the private "
                "field key(s). Set GDX_FIELD_PRIVATE_KEYS=k1:<base64>,… or GDX_FIELD_KEYS_DIR "
                "(`gdx keys rotate` creates a key pair; `gdx keys list` shows what is configured)."
            )
        return cls(contract, keyring)

    def open(self, prop: str, text: str) -> str:
        """The clear value of one wire value; FieldCryptoError says why it cannot be opened."""
        from nacl.bindings import crypto_box_seal_open
        from nacl.exceptions import CryptoError

        version, box = parse_wire(text)
        pair = self._keys.get(version)
        if pair is None:
            raise FieldCryptoError(UNKNOWN_KEY, version)
        try:
            plain = crypto_box_seal_open(box, pair[0], pair[1])
        except CryptoError:
            raise FieldCryptoError(UNAUTHENTIC, version) from None
        expected = context(self.contract.id, prop)
        if not plain.startswith(expected):
            raise FieldCryptoError(WRONG_CONTEXT, version)
        try:
            return plain[len(expected) :].decode("utf-8")
        except UnicodeDecodeError:
            raise FieldCryptoError(MALFORMED, version) from None

    def open_many(self, prop: str, texts: Sequence[str]) -> Opened:
        """Open a column of wire values. libsodium releases the GIL, so large columns are split
        over a few threads (~1.8x on 2 cores); each X25519 open costs ~55 µs on one core."""
        n = len(texts)
        if n < _PARALLEL_FROM or self.threads == 1:
            return self._open_chunk(prop, texts, 0)
        step = -(-n // (self.threads * 4))
        with ThreadPoolExecutor(self.threads, thread_name_prefix="gdx-decrypt") as pool:
            parts = list(
                pool.map(
                    lambda start: self._open_chunk(prop, texts[start : start + step], start),
                    range(0, n, step),
                )
            )
        values: list[Any] = []
        errors: dict[int, FieldCryptoError] = {}
        for part in parts:
            values += part.values
            errors.update(part.errors)
        return Opened(values, errors)

    def _open_chunk(self, prop: str, texts: Sequence[str], start: int) -> Opened:
        values: list[Any] = []
        errors: dict[int, FieldCryptoError] = {}
        open_ = self.open
        for i, t in enumerate(texts):
            try:
                values.append(open_(prop, t))
            except FieldCryptoError as exc:
                values.append(None)
                errors[start + i] = exc
        return Opened(values, errors)
