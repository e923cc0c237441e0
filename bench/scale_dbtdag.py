"""Scale bench of the dbt DAG `build_onedata_marts`: what parsing it costs at N datasets.

The DAG file of the world (`<world>/dags/build_onedata_marts.py`, reading the world's generated
registry) is parsed by Airflow's DagBag in a fresh interpreter, then serialised as the
dag-processor does (one Asset per dataset in its schedule). Wall and CPU seconds of the parse,
and the serialisation, are reported; the interpreter start and Airflow's own import are left out
(every parse loop pays them once, for all files).

Standalone: `python -m bench.scale_dbtdag --n 100` (builds a world and runs `gdx contracts
generate` into it first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from gdx.testing.scale_world import ScaleWorld

_PARSE = """
import json, sys, time
import airflow.sdk  # imported before the clock: paid once per parsing loop, for every file
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization
wall, cpu = time.perf_counter(), time.process_time()
bag = DagBag(dag_folder=sys.argv[1])
parsed = (time.perf_counter() - wall, time.process_time() - cpu)
assert not bag.import_errors, bag.import_errors
dag = bag.dags["build_onedata_marts"]
start = time.perf_counter()
DagSerialization.serialize_dag(dag)
print(json.dumps({"wall": parsed[0], "cpu": parsed[1], "serialize": time.perf_counter() - start,
                  "assets": len(dag.timetable.asset_condition.objects)}))
"""


def parse_cost(dag_file: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dag_file.parent),
    }
    done = subprocess.run(
        [sys.executable, "-c", _PARSE, str(dag_file)], env=env, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(f"parsing {dag_file} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(world: ScaleWorld, n: int, work_dir: Path) -> list[dict[str, Any]]:
    cost = parse_cost(world.root / "dags" / "build_onedata_marts.py")
    note = f"{int(cost['assets'])} bronze Assets in the schedule; DagBag in a fresh interpreter"
    return [
        {
            "metric": "dbt DAG parse",
            "value": round(cost["wall"], 3),
            "unit": "s",
            "budget": None,
            "note": note,
        },
        {
            "metric": "dbt DAG parse CPU",
            "value": round(cost["cpu"], 3),
            "unit": "cpu_s",
            "budget": None,
            "note": note,
        },
        {
            "metric": "dbt DAG serialise",
            "value": round(cost["serialize"], 3),
            "unit": "s",
            "budget": None,
            "note": "DagSerialization.serialize_dag (what the dag-processor stores)",
        },
    ]


def main() -> None:
    from gdx.contracts.generate import generate
    from gdx.testing.scale_world import build_scale_world

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gdx-scale-dbtdag-") as tmp:
        world = build_scale_world(Path(tmp) / "world", args.n)
        generate(root=world.root, contracts_dir=world.contracts_dir)
        for row in measure(world, args.n, Path(tmp)):
            print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
