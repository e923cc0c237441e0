"""Run one DAG once in-process with Airflow's `dag.test()` — what `gdx demo` and the DAG tests use
where no scheduler runs: `python -m gdx.orchestration.dag_test DAG_ID [--conf JSON]`.

Why not `airflow dags test`: in Airflow 3.3.2, `dag.test()` deserialises the DAG in memory, so its
`deadline` holds the alert definitions instead of the UUIDs the dag-processor gives them in the
metadata DB; when the run *succeeds*, `DagRun.update_state` looks the alerts up by id and crashes
(`'dict' object has no attribute 'hex'`). Deadlines are evaluated by the scheduler and their
callbacks run in the triggerer — neither exists in a test run — so a test run drops them and keeps
everything else. The real-scheduler test (tests/integration/test_airflow_scheduler.py) runs the
DAGs with their deadlines.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def run_dag_test(dag: Any, conf: dict[str, Any] | None = None) -> Any:
    """`dag.test(run_conf=conf)` without the DAG's deadline alerts; returns the DagRun."""
    dag.deadline = None
    return dag.test(run_conf=conf)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gdx.orchestration.dag_test", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("dag_id")
    parser.add_argument("--conf", default=None, help="run conf as JSON (the DAG's params)")
    parser.add_argument("--dags-folder", default=None, help="default: Airflow's [core] dags_folder")
    args = parser.parse_args(argv)
    from airflow.configuration import conf as airflow_conf
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=args.dags_folder or airflow_conf.get("core", "dags_folder"))
    if args.dag_id not in bag.dags:
        errors = "; ".join(
            f"{path}: {err.splitlines()[-1] if err else ''}" for path, err in bag.import_errors.items()
        )
        print(
            f"error: no DAG {args.dag_id!r} in {bag.dag_folder}"
            + (f" (import errors: {errors})" if errors else ""),
            file=sys.stderr,
        )
        return 2
    run = run_dag_test(bag.dags[args.dag_id], json.loads(args.conf) if args.conf else None)
    state = str(getattr(run, "state", ""))
    print(f"{args.dag_id}: {state}")
    return 0 if state.endswith("success") else 1


if __name__ == "__main__":
    raise SystemExit(main())
