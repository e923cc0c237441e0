"""Validation of a raw batch: decode/type (`decode`) → `_rule_*` columns (`rules`) → GX gate (`gate`).

The result says, for every record of the batch, whether it lands or why it is quarantined.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gdx.ingest.config import IngestConfig
from gdx.ingest.decode import Decoder
from gdx.ingest.gate import Gate, GateResult
from gdx.ingest.model import Failure, RawBatch
from gdx.ingest.rules import rule_columns

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from gdx.contracts.model import Contract
    from gdx.ingest.pii import Pseudonymiser
    from gdx.security.field_crypto import FieldDecryptor


@contextmanager
def gc_paused() -> Iterator[None]:
    """Decoding allocates millions of small objects that all live until the batch is written:
    the cyclic GC would rescan them over and over (~25% of decode time) without freeing any."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Validated:
    n: int
    properties: pa.Table
    """Typed property values of every row (null where the row failed decoding), personal data in clear."""
    landed: np.ndarray
    """Row positions that land, ascending."""
    failures: dict[int, Failure]
    extra: dict[int, int]
    event_ids: list[str | None]
    gate: GateResult
    token_override: dict[str, dict[int, str]] = field(default_factory=dict)
    """Replay only: per personal property, row → token already in the quarantined payload."""
    event_ids_keyed: bool = False
    """Replay only: `event_ids` are the quarantine's (already keyed for personal-data contracts)."""

    @property
    def rows_landed(self) -> int:
        return len(self.landed)

    @property
    def rows_quarantined(self) -> int:
        return len(self.failures)

    def disputed(self, rows: np.ndarray | None = None) -> int:
        """Quarantined rows (of `rows`, default all) whose GX verdict and prediction disagree."""
        from gdx.ingest.gate import DISAGREEMENT

        chosen = self.failures if rows is None else {int(i): self.failures[int(i)] for i in rows}
        return sum(1 for f in chosen.values() if f.rule_id == DISAGREEMENT)


class Validator:
    def __init__(
        self,
        contract: Contract,
        config: IngestConfig,
        pseudonymiser: Pseudonymiser,
        decryptor: FieldDecryptor | None = None,
    ) -> None:
        self.contract = contract
        self.decoder = Decoder(contract, config, pseudonymiser, decryptor)
        self.gate = Gate(contract, config.enforce_key_uniqueness)

    def validate(self, raw: RawBatch, accept_tokens: bool = False) -> Validated:
        import numpy as np
        import pyarrow as pa

        decoded = self.decoder.decode(raw, accept_tokens)
        ok = np.asarray(decoded.ok_rows(), dtype=np.int64)
        props = pa.table(decoded.columns)
        candidates = props.take(ok)
        override: dict[str, dict[int, str]] = {}
        if accept_tokens:
            candidates, override = _surrogate_tokens(self.contract, candidates, ok)
        for name, col in rule_columns(self.contract, candidates).items():
            candidates = candidates.append_column(name, col)
        partitions = np.asarray(raw.partitions, dtype=np.int64)[ok]
        offsets = np.asarray(raw.offsets, dtype=np.int64)[ok]
        result = self.gate.run(candidates, partitions, offsets)
        failures = dict(decoded.failures.first)
        extra: dict[int, Any] = dict(decoded.failures.extra)
        keep = np.ones(len(ok), dtype=bool)
        for pos, failure in result.failures.items():
            row = int(ok[pos])
            failures[row] = failure
            if pos in result.extra:
                extra[row] = result.extra[pos]
            keep[pos] = False
        landed = ok[keep]
        if len(landed) + len(failures) != len(raw):
            raise AssertionError(f"{len(landed)} landed + {len(failures)} failed != {len(raw)} records")
        return Validated(len(raw), props, landed, failures, extra, decoded.event_ids, result, override)


def _surrogate_tokens(contract: Contract, table: pa.Table, rows: np.ndarray) -> tuple[pa.Table, dict[str, dict[int, str]]]:
    """Replay of quarantined rows: a personal value that is already a token (the quarantine never
    stores the clear id) was a valid id when tokenised; validate it as a checksum-valid stand-in
    and land the token itself."""
    import pyarrow as pa

    from gdx.ingest.pii import is_token, surrogate_citizen_id

    override: dict[str, dict[int, str]] = {}
    for prop in contract.pii_properties:
        values = table.column(prop.name).to_pylist()
        tokens = {i: v for i, v in enumerate(values) if is_token(v)}
        if not tokens:
            continue
        override[prop.name] = {int(rows[i]): t for i, t in tokens.items()}
        for i, t in tokens.items():
            values[i] = surrogate_citizen_id(t)
        idx = table.column_names.index(prop.name)
        table = table.set_column(idx, prop.name, pa.array(values, pa.string()))
    return table, override
