"""Shared pieces of the synthetic data generators: bad-row planning, ground truth, Thai text.

Determinism: every generator draws from `random.Random(seed)` / `numpy.random.default_rng(seed)`
only, in a fixed order, so the same (contract, rows, bad_ratio, seed) gives byte-identical files.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson

THAI_MONTHS_ABBR = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
PILOT_SHARE = 0.5
"""Share of generated records placed in the contract's pilot province(s)."""


@dataclass
class BadRow:
    """One deliberately invalid source record: where it is and what is wrong with it."""

    record: int
    """Record number as the adapter counts it (1-based, after dropped duplicates)."""
    line: int | None
    kind: str
    """The rule code the producer must report for it (e.g. "bad_citizen_id")."""
    property: str | None


@dataclass
class Truth:
    """Ground truth of a generated file; written next to it as `<file>.truth.json`."""

    contract_id: str
    format: str
    encoding: str
    seed: int
    records: int = 0
    """Source records the adapter will count (valid + bad; exact duplicates not included)."""
    valid: int = 0
    bad: list[BadRow] = field(default_factory=list)
    duplicate_lines: list[int] = field(default_factory=list)
    """Lines that repeat an earlier line exactly (FIRMS): dropped, not rejected."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Truth:
        bad = [BadRow(**b) for b in data.get("bad", [])]
        return cls(**{**data, "bad": bad})

    def kinds(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for b in self.bad:
            out[b.kind] = out.get(b.kind, 0) + 1
        return out


def truth_path(out: Path | str) -> Path:
    out = Path(out)
    return out.with_name(out.name + ".truth.json")


def write_truth(out: Path | str, truth: Truth) -> Path:
    path = truth_path(out)
    path.write_bytes(orjson.dumps(truth.to_json(), option=orjson.OPT_INDENT_2))
    return path


def read_truth(out: Path | str) -> Truth:
    """The ground truth of a generated file (pass the data file's path)."""
    return Truth.from_json(orjson.loads(truth_path(out).read_bytes()))


def plan_bad(rng: random.Random, n: int, bad_ratio: float, kinds: list[str]) -> dict[int, str]:
    """{row index: kind} for round(n * bad_ratio) distinct rows; kinds are used in turn so every
    kind appears (as long as there are at least as many bad rows as kinds)."""
    if not 0 <= bad_ratio <= 1:
        raise ValueError(f"bad_ratio must be within [0, 1], got {bad_ratio}")
    count = min(n, round(n * bad_ratio))
    if count == 0 or not kinds:
        return {}
    rows = sorted(rng.sample(range(n), count))
    order = list(kinds)
    rng.shuffle(order)
    return {row: order[i % len(order)] for i, row in enumerate(rows)}


def be_date_text(d: date, style: int) -> str:
    """A date the way Thai agencies write it (Buddhist Era): a few common styles."""
    be = d.year + 543
    if style == 0:
        return f"{d.day:02d}/{d.month:02d}/{be}"
    if style == 1:
        return f"{d.day} {THAI_MONTHS_ABBR[d.month - 1]} {be}"
    if style == 2:
        return f"{be}-{d.month:02d}-{d.day:02d}"
    return f"{d.day} {THAI_MONTHS_ABBR[d.month - 1]} {str(be)[2:]}"


def impossible_date_text(rng: random.Random) -> str:
    """A date that does not exist (30 ก.พ., 31 เม.ย., 29 ก.พ. of a non-leap year)."""
    return rng.choice(
        ["30 ก.พ. 2567", "31/04/2567", "29 ก.พ. 2566", "31 มิ.ย. 2568", "32/01/2567", "2567-02-30"]
    )


def thousands(x: float | int, decimals: int = 2) -> str:
    return f"{x:,}" if isinstance(x, int) else f"{x:,.{decimals}f}"
