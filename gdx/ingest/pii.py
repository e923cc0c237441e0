"""Pseudonymisation of personal data at landing, and masking of raw payload text.

Tokens are HMAC-SHA-256 keyed by `GDX_PII_KEY` (`k<n>:<secret>`), written `k<n>:<64 hex>`: the
key version travels with every token, so a rotated key yields distinguishable tokens and old ones
stay verifiable. A plain SHA-256 of a 13-digit citizen id is reversible by enumeration, an HMAC
without the key is not.

Raw payloads (quarantine `raw_value`, dead-letter values) never keep a citizen id in clear:
`mask_text` replaces every valid 13-digit id (ASCII or Thai digits, with or without the printed
1-4-5-2-1 dashes/spaces) by its token, and — for contracts that declare personal data — every
other run of 13 or more digits by `X`s, since a mistyped id is still personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gdx.thai.citizen_id import normalize_citizen_id

if TYPE_CHECKING:
    import pyarrow as pa

    from gdx.contracts.model import Contract

_KEY_VERSION = re.compile(r"^k[0-9]{1,6}$")
MIN_SECRET_BYTES = 16
TOKEN_RE = re.compile(r"^k[0-9]{1,6}:[0-9a-f]{64}$")

_DIGIT = "0-9\u0e50-\u0e59"  # ASCII and Thai digits
# A citizen id as people write it: 13 digits, optionally grouped by single dashes or spaces.
_ID_LIKE = re.compile(rf"(?<![{_DIGIT}])[{_DIGIT}](?:[ -]?[{_DIGIT}]){{12}}(?![{_DIGIT}])")
# Any run of 13+ digits (after the id-like pass): personal data in a PII contract's payload.
_LONG_RUN = re.compile(rf"[{_DIGIT}](?:[ -]?[{_DIGIT}]){{12,}}")


class PiiKeyError(ValueError):
    """GDX_PII_KEY is missing or malformed (the message never contains the secret)."""


@dataclass(frozen=True)
class PiiKey:
    version: str
    secret: bytes

    @classmethod
    def parse(cls, text: str | None) -> PiiKey:
        if not text:
            raise PiiKeyError(
                "GDX_PII_KEY is not set: this contract declares personal data (pii: pseudonymise), "
                "which is pseudonymised with HMAC-SHA-256 at landing. Set GDX_PII_KEY=k1:<secret of "
                f"at least {MIN_SECRET_BYTES} bytes> (the same key for every run, or tokens stop joining)."
            )
        version, sep, secret = text.partition(":")
        if not sep or not _KEY_VERSION.match(version):
            raise PiiKeyError("GDX_PII_KEY must look like k<version>:<secret>, e.g. k1:…")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise PiiKeyError(f"GDX_PII_KEY secret is shorter than {MIN_SECRET_BYTES} bytes")
        return cls(version, secret.encode())

    def __repr__(self) -> str:  # never print the secret
        return f"PiiKey(version={self.version!r}, secret=<{len(self.secret)} bytes>)"


def key_for(contract: Contract, key_text: str | None) -> PiiKey | None:
    """The parsed key; required (PiiKeyError) only when the contract declares personal data."""
    if contract.pii_properties:
        return PiiKey.parse(key_text)
    if key_text:
        try:
            return PiiKey.parse(key_text)
        except PiiKeyError:
            return None
    return None


class Pseudonymiser:
    """Keyed tokens for personal values; the HMAC state is prepared once and copied per value."""

    def __init__(self, key: PiiKey | None) -> None:
        self.key = key
        self._base = hmac.new(key.secret, digestmod=hashlib.sha256) if key else None

    @property
    def version(self) -> str | None:
        return self.key.version if self.key else None

    def token(self, value: str) -> str:
        if self._base is None:
            raise PiiKeyError("no GDX_PII_KEY: cannot pseudonymise")
        h = self._base.copy()
        h.update(value.encode("utf-8", "surrogatepass"))
        return f"{self.key.version}:{h.hexdigest()}"  # type: ignore[union-attr]

    def tokens(self, values: pa.Array) -> pa.Array:
        """Token per non-null string; nulls stay null."""
        import pyarrow as pa

        token = self.token
        return pa.array([None if v is None else token(v) for v in values.to_pylist()], pa.string())

    def keyed_event_id(self, event_id: str) -> str:
        """`_event_id` of a PII contract: the wire id is sha256(contract + canonical value), which
        with the other columns at hand would let anyone enumerate the citizen id; so it is keyed."""
        return self.token(event_id)

    # -- raw text ---------------------------------------------------------------------------
    def mask_text(self, text: str, personal: bool) -> str:
        """`text` with citizen ids tokenised (or masked without a key) and, if `personal`, every
        other long digit run masked."""

        def ids(match: re.Match[str]) -> str:
            digits = normalize_citizen_id(match.group(0))
            if digits is None:
                return match.group(0)
            return self.token(digits) if self._base is not None else "X" * len(match.group(0))

        out = _ID_LIKE.sub(ids, text)
        if personal:
            out = _LONG_RUN.sub(lambda m: "X" * len(m.group(0)), out)
        return out


def contains_citizen_id(text: str) -> bool:
    """True if `text` holds a valid 13-digit citizen id anywhere (any common written form)."""
    return any(normalize_citizen_id(m.group(0)) for m in _ID_LIKE.finditer(text))


def citizen_id_rows(values: pa.Array) -> list[int]:
    """Positions of string values that contain a valid citizen id; a cheap RE2 pre-filter first."""
    import numpy as np
    import pyarrow.compute as pc

    # RE2 over the whole column; only the few candidates go through the Python check.
    candidate = pc.match_substring_regex(values, r"[0-9\x{0E50}-\x{0E59}](?:[ -]?[0-9\x{0E50}-\x{0E59}]){12}")
    idx = np.flatnonzero(pc.fill_null(candidate, False).to_numpy(zero_copy_only=False))
    if len(idx) == 0:
        return []
    texts = values.take(idx).to_pylist()
    return [int(i) for i, t in zip(idx, texts, strict=True) if t is not None and contains_citizen_id(t)]


def is_token(value: Any) -> bool:
    return isinstance(value, str) and TOKEN_RE.match(value) is not None


def surrogate_citizen_id(token: str) -> str:
    """A checksum-valid 13-digit stand-in derived from a token, for re-validating quarantined rows
    whose id was tokenised: distinct tokens give distinct stand-ins (up to a 1e-12 collision), the
    real id is never needed. First digit 9 never occurs in real ids, so it can't be one."""
    from gdx.thai.citizen_id import make_citizen_id

    digest = int(hashlib.sha256(token.encode()).hexdigest(), 16) % 10**11
    return make_citizen_id(f"9{digest:011d}")


def pii_columns(contract: Contract) -> Iterable[str]:
    return (p.name for p in contract.pii_properties)
