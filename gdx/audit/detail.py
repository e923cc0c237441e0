"""What an audit entry may say: names and small facts, never personal data or secrets.

The audit log is read by data owners and auditors and kept forever, so it must not become a
second copy of what it protects. `check_fields` refuses (ValueError) an entry that would carry a
valid Thai citizen id anywhere (keys, values, nested, ints included), a key named like a credential
(`password`, `secret`, `token`, `api_key`, `private_key`, `credential`; `token_id`, `key_version`,
`secret_name`… are fine: they name one, they are not one), or a detail that is not a small
JSON object.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gdx.ingest.pii import contains_citizen_id

OUTCOMES = ("allowed", "denied", "ok", "error")
MAX_DETAIL_BYTES = 4096
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,199}$")
_SECRET_WORDS = {
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "credential",
    "credentials",
}
# A key that names or counts a credential rather than holding it.
_NAMING_SUFFIXES = {
    "id",
    "ids",
    "name",
    "names",
    "count",
    "version",
    "kind",
    "type",
    "owner",
    "prefix",
    "expires",
    "at",
}
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    words = [w.lower() for w in re.split(r"[^A-Za-z0-9]+", spaced) if w]
    # "api_key"/"private_key" are one idea in two words
    joined = []
    for i, w in enumerate(words):
        if w == "key" and i and words[i - 1] in {"api", "private"}:
            joined[-1] = words[i - 1] + "key"
        else:
            joined.append(w)
    return joined


def secret_like_key(key: str) -> bool:
    words = _words(key)
    if not any(w in _SECRET_WORDS for w in words):
        return False
    return words[-1] not in _NAMING_SUFFIXES


def _check_value(path: str, key: str, value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"audit detail {path}: keys must be strings")
            _check_key(f"{path}.{k}", k)
            _check_value(f"{path}.{k}", k, v)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_value(f"{path}[{i}]", key, v)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        if contains_citizen_id(str(value)):
            raise ValueError(
                f"audit detail {path}: looks like a Thai citizen id; personal data never goes in the audit log"
            )
    elif isinstance(value, str):
        # A SHA-256 hex digest is a fingerprint, not a citizen id, even when 13 of its characters
        # happen to be digits with a valid check digit (about 1 digest in 200).
        if key.lower().endswith(("sha256", "hash")) and _HEX_DIGEST.match(value):
            return
        if contains_citizen_id(value):
            raise ValueError(
                f"audit detail {path}: contains a Thai citizen id; personal data never goes in the audit log"
            )
    else:
        raise ValueError(
            f"audit detail {path}: {type(value).__name__} is not JSON (use str, int, float, bool, list, dict)"
        )


def _check_key(path: str, key: str) -> None:
    if secret_like_key(key):
        raise ValueError(
            f"audit detail {path}: a key named like a credential; secrets never go in the audit log"
        )
    if contains_citizen_id(key):
        raise ValueError(f"audit detail {path}: a key contains a Thai citizen id")


def check_fields(
    principal: str, action: str, outcome: str, dataset: str | None, detail: dict[str, Any] | None
) -> None:
    """Raise ValueError if the entry is malformed or would leak personal data or a secret."""
    for label, value in (("principal", principal), ("dataset", dataset)):
        if value is None and label == "dataset":
            continue
        if not isinstance(value, str) or not _NAME.match(value):
            raise ValueError(
                f"audit {label} {value!r}: expected a short name (letters, digits, . _ : @ / + -)"
            )
        if contains_citizen_id(value):
            raise ValueError(f"audit {label}: contains a Thai citizen id")
    if not isinstance(action, str) or not _ACTION.match(action):
        raise ValueError(f"audit action {action!r}: expected dotted lowercase words, e.g. catalog.read")
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome {outcome!r}: expected one of {', '.join(OUTCOMES)}")
    if detail is None:
        return
    if not isinstance(detail, dict):
        raise ValueError("audit detail must be a dict")
    _check_value("detail", "", detail)
    size = len(json.dumps(detail, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode())
    if size > MAX_DETAIL_BYTES:
        raise ValueError(
            f"audit detail is {size} bytes; keep it under {MAX_DETAIL_BYTES} (ids and counts, not payloads)"
        )
