"""What the harness records: one `Measurement` per (stage, variant), the run that holds them.

A measurement is ours, a baseline or a reference, has a unit (`bench.stats`), one sample per
repeat, and a status: "ok", "FAILED" (it ran but was wrong, e.g. the quarantine does not match
the ground truth: a fast wrong gate is a failure) or "not run: <reason>". `compare` lists the
measurement keys it is compared with; the first is its baseline (the ratio shown in the table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench import stats

OK = "ok"
FAILED = "FAILED"


def not_run(reason: str) -> str:
    return f"not run: {reason}"


@dataclass
class Measurement:
    key: str
    stage: str
    label: str
    unit: str
    role: str = "ours"  # ours | baseline | reference
    samples: list[float] = field(default_factory=list)
    compare: list[str] = field(default_factory=list)
    status: str = OK
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    repeats: list[dict[str, Any]] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return stats.median(self.samples)

    @property
    def spread(self) -> tuple[float, float] | None:
        return stats.spread(self.samples)

    @property
    def ran(self) -> bool:
        return not self.status.startswith("not run")

    def fail(self, why: str) -> None:
        self.status = FAILED
        self.note = f"{why}; {self.note}" if self.note else why

    def add_note(self, text: str) -> None:
        self.note = f"{self.note}; {text}" if self.note else text


@dataclass
class Run:
    measurements: dict[str, Measurement] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)

    def add(self, m: Measurement) -> Measurement:
        self.measurements[m.key] = m
        return m

    def get(self, key: str) -> Measurement | None:
        return self.measurements.get(key)

    def median(self, key: str) -> float | None:
        m = self.measurements.get(key)
        return m.median if m is not None and m.ran else None

    def ratio(self, key: str, other: str) -> float | None:
        """Speed ratio of `key` vs `other` (> 1 = key is faster), from the two medians."""
        a, b = self.measurements.get(key), self.measurements.get(other)
        if a is None or b is None or not a.ran or not b.ran:
            return None
        if a.unit != b.unit:
            raise ValueError(f"cannot compare {key} ({a.unit}) with {other} ({b.unit})")
        return stats.speed_ratio(a.median, b.median, a.unit)

    def paired(self, key: str, other: str) -> list[float]:
        a, b = self.measurements.get(key), self.measurements.get(other)
        if a is None or b is None or not a.ran or not b.ran:
            return []
        return stats.paired_ratios(a.samples, b.samples, a.unit)
