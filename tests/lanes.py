"""`python -m tests.lanes [LANE …]`: the suite as pytest processes running side by side.

`make test` runs the integration tests and the unit tests as two lanes. The integration tests
mostly wait — on brokers, Airflow's scheduler loops, dbt and `gdx` subprocesses (the three Airflow
modules used ~25 % of one core over their 10 min) — while the unit tests are ~3 min of one core, so
on a 2-core box the unit lane runs in the integration lane's idle time instead of after it.

The first lane streams its output; the others write to a file each, printed when every lane is
done. Each lane is its own pytest session (own broker, own Airflow home, own fault-matrix file);
the exit status is the first non-zero lane status, or 0. A LANE is a space-separated list of
pytest arguments (`"tests/integration -x"`); extra arguments after `--` go to every lane.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

DEFAULT_LANES = ("tests/integration", "tests/unit")


def lane_commands(lanes: list[str], common: list[str]) -> list[list[str]]:
    return [[sys.executable, "-m", "pytest", "-q", *shlex.split(lane), *common] for lane in lanes]


def run(lanes: list[str], common: list[str]) -> int:
    commands = lane_commands(lanes, common)
    logs = Path(tempfile.mkdtemp(prefix="gdx-test-lanes-"))
    background: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    for i, (lane, cmd) in enumerate(zip(lanes, commands, strict=True)):
        if i == 0:
            continue
        log = logs / f"lane-{i}.log"
        # a lane of its own: the integration lane's fault matrix is the one the summary prints
        env = {**os.environ, "GDX_FAULT_MATRIX_FILE": str(logs / f"fault-matrix-{i}.jsonl")}
        with log.open("wb") as out:
            background.append(
                (lane, subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env), log)
            )
    print(
        f"lanes: {lanes[0]!r} here; {', '.join(repr(b[0]) for b in background) or 'no other'} beside it",
        flush=True,
    )
    statuses = [subprocess.call(commands[0])]
    for lane, proc, log in background:
        statuses.append(proc.wait())
        print(f"\n===== lane {lane!r} (exit {statuses[-1]}) =====", flush=True)
        sys.stdout.write(log.read_text(errors="replace"))
    return next((s for s in statuses if s != 0), 0)


def main(argv: list[str]) -> int:
    lanes, common = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    return run(lanes or list(DEFAULT_LANES), common)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
