"""dbt at national scale: `dbt parse` of a scale world's project with N generated sources and
staging models (budget: a full parse ≤ 60 s at 8,000), and the partial parse after one contract
changed and was generated again.

    python -m bench.scale_dbt --n 100

The world's own `gdx contracts generate` writes the models (gdx.contracts.generate); dbt runs
through gdx.build.run_dbt in a subprocess, as `gdx build` runs it. The full parse is timed with
partial parsing off (`--no-partial-parse`); the incremental one reuses the partial-parse state the
full parse left in the target folder, as an operator's second `dbt parse` would.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from gdx.testing.scale_world import ScaleWorld, build_scale_world

FULL_PARSE_BUDGET_S = 60.0


def _paths(world: ScaleWorld, work_dir: Path) -> Any:
    from gdx.build import BuildPaths
    from gdx.settings import Settings

    settings = dataclasses.replace(
        Settings.from_env(),
        lake_root=str(work_dir / "lake"),
        warehouse=work_dir / "wh" / "onedata.duckdb",
        contracts_dir=world.contracts_dir,
    )
    return BuildPaths.from_settings(
        settings, project_dir=world.root / "dbt_project", target_dir=work_dir / "target"
    )


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _parse(paths: Any, *args: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the dbt process): on a shared box the CPU figure is the stable one."""
    from gdx.build import run_dbt

    cpu_before = _children_cpu_s()
    result = run_dbt(["parse", *args], paths)
    if not result.ok:
        raise RuntimeError(f"dbt parse failed:\n{result.output[-3000:]}")
    return result.elapsed_s, _children_cpu_s() - cpu_before


def _counts(paths: Any) -> dict[str, int]:
    manifest = json.loads((paths.target_dir / "manifest.json").read_text(encoding="utf-8"))
    nodes = manifest["nodes"].values()
    return {
        "sources": len(manifest["sources"]),
        "staging models": sum(
            1 for n in nodes if n["resource_type"] == "model" and n["name"].startswith("stg_")
        ),
        "tests": sum(1 for n in nodes if n["resource_type"] == "test"),
    }


def measure(world: ScaleWorld, n: int, work_dir: Path) -> list[dict[str, Any]]:
    from gdx.contracts.generate import generate

    work_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generate(root=world.root, contracts_dir=world.contracts_dir)
    generate_s = time.perf_counter() - started
    paths = _paths(world, work_dir)
    full_s, full_cpu = _parse(paths, "--no-partial-parse")
    counts = _counts(paths)
    changed = world.contract_ids[len(world.contract_ids) // 2]
    world.touch(changed)
    generate(root=world.root, contracts_dir=world.contracts_dir)
    incremental_s, incremental_cpu = _parse(paths)
    shape = ", ".join(f"{v} {k}" for k, v in counts.items())
    return [
        {
            "metric": "dbt parse (full, no partial parse)",
            "value": round(full_s, 2),
            "unit": "s",
            "budget": FULL_PARSE_BUDGET_S,
            "note": f"N={n}: {shape}",
        },
        {
            "metric": "dbt parse after one contract changed (partial parse)",
            "value": round(incremental_s, 2),
            "unit": "s",
            "budget": None,
            # ScaleWorld.touch edits the usage text, which no dbt file carries: this is the
            # floor of a partial parse (manifest reload and file hashing), not a re-render.
            "note": f"{changed} edited (usage text) and generated again",
        },
        {
            "metric": "dbt parse (full) CPU",
            "value": round(full_cpu, 2),
            "unit": "cpu_s",
            "budget": None,
            "note": "user+sys of the dbt process",
        },
        {
            "metric": "dbt parse after one contract changed CPU",
            "value": round(incremental_cpu, 2),
            "unit": "cpu_s",
            "budget": None,
            "note": "user+sys of the dbt process",
        },
        {
            "metric": "generate before the parse (all artefacts)",
            "value": round(generate_s, 2),
            "unit": "s",
            "budget": None,
            "note": "gdx.contracts.generate over the world",
        },
        {
            "metric": "dbt staging models",
            "value": counts["staging models"],
            "unit": "count",
            "budget": None,
            "note": "",
        },
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_dbt", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="generated contracts in the world")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gdx-scale-dbt-") as tmp:
        world = build_scale_world(Path(tmp) / "world", args.n)
        for row in measure(world, args.n, Path(tmp) / "work"):
            print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
