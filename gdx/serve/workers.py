"""Serving with several worker processes that share one built catalog (copy-on-write).

One Python process uses one core for the request work (the GIL), and at national scale building
the catalog takes tens of seconds and a gigabyte: building it once per worker would multiply
both. So the parent builds and warms the catalog, `gc.freeze()`s it (the collector then never
writes to those objects, which keeps their pages shared), binds the listening socket, and forks
the workers; each runs its own uvicorn server on the inherited socket and the kernel spreads the
connections. The parent serves nothing: it forwards SIGTERM/SIGINT to the workers, waits for
them, and forks a replacement for a worker that died unexpectedly.

Every worker keeps its catalog current by itself (`Catalog.after_fork` gives it its own contract
watcher), so an edited contract is served by all of them within a watcher period or two.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

RESPAWN_PAUSE_SECONDS = 1.0  # between re-forks of a worker that keeps dying at start


def default_workers() -> int:
    """$GDX_SERVE_WORKERS, else one per core (at most 4: more buys nothing for a catalog)."""
    text = os.environ.get("GDX_SERVE_WORKERS") or ""
    if text:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"GDX_SERVE_WORKERS={text!r} is not a number") from None
        if value < 1:
            raise ValueError(f"GDX_SERVE_WORKERS={value} must be at least 1")
        return value
    return max(1, min(4, os.cpu_count() or 1))


def serve_forked(sock: socket.socket, workers: int, run_worker: Callable[[socket.socket], None]) -> int:
    """Fork `workers` processes that each call `run_worker(sock)`; returns the exit status."""
    gc.collect()
    gc.freeze()  # the built catalog moves to the permanent generation: never scanned, never dirtied
    children: dict[int, int] = {}  # pid → worker number
    stopping = False

    def spawn(number: int) -> None:
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                run_worker(sock)
            except BaseException:  # a worker must never return into the parent's loop
                log.exception("catalog worker %d failed", number)
                status = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        children[pid] = number

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for number in range(workers):
            spawn(number)
        status = 0
        while children:
            try:
                pid, code = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            number = children.pop(pid, None)
            if number is None:
                continue
            if code != 0:
                status = 1
            if not stopping:
                log.error(
                    "catalog worker %d (pid %d) exited (status %d); starting another", number, pid, code
                )
                time.sleep(RESPAWN_PAUSE_SECONDS)
                if not stopping:
                    spawn(number)
        return 0 if stopping else status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
