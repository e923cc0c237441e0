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
# Masking is broader still: any Unicode decimal digit (Thai, Arabic-Indic, fullwidth, …).
_ID_ANY = re.compile(r"(?<!\d)\d(?:[ -]?\d){12}(?!\d)")
_LONG_ANY = re.compile(r"\d(?:[ -]?\d){12,}")
_U_ESCAPE = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})")
_SLOT = "\ue000"  # private-use placeholder for a token while the digit-run pass runs
_SLOT_RE = re.compile(_SLOT)
_TOKEN_ANY = re.compile(r"k[0-9]{1,6}:[0-9a-f]{64}(?![0-9a-f])")


def unescape_json(text: str, rounds: int = 4) -> str:
    """`\\uXXXX` escapes (surrogate pairs included) decoded, repeatedly for escaped escapes; lone
    surrogates become U+FFFD. Conservative by design: it also decodes what JSON meant literally."""

    def one(m: re.Match[str]) -> str:
        if m.group(3) is not None:
            cp = int(m.group(3), 16)
            return "\ufffd" if 0xD800 <= cp <= 0xDFFF else chr(cp)
        hi, lo = int(m.group(1), 16), int(m.group(2), 16)
        return chr(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))

    for _ in range(rounds):
        if "\\u" not in text:
            break
        text = _U_ESCAPE.sub(one, text.replace("\\\\", "\\"))
    return text


def normalize_any_digits_id(text: str) -> str | None:
    """`normalize_citizen_id` for ids written in any Unicode decimal digits."""
    import unicodedata

    folded = "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)
    return normalize_citizen_id(folded)


def _has_clear_id(text: str) -> bool:
    # Tokens are keyed hashes, not ids: their hex may hold 13 decimal digits in a row by chance.
    text = _TOKEN_ANY.sub(" ", text)
    candidates = [text, unescape_json(text)] if "\\u" in text else [text]
    return any(normalize_any_digits_id(m.group(0)) for t in candidates for m in _ID_ANY.finditer(t))


def has_clear_citizen_id(text: str) -> bool:
    """True if `text` shows a valid citizen id to a reader who decodes JSON escapes: any Unicode
    digits, dashes/spaces between them, `\\uXXXX` escapes (nested too). What scanners use."""
    return _has_clear_id(text)


MAX_WALK_DEPTH = 64
"""Contract records are flat objects; a payload nested deeper than this is hostile or broken and is
masked as text (conservatively) instead of walked, far below Python's recursion limit."""
TOO_DEEP_PLACEHOLDER = f"<nested deeper than {MAX_WALK_DEPTH} levels: not shown>"


class _TooDeep(Exception):
    """Raised by the JSON walk past MAX_WALK_DEPTH."""


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
        """`text` (a raw payload, a key, a header name) with every citizen id tokenised (masked
        with `X`s without a key) and, if `personal`, every other run of 13+ digits masked.

        Works on the *parsed* JSON: every string (object keys included) and every number is
        looked at after JSON unescaping, so `"\\u0033\\u0031…"` or Thai digits written as
        `\\u0e51…` are found like plain digits; the document is re-serialised only if something
        was replaced (otherwise the text is returned as it came, byte for byte). Text that does not
        parse gets the conservative fallback: `\\uXXXX` escapes decoded, ids tokenised, and every
        remaining run of 13+ digits masked whatever `personal` says."""
        import orjson

        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self._mask_fallback(text)
        try:
            masked, changed = self._walk(doc, personal)
        except _TooDeep:  # a hostile nesting: never a crash (that would fail the batch on every retry)
            return self._mask_fallback(text)
        out = orjson.dumps(masked).decode() if changed else text
        if _has_clear_id(out):  # belt and braces: nothing the walk missed may survive
            out = self._mask_fallback(out)
        return out

    def _replace_ids(self, text: str, personal: bool) -> str:
        """Ids → tokens (or `X`s), then, if `personal`, the other long digit runs → `X`s. Tokens are
        put in only after the digit-run pass: their hex may hold a run of 13 decimal digits."""
        tokens: list[str] = []

        def ids(match: re.Match[str]) -> str:
            digits = normalize_any_digits_id(match.group(0))
            if digits is None:
                return match.group(0)
            tokens.append(self.token(digits) if self._base is not None else "X" * len(match.group(0)))
            return _SLOT

        out = _ID_ANY.sub(ids, text.replace(_SLOT, "\ufffd"))
        if personal:
            out = _LONG_ANY.sub(lambda m: "X" * len(m.group(0)), out)
        if tokens:
            it = iter(tokens)
            out = _SLOT_RE.sub(lambda _m: next(it), out)
        return out

    def _mask_string(self, s: str, personal: bool) -> str:
        if TOKEN_RE.match(s):  # already a token (a replayed quarantine payload)
            return s
        plain = unescape_json(s) if "\\" in s else s  # an escaped escape is decoded too
        out = self._replace_ids(plain, personal)
        return s if out == plain else out

    def _walk(self, node: Any, personal: bool, depth: int = 0) -> tuple[Any, bool]:
        t = type(node)
        if depth > MAX_WALK_DEPTH:
            raise _TooDeep
        if t is str:
            out = self._mask_string(node, personal)
            return out, out is not node
        if t is dict:
            changed = False
            new: dict[str, Any] = {}
            for k, v in node.items():
                k2 = self._mask_string(k, personal)
                v2, c = self._walk(v, personal, depth + 1)
                changed = changed or c or k2 is not k
                new[k2] = v2
            return (new, True) if changed else (node, False)
        if t is list or t is tuple:
            items = [self._walk(v, personal, depth + 1) for v in node]
            if any(c for _, c in items):
                return [v for v, _ in items], True
            return node, False
        if node is None or t is bool:
            return node, False
        # numbers, and whatever else a source row may hold (bytes, dates…): judged by their text
        text = repr(node) if t is int or t is float else str(node)
        out = self._replace_ids(unescape_json(text), personal)
        return (out, True) if out != text else (node, False)

    def _mask_fallback(self, text: str) -> str:
        return self._replace_ids(unescape_json(text), personal=True)


def mask_value(value: Any, personal: bool) -> Any:
    """A parsed value (dict, list, str, number…) with citizen ids replaced by `X`s (no key is
    needed: the producer side masks its reports with this), and every other run of 13+ digits too
    if `personal`. Unchanged values are returned as they are; one nested deeper than any record
    of a contract can be is not shown at all."""
    try:
        return _REPORT_MASKER._walk(value, personal)[0]
    except _TooDeep:
        return TOO_DEEP_PLACEHOLDER


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


_REPORT_MASKER = Pseudonymiser(None)
