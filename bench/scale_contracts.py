"""Scale figures of `gdx contracts lint` and `gdx contracts generate` over a scale world of N contracts.

Each figure is the wall time of one subprocess of the real `gdx` CLI with GDX_CONTRACTS_DIR in
the world and GDX_STATE_DIR (so the content-hash cache) in a fresh folder under `work_dir`:

* lint cold (empty cache), lint warm (nothing changed), lint incremental (after `world.touch` of
  one contract);
* generate cold (empty cache, writing every file into the world), generate incremental (one more
  contract touched), generate --check (nothing changed since: the stat index hashes the files the
  incremental run wrote), generate --check again (stat calls only);
* the contracts cache after these runs: entries per kind (pruning keeps them at one per contract
  for lint and generate) and its size on disk;
* the CPU seconds of the two cold runs (the command and its worker processes), which a busy
  shared machine distorts far less than wall time.

Budgets at N = 8,000 (issue #13): cold lint ≤ 120 s, incremental lint ≤ 5 s. A command that
exits non-zero is reported in the note (the figure then means little).

    python -m bench.scale_contracts --n 100
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BUDGETS = {"lint_cold": 120.0, "lint_incremental": 5.0}


def _gdx() -> list[str]:
    exe = Path(sys.executable).with_name("gdx")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "gdx.cli"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the command and its worker processes, exit code, output tail)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run([*_gdx(), *args], env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    tail = " ".join((proc.stdout + proc.stderr).split())[-200:]
    return elapsed, _children_cpu() - cpu, proc.returncode, tail


def measure(world: Any, n: int, work_dir: Path) -> list[dict[str, Any]]:
    """The figures for this world (see the module docstring)."""
    state = Path(work_dir) / "contracts-state"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    env = {
        **os.environ,
        "GDX_CONTRACTS_DIR": str(world.contracts_dir),
        "GDX_STATE_DIR": str(state),
        "GDX_CONTRACTS_CACHE": "1",
    }
    ids = list(world.contract_ids)
    steps: list[tuple[str, list[str], str | None]] = [
        ("lint_cold", ["contracts", "lint"], None),
        ("lint_warm", ["contracts", "lint"], None),
        ("lint_incremental", ["contracts", "lint"], ids[0] if ids else None),
        ("generate_cold", ["contracts", "generate", "--root", str(world.root)], None),
        (
            "generate_incremental",
            ["contracts", "generate", "--root", str(world.root)],
            ids[-1] if ids else None,
        ),
        ("generate_check", ["contracts", "generate", "--check", "--root", str(world.root)], None),
        ("generate_check_again", ["contracts", "generate", "--check", "--root", str(world.root)], None),
    ]
    rows = []
    for metric, args, touch in steps:
        if touch is not None:
            world.touch(touch, marker=f"bench {metric}")
        seconds, cpu, code, tail = _timed(args, env)
        note = f"{n:,} contracts; {cpu:.1f} cpu·s" + (f"; after touching {touch}" if touch else "")
        if code != 0:
            note += f"; exit {code}: {tail}"
        budget = BUDGETS.get(metric)
        rows.append(
            {"metric": metric, "value": round(seconds, 3), "unit": "s", "budget": budget, "note": note}
        )
        if metric.endswith("_cold") or metric.startswith("generate_check"):
            # wall time on a shared machine depends on the neighbours; CPU seconds much less
            rows.append(
                {
                    "metric": f"{metric}_cpu",
                    "value": round(cpu, 2),
                    "unit": "cpu_s",
                    "budget": None,
                    "note": note,
                }
            )
    rows += _cache_rows(state / "cache" / "contracts", n)
    return rows


def _cache_rows(cache: Path, n: int) -> list[dict[str, Any]]:
    """Entries per cache kind and the cache's size: what pruning bounds."""
    rows = []
    total = 0
    for kind in ("lint", "generate", "generate-merged"):
        entries = [p for p in (cache / kind).glob("??/*.json") if not p.name.startswith(".")]
        total += sum(p.stat().st_size for p in entries)
        rows.append(
            {
                "metric": f"cache_entries_{kind.replace('-', '_')}",
                "value": len(entries),
                "unit": "files",
                "budget": None,
                "note": f"{n:,} contracts; after the lint and generate runs (two contracts touched)",
            }
        )
    rows.append(
        {
            "metric": "cache_mib",
            "value": round(total / 2**20, 1),
            "unit": "MiB",
            "budget": None,
            "note": f"{n:,} contracts; entries of the three kinds",
        }
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    from gdx.testing.scale_world import build_scale_world

    p = argparse.ArgumentParser(prog="python -m bench.scale_contracts", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100, help="contracts in the scale world (default 100)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gdx-scale-contracts-") as tmp:
        world = build_scale_world(Path(tmp) / "world", args.n)
        for row in measure(world, args.n, Path(tmp) / "work"):
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
