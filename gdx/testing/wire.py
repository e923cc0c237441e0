"""Wire values as a well-behaved producer sends them, for tests that build raw batches by hand:
personal-data properties sealed with the configured field keys (the test session's), then
canonical JSON. Hostile tests that need clear personal data on the wire build it themselves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gdx.events import canonical_json

if TYPE_CHECKING:
    from gdx.contracts.model import Contract
    from gdx.security.field_crypto import FieldDecryptor, FieldEncryptor


_ENCRYPTORS: dict[tuple[str, str, str], FieldEncryptor | None] = {}


def _encryptor(contract: Contract) -> FieldEncryptor | None:
    import os

    from gdx.security.field_crypto import FieldEncryptor

    # per contract and key configuration (contracts are not hashable; building one reads the keys)
    config = (
        contract.id,
        os.environ.get("GDX_FIELD_PRIVATE_KEYS", ""),
        os.environ.get("GDX_FIELD_PUBLIC_KEYS", ""),
    )
    if config not in _ENCRYPTORS:
        _ENCRYPTORS[config] = FieldEncryptor.for_contract(contract)
    return _ENCRYPTORS[config]


def sealed(contract: Contract, record: Mapping[str, Any]) -> dict[str, Any]:
    """`record` with its personal-data properties in the gdxenc:v1 wire form."""
    enc = _encryptor(contract)
    return enc.encrypt_record(record) if enc is not None else dict(record)


def wire_value(contract: Contract, record: Mapping[str, Any]) -> bytes:
    """The value bytes a producer publishes for a clear `record`."""
    return canonical_json(sealed(contract, record))


def decryptor(contract: Contract) -> FieldDecryptor | None:
    """The landing side's decryptor from the configured private keys (None without personal data)."""
    from gdx.security.field_crypto import FieldDecryptor

    return FieldDecryptor.for_contract(contract)
