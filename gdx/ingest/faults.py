"""Crash injection for the exactly-once tests: `GDX_FAULT` SIGKILLs the process at a protocol seam.

The points are the seams of the landing protocol (see `gdx.ingest.runner`): a test kills the
ingestion at one of them, re-runs it and checks the lake holds every published record exactly
once.

* `GDX_FAULT=<point>[@<n>]` kills on the n-th time `point` is reached (default: the first);
* `GDX_FAULT=random:<seed>[:<max>]` kills at the k-th `fault()` call of the run, whatever its
  point, k drawn from `seed` uniformly in 3..max (default 120; calls 1–2 are the run's start:
  `after_orphan_cleanup`, the first `after_consume`). A run that makes fewer calls is not killed.
* `GDX_FAULT_TRACE=<file>` appends `<call> <point> <hit> <unix time>` for every call *before* any kill, with
  one unbuffered `write(2)` on an O_APPEND descriptor: the line is in the kernel when SIGKILL
  arrives (SIGKILL loses user-space buffers, never completed writes), so the test reads where the
  process died. (Not fsynced: a power loss is not what these tests simulate.)

Unset, `fault()` is one global lookup and a test: no measurable cost on the hot path. Other
modules add their seams to `POINTS` (a tuple: `GDX_FAULT` names are checked against it).
`GDX_FAULT_SIGNAL=STOP` stops the process at the selected call instead of killing it (SIGSTOP):
the lease tests freeze a run mid-batch, let its lease expire, and wake it with SIGCONT.
"""

from __future__ import annotations

import os
import random
import signal
import time

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
RANDOM_MIN_CALL = 3
RANDOM_MAX_CALL = 120


def _parse(spec: str | None) -> tuple[str | None, int] | None:
    """(point, n) for `<point>[@n]`, (None, k) for `random:<seed>[:<max>]`, None when unset."""
    if not spec:
        return None
    if spec.startswith("random:"):
        seed, _, top = spec.removeprefix("random:").partition(":")
        high = int(top or RANDOM_MAX_CALL)
        if high < RANDOM_MIN_CALL:
            raise ValueError(f"GDX_FAULT={spec!r}: max must be at least {RANDOM_MIN_CALL}")
        return None, random.Random(seed).randint(RANDOM_MIN_CALL, high)
    point, _, nth = spec.partition("@")
    if point not in POINTS:
        raise ValueError(f"GDX_FAULT={spec!r}: unknown point; known: {', '.join(POINTS)}")
    return point, int(nth or 1)


def _open_trace(path: str | None) -> int | None:
    if not path:
        return None
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


_FAULT = _parse(os.environ.get("GDX_FAULT"))
_TRACE = _open_trace(os.environ.get("GDX_FAULT_TRACE"))
_ACTIVE = _FAULT is not None or _TRACE is not None
_hits: dict[str, int] = {}
_calls = 0


def fault(point: str) -> None:
    """SIGKILL this process if `GDX_FAULT` selects this call; trace it if `GDX_FAULT_TRACE` is set."""
    if not _ACTIVE:
        return
    _reached(point)


def _reached(point: str) -> None:
    global _calls
    _calls += 1
    hit = _hits[point] = _hits.get(point, 0) + 1
    if _TRACE is not None:
        os.write(_TRACE, f"{_calls} {point} {hit} {time.time():.3f}\n".encode())
    if _FAULT is None:
        return
    named, n = _FAULT
    if (named is None and _calls == n) or (named == point and hit == n):
        os.kill(os.getpid(), getattr(signal, "SIG" + os.environ.get("GDX_FAULT_SIGNAL", "KILL")))


def read_trace(path: str) -> list[tuple[int, str, int]]:
    """The (call, point, hit) lines of a trace file, in order (tests)."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            call, point, hit = line.split()[:3]
            out.append((int(call), point, int(hit)))
    return out


def reload() -> None:
    """Re-read `GDX_FAULT` and `GDX_FAULT_TRACE` (tests that set them in-process, or a forked child)."""
    global _FAULT, _TRACE, _ACTIVE, _calls
    if _TRACE is not None:
        os.close(_TRACE)
    _FAULT = _parse(os.environ.get("GDX_FAULT"))
    _TRACE = _open_trace(os.environ.get("GDX_FAULT_TRACE"))
    _ACTIVE = _FAULT is not None or _TRACE is not None
    _hits.clear()
    _calls = 0
