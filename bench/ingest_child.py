"""Child process of the ingest stage: `python -m bench.ingest_child <spec.json>`.

Runs one ingestion in a process of its own, so its peak memory is its own: the environment
(lake root, state folder, Kafka client config) is set from the spec *before* gdx is imported, the
engine's heavy imports are done first (`bench.ingest_api.warm_imports`, timed as `import_s`), the
engine is called once through `bench.ingest_api`, and the result — engine counters, the seconds
spent inside the engine call (`engine_s`), and this process's peak RSS (`VmHWM` of
/proc/self/status; `getrusage` figures kept for reference) — is written to `spec["out"]` as JSON.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    spec = json.loads(Path(argv[1]).read_text())
    for name, value in spec.get("env", {}).items():
        os.environ[name] = str(value)
    out = Path(spec["out"])
    result: dict = {}
    try:
        from bench import ingest_api

        fn = ingest_api.ingest_function()
        if isinstance(fn, str):
            raise RuntimeError(fn)
        result["warm_imports"] = ingest_api.warm_imports()
        imported = time.perf_counter()
        t0 = time.perf_counter()
        result.update(fn(**spec["call"]))
        result["engine_s"] = time.perf_counter() - t0
        result["import_s"] = imported - started
        result["ok"] = True
    except BaseException as exc:  # report any failure to the parent instead of dying silently
        result = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc()[-4000:],
        }
    kib = 1024  # Linux reports ru_maxrss and VmHWM in KiB
    # VmHWM is the peak RSS of this process's own address space. ru_maxrss is not: Linux carries
    # the high-water mark of the pre-exec image over exec, and a child forked from a big parent
    # starts with the parent's size — it is kept for reference only.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                result["vm_hwm_bytes"] = int(line.split()[1]) * kib
    except OSError:
        pass
    result["maxrss_self_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kib
    result["maxrss_children_bytes"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kib
    result["process_s"] = time.perf_counter() - started
    out.write_text(json.dumps(result, default=str))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
