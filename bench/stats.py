"""Pure statistics and formatting helpers of the benchmark harness (no I/O, unit-tested).

Conventions used everywhere in `bench`:
- a *sample* is one repeat's measurement; a stage reports the median of its samples and the
  min–max range, never the mean (one noisy repeat on a shared 2-core machine must not move it);
- a *rate* is records per second (higher is better), a *duration* is seconds (lower is better);
- `speed_ratio(ours, baseline, unit)` is > 1 when ours is faster than the baseline, whatever the
  unit: for rates ours/baseline, for durations baseline/ours. It is computed from two medians
  measured in the same run (ideally interleaved), so machine noise affects both sides alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

RATE = "rec/s"
SECONDS = "s"
BYTES = "B"
UNITS = (RATE, SECONDS, BYTES)


def median(samples: Iterable[float]) -> float | None:
    """Median of the finite samples (mean of the two middle ones for an even count); None if empty."""
    values = sorted(x for x in samples if x is not None and math.isfinite(x))
    if not values:
        return None
    mid = len(values) // 2
    if len(values) % 2:
        return float(values[mid])
    return (values[mid - 1] + values[mid]) / 2.0


def spread(samples: Iterable[float]) -> tuple[float, float] | None:
    """(min, max) of the finite samples, None if there are none."""
    values = [x for x in samples if x is not None and math.isfinite(x)]
    if not values:
        return None
    return (float(min(values)), float(max(values)))


def rate(records: int, seconds: float) -> float:
    """Records per second; 0 for an empty or instantaneous run."""
    if seconds <= 0 or records <= 0:
        return 0.0
    return records / seconds


def speed_ratio(ours: float | None, baseline: float | None, unit: str) -> float | None:
    """How many times faster ours is than the baseline (> 1 = faster), None if undefined."""
    if ours is None or baseline is None:
        return None
    if unit == RATE:
        return ours / baseline if baseline > 0 else None
    if unit in (SECONDS, BYTES):
        return baseline / ours if ours > 0 else None
    raise ValueError(f"unknown unit {unit!r}; expected one of {UNITS}")


def paired_ratios(ours: Sequence[float], baseline: Sequence[float], unit: str) -> list[float]:
    """Per-repeat speed ratios of interleaved samples (repeat i of ours vs repeat i of baseline)."""
    out = []
    for a, b in zip(ours, baseline, strict=False):
        r = speed_ratio(a, b, unit)
        if r is not None:
            out.append(r)
    return out


# -- targets ---------------------------------------------------------------------------------

OPS = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t, ">": lambda v, t: v > t, "<": lambda v, t: v < t}


@dataclass(frozen=True)
class Target:
    """A goal such as "ingest >= 250k rec/s"; evaluated, printed with ✓/✗, never asserted."""

    id: str
    label: str
    op: str
    threshold: float
    unit: str = ""

    def evaluate(self, value: float | None) -> bool | None:
        """True/False when `value` is known, None when the stage did not run."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        if self.op not in OPS:
            raise ValueError(f"unknown operator {self.op!r}")
        return bool(OPS[self.op](value, self.threshold))

    def describe(self) -> str:
        return f"{self.label} {self.op} {format_value(self.threshold, self.unit)}"


def mark(ok: bool | None) -> str:
    """✓ / ✗ / – (not evaluated)."""
    return "–" if ok is None else ("✓" if ok else "✗")


# -- formatting ------------------------------------------------------------------------------


def human(n: float) -> str:
    """Compact human number: 1234 → 1.23k, 1_500_000 → 1.50M."""
    a = abs(n)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{n / div:.3g}{suffix}" if a / div >= 100 else f"{n / div:.2f}{suffix}"
    if a >= 100 or float(n).is_integer():
        return f"{n:.0f}"
    return f"{n:.3g}"


def format_value(value: float | None, unit: str) -> str:
    """A measured value with its unit, e.g. "312k rec/s", "41.2 s", "1.21 GB"."""
    if value is None:
        return "–"
    if unit == RATE:
        return f"{human(value)} rec/s"
    if unit == SECONDS:
        if value >= 100:
            return f"{value:.0f} s"
        return f"{value:.3g} s" if value >= 1 else f"{value * 1000:.3g} ms"
    if unit == BYTES:
        for div, suffix in ((2**30, "GB"), (2**20, "MB"), (2**10, "kB")):
            if value >= div:
                return f"{value / div:.3g} {suffix}"
        return f"{value:.0f} B"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "×":
        return format_ratio(value)
    return f"{value:.4g}{(' ' + unit) if unit else ''}"


def format_range(lo_hi: tuple[float, float] | None, unit: str) -> str:
    if lo_hi is None:
        return "–"
    lo, hi = lo_hi
    a, b = format_value(lo, unit), format_value(hi, unit)
    # "301k rec/s – 322k rec/s" → "301k–322k rec/s" when the units agree
    ua, ub = a.rsplit(" ", 1), b.rsplit(" ", 1)
    if len(ua) == 2 and len(ub) == 2 and ua[1] == ub[1]:
        return f"{ua[0]}–{ub[0]} {ua[1]}"
    return f"{a}–{b}"


def format_ratio(ratio: float | None) -> str:
    """1.234 → "1.23×", 0.0512 → "0.051×"."""
    if ratio is None:
        return "–"
    if ratio >= 100:
        return f"{ratio:.0f}×"
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×" if ratio >= 0.1 else f"{ratio:.2g}×"


def summarize(samples: Sequence[float]) -> dict[str, Any]:
    """The JSON summary of a list of samples: median, min, max, n, samples."""
    lo_hi = spread(samples)
    return {
        "median": median(samples),
        "min": lo_hi[0] if lo_hi else None,
        "max": lo_hi[1] if lo_hi else None,
        "n": len(samples),
        "samples": list(samples),
    }
