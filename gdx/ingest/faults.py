"""Crash injection for the exactly-once tests: `GDX_FAULT=<point>[@<n>]` SIGKILLs the process there.

The points are the seams of the landing protocol (see `gdx.ingest.runner`): a test kills the
ingestion at one of them, re-runs it and checks the lake holds every published record exactly
once. `@<n>` kills on the n-th time the point is reached (default: the first).
`GDX_FAULT_SIGNAL=STOP` stops the process there instead (SIGSTOP): the lease tests freeze a run
mid-batch, let its lease expire, and wake it with SIGCONT. Unset, `fault()`
is one global lookup and a comparison: no measurable cost on the hot path.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "after_consume",
    "after_temp_write",
    "after_rename",
    "after_bronze_write",
    "after_quarantine_write",
    "after_dlq_publish",
    "before_ledger_audit",
    "after_ledger_write",
    "before_offset_commit",
    "after_offset_commit",
    "after_orphan_cleanup",
    "after_replay_write",
)


def _parse(spec: str | None) -> tuple[str, int] | None:
    if not spec:
        return None
    point, _, nth = spec.partition("@")
    if point not in POINTS:
        raise ValueError(f"GDX_FAULT={spec!r}: unknown point; known: {', '.join(POINTS)}")
    return point, int(nth or 1)


_FAULT = _parse(os.environ.get("GDX_FAULT"))
_hits: dict[str, int] = {}


def fault(point: str) -> None:
    """SIGKILL this process if `GDX_FAULT` names `point` (and this is the n-th hit)."""
    if _FAULT is None or _FAULT[0] != point:
        return
    _hits[point] = _hits.get(point, 0) + 1
    if _hits[point] == _FAULT[1]:
        os.kill(os.getpid(), getattr(signal, "SIG" + os.environ.get("GDX_FAULT_SIGNAL", "KILL")))


def reload() -> None:
    """Re-read `GDX_FAULT` (tests that set it in-process)."""
    global _FAULT
    _FAULT = _parse(os.environ.get("GDX_FAULT"))
    _hits.clear()
