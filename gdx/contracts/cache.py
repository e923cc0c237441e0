"""Content-addressed cache of per-contract results (lint findings, exporter values).

At national scale (8,000 contracts) linting or generating everything on every run is minutes of
work for a one-file change. Each result is stored under a key that hashes everything it was
computed from: the contract's bytes and path, a digest of the code that computes it
(`code_digest`: module sources plus library versions) and the settings that matter. Inputs from
outside the file (the agencies registry for access rules) are recorded in the entry as
`deps` and compared on every read, so a change there invalidates exactly the entries that read it.

Entries live in `<GDX_STATE_DIR>/cache/contracts/<kind>/<xx>/<key>.json` (git-ignored `.gdx/`),
written atomically (temp file + rename). Anything unreadable, undecodable or for another key is a
miss: the result is recomputed, never trusted. `GDX_CONTRACTS_CACHE=0` or `enabled=False`
(`--no-cache`) turns the cache off.

Pruning (`ContractCache.prune`, after a run over the whole tree): the run records the keys it
used in `<kind>/_live/<scope>.json` (scope: the tree and the settings, not the code version, so a
new linter/generator version replaces the old one's list) and deletes every entry that no recent
list names. Deleting is only ever a future miss, never a wrong result; entries younger than the
run (a concurrent run's fresh results) and temp files younger than an hour are left alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

FORMAT = 1
"""Bumped when the entry layout changes."""


def digest(*parts: str | bytes) -> str:
    """sha256 of the parts, each length-prefixed so ("ab", "c") and ("a", "bc") differ."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def code_digest(files: Iterable[Path], distributions: Iterable[str] = (), extra: Iterable[str] = ()) -> str:
    """Digest of source files (path + bytes), library versions and anything else the result depends on."""
    parts: list[str | bytes] = [f"format {FORMAT}", sys.version]
    for path in sorted(set(files)):
        parts += [path.name, path.read_bytes() if path.exists() else b"<missing>"]
    parts += [f"{d}=={_version(d)}" for d in sorted(distributions)]
    parts += list(extra)
    return digest(*parts)


def default_dir() -> Path:
    from gdx.settings import Settings

    return Settings.from_env().state_dir / "cache" / "contracts"


def enabled_by_env() -> bool:
    return os.environ.get("GDX_CONTRACTS_CACHE", "1").strip().lower() not in {"0", "false", "no", "off"}


class ContractCache:
    """One kind of result (`lint`, `generate`) keyed by content digest."""

    def __init__(self, kind: str, root: Path | None = None, enabled: bool = True) -> None:
        self.kind = kind
        self.enabled = enabled and enabled_by_env()
        self.dir = (root or default_dir()) / kind
        self.hits = 0
        self.misses = 0
        self.used: set[str] = set()
        """Keys read or written by this run: what `prune` keeps."""
        self.started_ns = time.time_ns()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        """The stored value for `key`, or None (missing, unreadable, corrupt or disabled)."""
        if not self.enabled:
            self.misses += 1
            return None
        self.used.add(key)
        try:
            entry = json.loads(self._path(key).read_bytes())
            if not isinstance(entry, dict) or entry.get("key") != key or entry.get("format") != FORMAT:
                raise ValueError("not an entry for this key")
            value = entry["value"]
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        """Store `value` (JSON data) under `key`; a cache that cannot be written is skipped."""
        if not self.enabled:
            return
        self.used.add(key)
        data = json.dumps({"format": FORMAT, "key": key, "value": value}, ensure_ascii=False).encode("utf-8")
        write_atomic(self._path(key), data)

    def prune(self, scope: str) -> int:
        """Record this run's keys as the live set of `scope`; delete entries no live set names.

        Call only after a run over every current contract (a partial run's keys are not the
        tree's). Returns the number of files deleted."""
        if not self.enabled:
            return 0
        live_dir = self.dir / "_live"
        mine = live_dir / f"{digest(scope)[:32]}.json"
        write_atomic(mine, json.dumps({"format": FORMAT, "keys": sorted(self.used)}).encode("utf-8"))
        keep = set(self.used)
        now_ns = time.time_ns()
        for manifest in _entries(live_dir, ".json"):
            if manifest.path == str(mine):
                continue
            try:
                if now_ns - manifest.stat().st_mtime_ns > LIVE_TTL_NS:
                    os.unlink(manifest.path)  # a tree nobody ran for a month: its entries may go
                    continue
                data = json.loads(Path(manifest.path).read_bytes())
                keys = data["keys"] if isinstance(data, dict) and data.get("format") == FORMAT else None
                if not isinstance(keys, list):
                    raise ValueError("not a live list")
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError, RecursionError):
                # damaged (lists are written atomically, so not a concurrent write): it protects
                # nothing it can name; its tree's next run recomputes and lists again
                Path(manifest.path).unlink(missing_ok=True)
                continue
            keep.update(k for k in keys if isinstance(k, str))
        removed = 0
        for shard in _entries(self.dir, None):
            if not shard.is_dir(follow_symlinks=False) or len(shard.name) != 2:
                continue
            for entry in _entries(Path(shard.path), None):
                name = entry.name
                try:
                    mtime_ns = entry.stat(follow_symlinks=False).st_mtime_ns
                    if name.startswith(".tmp-"):
                        stale = now_ns - mtime_ns > TMP_TTL_NS  # a crashed writer's leftover
                    else:
                        # younger than this run: a concurrent run's result, maybe not listed yet
                        stale = name.removesuffix(".json") not in keep and mtime_ns < self.started_ns
                    if stale:
                        os.unlink(entry.path)
                        removed += 1
                except OSError:
                    continue  # gone already (a concurrent prune) or not ours to delete
        return removed


LIVE_TTL_NS = 30 * 24 * 3600 * 10**9
"""A live list not refreshed for this long no longer protects its entries."""
TMP_TTL_NS = 3600 * 10**9
"""A temp file this old is a crashed writer's, not one in progress."""


def _entries(folder: Path, suffix: str | None) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return [e for e in it if suffix is None or e.name.endswith(suffix)]
    except OSError:
        return []


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` via a temp file and rename, so readers see all of it or none;
    False (nothing written) when the folder is not writable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


def json_stable(value: Any) -> bool:
    """True when `value` comes back from JSON exactly as it is (so a cached copy behaves the same)."""
    try:
        back = json.loads(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return False
    return _same(value, back)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
