"""The data a batch carries between the stages of ingestion (consume → decode → gate → land)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class RawBatch:
    """Records as consumed, column-wise (one list per record attribute, same order)."""

    topic: str
    partitions: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)
    """Kafka record timestamps, ms since the epoch."""
    keys: list[bytes | None] = field(default_factory=list)
    values: list[bytes | None] = field(default_factory=list)
    headers: list[list[tuple[str, bytes | None]] | None] = field(default_factory=list)
    nbytes: int = 0
    generation: int = 0
    """The topic generation the records belong to (names their files, `gdx.ingest.paths`)."""
    topic_id: str | None = None
    """Kafka's topic id when consumed (kept in the ledger entry)."""

    def __len__(self) -> int:
        return len(self.offsets)

    def extend(self, other: RawBatch) -> None:
        self.partitions += other.partitions
        self.offsets += other.offsets
        self.timestamps += other.timestamps
        self.keys += other.keys
        self.values += other.values
        self.headers += other.headers
        self.nbytes += other.nbytes

    def ranges(self) -> dict[int, tuple[int, int]]:
        """First and last offset per partition."""
        out: dict[int, tuple[int, int]] = {}
        for p, o in zip(self.partitions, self.offsets, strict=True):
            lo, hi = out.get(p, (o, o))
            out[p] = (min(lo, o), max(hi, o))
        return out


@dataclass(frozen=True)
class Failure:
    """Why a record is quarantined: a rule id (`<property>.<check>`, `rule.<id>`, `message.*`,
    `header.*`, `record.*`, `gate.disagreement`), the column it concerns and a reason that never
    quotes the value."""

    rule_id: str
    column: str | None
    reason: str
    stage: str = "decode"


class Failures:
    """First failure per row (what the quarantine records) and how many more the row had."""

    __slots__ = ("extra", "first")

    def __init__(self) -> None:
        self.first: dict[int, Failure] = {}
        self.extra: Counter[int] = Counter()

    def add(self, row: int, failure: Failure) -> None:
        if row in self.first:
            self.extra[row] += 1
        else:
            self.first[row] = failure

    def add_many(self, rows: list[int] | range, failure: Failure) -> None:
        for row in rows:
            self.add(int(row), failure)

    def __contains__(self, row: int) -> bool:
        return row in self.first

    def __len__(self) -> int:
        return len(self.first)

    def rule_counts(self) -> Counter[str]:
        return Counter(f.rule_id for f in self.first.values())
