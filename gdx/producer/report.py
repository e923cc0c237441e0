"""What a producer run did: rejected source records, delivery failures and the counts.

A reject is a source record that never reached Kafka because it broke the contract at the edge;
a failure is a valid record Kafka did not acknowledge. Both are reported, never swallowed: the
run is only `ok` when neither happened.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule of one record: which property, a stable rule code and a readable reason."""

    property: str | None
    code: str
    reason: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Reject:
    """A source record that was not published, with where it came from and every reason."""

    record: int
    """1-based position of the record in the source (row, array element or station-hour)."""
    line: int | None
    """Line of the source file where the record starts, when the format has lines."""
    violations: tuple[Violation, ...]
    raw: Any = None
    """The source record as read (before normalisation), for the data owner to fix it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "line": self.line,
            "violations": [
                {"property": v.property, "code": v.code, "reason": v.reason, "value": _jsonable(v.value)}
                for v in self.violations
            ],
            "raw": _jsonable(self.raw),
        }


@dataclass(frozen=True, slots=True)
class Failure:
    """A valid record whose delivery to Kafka failed (or was never attempted after a fatal error)."""

    record: int
    key: str
    event_id: str
    error: str


def _jsonable(value: Any) -> Any:
    try:
        orjson.dumps(value)
        return value
    except TypeError:
        return repr(value)


@dataclass
class ProduceResult:
    """Counts and details of one producer run (file → normalise → edge check → Kafka)."""

    contract_id: str
    topic: str
    read: int = 0
    normalised: int = 0
    published: int = 0
    duplicates_dropped: int = 0
    rejects: list[Reject] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def valid(self) -> int:
        return self.read - self.duplicates_dropped - self.rejected

    @property
    def ok(self) -> bool:
        """True when every source record was valid and every valid record was acknowledged."""
        return not self.rejects and not self.failures and self.published == self.valid

    def rejects_by_reason(self) -> list[tuple[str, str | None, int]]:
        """(rule code, property, count), most frequent first; a record counts once per violation."""
        counts: Counter[tuple[str, str | None]] = Counter(
            (v.code, v.property) for r in self.rejects for v in r.violations
        )
        return [(code, prop, n) for (code, prop), n in counts.most_common()]

    def failures_by_error(self) -> list[tuple[str, int]]:
        return Counter(f.error for f in self.failures).most_common()

    def summary(self) -> dict[str, Any]:
        return {
            "contract_id": self.contract_id,
            "topic": self.topic,
            "read": self.read,
            "duplicates_dropped": self.duplicates_dropped,
            "normalised": self.normalised,
            "rejected": self.rejected,
            "published": self.published,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
            "ok": self.ok,
        }


def write_rejects(rejects: Iterable[Reject], path: Path | str) -> int:
    """Write rejects as NDJSON (one object per rejected record); returns how many were written."""
    n = 0
    with open(path, "wb") as out:
        for reject in rejects:
            out.write(orjson.dumps(reject.to_json()))
            out.write(b"\n")
            n += 1
    return n


def rejects_path_for(source: Path | str) -> Path:
    """`<input>.rejects.ndjson` next to the input file."""
    source = Path(source)
    return source.with_name(source.name + ".rejects.ndjson")
