"""A forking runner for the kill matrix: `python -m tests.integration.fault_zygote` imports gdx and
Great Expectations once (~6 s), then forks one child per JSON command read from stdin and runs
`run_ingest` / `run_replay` in it — the same code path as `gdx ingest` / `gdx replay` — with the
command's env (GDX_FAULT, GDX_FAULT_TRACE, batch size). Each child is a real process with its own
Kafka clients, lock and files, and a real SIGKILL ends it; only the import is shared (as the
partition workers of `gdx.ingest.runner` share it). One JSON line answers each command:
`{"signal": <n or null>, "exit": <code or null>, "seconds": <wall time>}`.

It exists because interpreter start + GX import (measured 19 s on the loaded dev box) would be
paid by every one of the 70+ kills of the matrix; forked, a kill pays only the protocol itself."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback


def _child(command: dict) -> int:
    from gdx.ingest import faults
    from gdx.ingest.config import IngestConfig

    fd = os.open(command["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.environ.update(command.get("env") or {})
    for name in command.get("unset") or []:
        os.environ.pop(name, None)
    faults.reload()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", force=True)
    try:
        if command["what"] == "ingest":
            from gdx.ingest.runner import run_ingest

            summary = run_ingest(command["contract"], config=IngestConfig.from_env())
            print(json.dumps({"rows_in": summary.rows_in, "batches": len(summary.batches)}))
        else:
            from gdx.ingest.replay import run_replay

            replayed = run_replay(command["contract"])
            print(json.dumps({"rows_landed": replayed.rows_landed}))
        return 0
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _warm_up(contract_id: str) -> None:
    """Validate a few records in this process: GX builds its metric and execution machinery on the
    first validation (seconds), which every forked child then inherits ready."""
    from gdx.contracts.model import get_contract
    from gdx.events import canonical_json, headers_for
    from gdx.ingest.config import IngestConfig
    from gdx.ingest.model import RawBatch
    from gdx.ingest.pii import Pseudonymiser
    from gdx.ingest.validate import Validator
    from gdx.sample import valid_records
    from gdx.settings import Settings

    contract = get_contract(contract_id, Settings.from_env().contracts_dir)
    raw = RawBatch(contract.topic)
    for i, record in enumerate(valid_records(contract_id, 5, seed=1)):
        value = canonical_json(record)
        raw.extend(RawBatch(contract.topic, [0], [i], [0], [None], [value], [headers_for(contract, value)]))
    Validator(contract, IngestConfig(), Pseudonymiser(None)).validate(raw)


def main() -> None:
    from gdx.ingest.gate import _gx_context
    from gdx.ingest.replay import run_replay  # noqa: F401  (imported once, before any fork)
    from gdx.ingest.runner import run_ingest  # noqa: F401

    _gx_context()
    if len(sys.argv) > 1:
        _warm_up(sys.argv[1])
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(_child(command))
        _, status = os.waitpid(pid, 0)
        answer = {
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "seconds": round(time.perf_counter() - started, 3),
        }
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
