"""Stat index of `gdx contracts generate`: an unchanged tree is proven in sync without the cache.

After a run that found (or left) the generated files in sync, the index records the generator
version and, for every contract file and every generated file, the sha256 of its bytes with the
file's stat (size, mtime_ns, ctime_ns, inode) taken *before* those bytes were read, so a later
write always moves the stat. A check is clean by the index when the version is the same, the
contract files are the same set, the files the generator owns are exactly the generated ones,
and every file still has its recorded stat. Nothing else is read: at 8,000 contracts that is
stat calls instead of ~340 MB of cache bodies.

A file whose stat differs is read and hashed: same bytes → still clean (the new stat is kept);
other bytes → not clean, and the caller runs the full check, which tells what changed. A stat
recorded within `RACY_NS` of its file's mtime is not trusted either ("racy", as git calls it): an
edit of the same size in the same timestamp tick would leave it unchanged. Files `generate` has
just written have no stat yet (someone could edit them between the write and a stat), so the
first check after a generate reads them once.

The index is one JSON file per (repository, contracts folder) under the contracts cache,
written atomically; an unreadable or malformed index is no index.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

FORMAT = 1
RACY_NS = 2 * 10**9
"""Filesystems stamp mtimes in ticks (ext4 a few ms, some 1-2 s): a stat this close to its
file's mtime may not reveal a same-tick edit."""

Entry = list[Any]
"""[sha256 of the bytes, stat key or None (unknown: hash the file)]."""


def index_path(cache_dir: Path, root: Path, contracts_dir: Path) -> Path:
    from gdx.contracts.cache import digest

    name = digest(str(root.resolve()), str(contracts_dir.resolve()))[:32]
    return cache_dir / "generate-index" / f"{name}.json"


def _valid_entries(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(v, list)
        and len(v) == 2
        and isinstance(v[0], str)
        and (v[1] is None or (isinstance(v[1], list) and all(isinstance(x, int) for x in v[1])))
        for v in value.values()
    )


def load(path: Path) -> dict[str, Any] | None:
    """The index at `path`, or None (absent, unreadable, malformed, another format)."""
    try:
        index = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not (
        isinstance(index, dict)
        and index.get("format") == FORMAT
        and isinstance(index.get("version"), str)
        and isinstance(index.get("taken_ns"), int)
        and _valid_entries(index.get("contracts"))
        and _valid_entries(index.get("generated"))
    ):
        return None
    return index


def build(
    version: str, taken_ns: int, contracts: dict[str, Entry], generated: dict[str, Entry]
) -> dict[str, Any]:
    """An index; `taken_ns` must be a time before any of the recorded stats was taken."""
    return {
        "format": FORMAT,
        "version": version,
        "taken_ns": taken_ns,
        "contracts": contracts,
        "generated": generated,
    }


def save(path: Path, index: dict[str, Any]) -> None:
    from gdx.contracts.cache import write_atomic

    write_atomic(path, json.dumps(index, separators=(",", ":")).encode("utf-8"))


def _same(entry: Entry, path: str, racy_from: int, now_ns: int) -> bool | None:
    """True: stat unchanged; False: the bytes differ (or the file is gone); None: same bytes,
    new stat (recorded in `entry`)."""
    from gdx.contracts.cache import digest
    from gdx.contracts.generate import stat_key

    recorded = entry[1]
    try:
        current = stat_key(os.stat(path))
    except OSError:
        return False
    # racy: mtime within RACY_NS of when the stat was taken (the index's taken_ns or later)
    if recorded is not None and current == recorded and recorded[1] < racy_from:
        return True
    try:
        with open(path, "rb") as handle:
            current = stat_key(os.fstat(handle.fileno()))
            data = handle.read()
    except OSError:
        return False
    if digest(data) != entry[0]:
        return False
    entry[1] = current if current[1] < now_ns - RACY_NS else None
    return None


def verify(
    index: dict[str, Any],
    version: str,
    contracts_dir: Path,
    contract_rels: Iterable[str],
    root: Path,
    owned_rels: Callable[[], set[str]],
    now_ns: int,
) -> tuple[bool, bool]:
    """(in sync, index refreshed): whether the tree is what the index recorded, with every
    generated file in place and no extra owned file; refreshed when a stat was renewed (then
    `index` is updated to save, with `taken_ns` = `now_ns`, a time before this call's stats)."""
    if index["version"] != version:
        return False, False
    contracts: dict[str, Entry] = index["contracts"]
    generated: dict[str, Entry] = index["generated"]
    rels = list(contract_rels)
    if len(rels) != len(contracts) or any(rel not in contracts for rel in rels):
        return False, False
    racy_from = index["taken_ns"] - RACY_NS
    refreshed = False
    # plain strings, not Path objects: at 50,000 files pathlib's own overhead is most of the cost
    for entries, base in ((contracts, str(contracts_dir)), (generated, str(root))):
        for rel, entry in entries.items():
            same = _same(entry, os.path.join(base, rel), racy_from, now_ns)
            if same is False:
                return False, False
            refreshed = refreshed or same is None
    if not owned_rels() <= generated.keys():
        return False, False  # an extra file the generator would delete
    if refreshed:
        index["taken_ns"] = now_ns
    return True, refreshed
