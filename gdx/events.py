"""The wire format of a GDX event: key, canonical value bytes, headers and the event id.

Producers and the ingestion consumer both import this module, so the two sides of the exchange
can never disagree on what a record looks like on the topic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from gdx.contracts.model import Contract

CONTENT_TYPE = "application/json; charset=utf-8"

# Header names, modelled on Kafka Connect's `__connect.errors.*` convention of a common prefix.
H_CONTRACT_ID = "gdx.contract.id"
H_CONTRACT_VERSION = "gdx.contract.version"
H_AGENCY = "gdx.agency"
H_EVENT_ID = "gdx.event.id"
H_CONTENT_TYPE = "content-type"
REQUIRED_HEADERS = (H_CONTRACT_ID, H_CONTRACT_VERSION, H_AGENCY, H_EVENT_ID, H_CONTENT_TYPE)

KEY_SEPARATOR = "|"


def canonical_json(record: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON with sorted keys: equal records give equal bytes."""
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def event_id(contract: Contract, value: bytes) -> str:
    """Deterministic id of a record: a replayed record carries the same id, so it can be deduplicated.

    The contract id and major version are part of the hash: the same values under another
    contract or an incompatible version are a different event.
    """
    digest = hashlib.sha256()
    digest.update(f"{contract.id}/v{contract.major}\n".encode())
    digest.update(value)
    return digest.hexdigest()


def record_key(contract: Contract, record: Mapping[str, Any]) -> bytes:
    """The message key: primary-key values in key order, so one entity always maps to one partition."""
    return KEY_SEPARATOR.join("" if record.get(k) is None else str(record[k]) for k in contract.primary_key).encode()


def headers_for(contract: Contract, value: bytes) -> list[tuple[str, bytes]]:
    """Kafka headers of a record published under `contract`."""
    return [
        (H_CONTRACT_ID, contract.id.encode()),
        (H_CONTRACT_VERSION, contract.version.encode()),
        (H_AGENCY, contract.agency.encode()),
        (H_EVENT_ID, event_id(contract, value).encode()),
        (H_CONTENT_TYPE, CONTENT_TYPE.encode()),
    ]
