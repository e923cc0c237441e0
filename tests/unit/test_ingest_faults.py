"""The crash hook: kills where `GDX_FAULT` says, and its trace says where a killed process was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from gdx.ingest import faults

CALLS = "from gdx.ingest.faults import fault\nfor i in range(30):\n    fault(('after_consume', 'after_rename', 'after_ledger_write')[i % 3])\n"


def _run(tmp_path, spec: str | None) -> tuple[int, list[tuple[int, str, int]]]:
    trace = tmp_path / "trace"
    env = {**os.environ, "GDX_FAULT_TRACE": str(trace)}
    env.pop("GDX_FAULT", None)
    if spec:
        env["GDX_FAULT"] = spec
    proc = subprocess.run([sys.executable, "-c", CALLS], env=env, capture_output=True, text=True, timeout=60)
    return proc.returncode, faults.read_trace(str(trace))


def test_named_point_kills_on_its_nth_hit_and_the_trace_ends_there(tmp_path) -> None:
    code, trace = _run(tmp_path, "after_rename@4")
    assert code == -signal.SIGKILL
    assert trace[-1] == (11, "after_rename", 4)  # calls 2, 5, 8, 11 are after_rename
    assert [c for c, _, _ in trace] == list(range(1, 12))


@pytest.mark.parametrize("seed", ["1", "7", "abc"])
def test_random_mode_kills_at_the_drawn_call(tmp_path, seed: str) -> None:
    k = faults._parse(f"random:{seed}:25")[1]
    assert faults.RANDOM_MIN_CALL <= k <= 25
    code, trace = _run(tmp_path, f"random:{seed}:25")
    assert code == -signal.SIGKILL and trace[-1][0] == k and len(trace) == k


def test_trace_without_fault_records_every_call_and_does_not_kill(tmp_path) -> None:
    code, trace = _run(tmp_path, None)
    assert code == 0 and len(trace) == 30 and trace[-1] == (30, "after_ledger_write", 10)


def test_bad_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown point"):
        faults._parse("after_nothing")
    with pytest.raises(ValueError, match="at least"):
        faults._parse("random:1:2")
    assert faults._parse(None) is None and faults._parse("") is None
