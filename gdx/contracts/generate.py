"""Write (or check) every artefact the contracts generate, so they never drift from the contracts.

Artefacts (docs/conventions.md): `contracts/_generated/<agency>/<dataset>/{jsonschema,gx_suite,
arrow_schema,catalog}.json`, `dbt_project/models/staging/<agency>/_<agency>__sources.yml`, the
staging models `stg_<agency>__<dataset>.sql` and `_<agency>__models.yml` beside it,
`dags/ingest_<agency>__<dataset>.py` and their one-slot pools `dags/ingest_pools.json`, plus `dbt_project/seeds/ref_provinces.csv`, a copy of the
package's `gdx/reference/th_provinces.csv` (one source for adapters and dbt). Generated files
that no contract produces any more (a deleted contract, a bumped major) are removed by
`generate()` and reported as extra by `generate(check=True)`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from gdx.contracts.model import Contract

PROVINCES_SEED = "dbt_project/seeds/ref_provinces.csv"
# Globs (repo-relative) of files owned by the generator: anything matching that is not expected
# is extra. Hand-written seeds (ref_agencies.csv) are deliberately not matched.
OWNED_GLOBS = (
    "contracts/_generated/*/*/*.json",
    "dbt_project/models/staging/*/_*__sources.yml",
    # staging models of the contracts; hand-written staging lives one level deeper (hand_written/)
    "dbt_project/models/staging/*/stg_*__*.sql",
    "dbt_project/models/staging/*/_*__models.yml",
    "dags/ingest_*.py",
    "dags/ingest_pools.json",
    "dags/gdx_datasets.json",
)


@dataclass
class GenerateResult:
    """What `generate` found: repo-relative paths."""

    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def changed(self) -> list[str]:
        return sorted(self.missing + self.stale + self.extra)

    @property
    def clean(self) -> bool:
        return not self.changed


def provinces_csv() -> bytes:
    return resources.files("gdx.reference").joinpath("th_provinces.csv").read_bytes()


def expected_files(contracts: dict[str, Contract]) -> dict[str, bytes]:
    """Repo-relative path → exact bytes of every generated file."""
    from gdx.contracts.exporters import EXPORTERS

    files: dict[str, bytes] = {PROVINCES_SEED: provinces_csv()}
    for exporter in EXPORTERS.values():
        grouped: dict[str, list[object]] = {}
        for contract_id in sorted(contracts):
            contract = contracts[contract_id]
            if exporter.applies(contract):
                grouped.setdefault(exporter.path(contract), []).append(exporter.func(contract))
        for path, values in grouped.items():
            if len(values) > 1 and exporter.merge is None:
                raise ValueError(f"exporter {exporter.name}: several contracts write {path}")
            value = exporter.merge(values) if exporter.merge is not None else values[0]
            text = exporter.render(value)
            files[path] = (text if text.endswith("\n") else text + "\n").encode("utf-8")
    return files


GENERATE_DISTRIBUTIONS = ("PyYAML",)


def generate_version() -> str:
    """Digest of the code whose output is cached: every module of gdx.contracts (exporters
    included, so a new or edited exporter invalidates), the Thai reference data they embed."""
    from gdx.contracts.cache import code_digest

    package = Path(__file__).parent
    files = [
        *package.rglob("*.py"),
        *(package.parent / "thai").glob("*.py"),
        *(package.parent / "reference").glob("*"),
    ]
    return code_digest([f for f in files if f.is_file()], GENERATE_DISTRIBUTIONS)


def _file_text(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _contract_entry(contract: Contract) -> dict[str, Any]:
    """One contract's share of the generated files: `files` (exporter → [path, final text]) for
    files of its own, `parts` (exporter → [path, value]) for files merged with other contracts."""
    from gdx.contracts.exporters import EXPORTERS

    files: dict[str, list[Any]] = {}
    parts: dict[str, list[Any]] = {}
    for exporter in EXPORTERS.values():
        if not exporter.applies(contract):
            continue
        path, value = exporter.path(contract), exporter.func(contract)
        if exporter.merge is None:
            files[exporter.name] = [path, _file_text(exporter.render(value))]
        else:
            parts[exporter.name] = [path, value]
    return {"id": contract.id, "topic": contract.topic, "files": files, "parts": parts}


def _entry_ok(entry: object) -> bool:
    if not (
        isinstance(entry, dict) and isinstance(entry.get("id"), str) and isinstance(entry.get("topic"), str)
    ):
        return False
    files, parts = entry.get("files"), entry.get("parts")
    return (
        isinstance(files, dict)
        and isinstance(parts, dict)
        and all(
            isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], str)
            for v in files.values()
        )
        and all(isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) for v in parts.values())
    )


class _Run:
    """One generate run: the caches, the code version their keys include, and what the run saw
    of the files it read (for the stat index)."""

    def __init__(self, cache: bool) -> None:
        from gdx.contracts.cache import ContractCache

        self.started_ns = time.time_ns()  # before any file is looked at: see StatIndex.RACY_NS
        self.version = generate_version()
        self.contracts = ContractCache("generate", enabled=cache)
        self.merged = ContractCache("generate-merged", enabled=cache)
        self.seen: dict[str, list[Any]] = {}
        """Contract path (relative to the contracts folder) → [sha256 of the bytes read, their stat]."""

    def prune(self, contracts_dir: Path) -> None:
        scope = f"generate {contracts_dir.resolve()}"
        self.contracts.prune(scope)
        self.merged.prune(scope)


def _read(path: Path) -> tuple[bytes, list[int]]:
    """The file's bytes and its stat key, taken before reading: a later write changes the stat."""
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        return handle.read(), stat_key(stat)


def stat_key(stat: os.stat_result) -> list[int]:
    """What a write to the file changes (ctime too: an mtime set back by hand still moves it)."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def _fresh_entry(job: tuple[Path, bytes | None]) -> tuple[dict[str, Any], bool]:
    """(entry, whether it survives JSON exactly) for one contract file, computed now from the
    bytes its cache key was made of (a second read could see a newer file)."""
    from gdx.contracts.cache import json_stable
    from gdx.contracts.model import load_contract

    entry = _contract_entry(load_contract(*job))
    return entry, json_stable(entry)


PARALLEL_FROM = 64
"""Below this many contracts to compute, worker processes cost more than they save."""


def _fresh_entries(jobs: list[tuple[Path, bytes | None]], workers: int) -> list[tuple[dict[str, Any], bool]]:
    if workers <= 1 or len(jobs) < PARALLEL_FROM:
        return [_fresh_entry(job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import gdx.contracts.exporters  # noqa: F401 - imported once here, shared by the forked workers

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        chunk = max(1, min(64, len(jobs) // (workers * 8)))
        return list(pool.map(_fresh_entry, jobs, chunksize=chunk))


def _entries(contracts_dir: Path, run: _Run) -> list[tuple[str | None, dict[str, Any]]]:
    """(cache key or None, entry) per contract in contract-id order; cached where the file is unchanged."""
    from gdx.contracts.cache import digest
    from gdx.contracts.model import check_unique, contract_paths

    paths = contract_paths(contracts_dir)
    keys: list[str | None] = []
    found: list[dict[str, Any] | None] = []
    datas: list[bytes | None] = []
    for path in paths:
        rel = path.relative_to(contracts_dir).as_posix()
        try:
            data, stat = _read(path)
            run.seen[rel] = [digest(data), stat]
        except OSError:
            data = None  # load_contract reports it
        key = digest(run.version, rel, data) if data is not None else None
        entry = run.contracts.get(key) if key is not None else None
        keys.append(key)
        datas.append(data)
        found.append(entry if _entry_ok(entry) else None)
    todo = [i for i, entry in enumerate(found) if entry is None]
    fresh = _fresh_entries([(paths[i], datas[i]) for i in todo], min(4, os.cpu_count() or 1))
    for i, (entry, stable) in zip(todo, fresh, strict=True):
        found[i] = entry
        if keys[i] is not None and stable:
            run.contracts.put(keys[i], entry)  # type: ignore[arg-type]
        else:
            keys[i] = None  # a value JSON would change: recomputed on every run, never cached inexactly
    entries = [
        (path, key, entry) for path, key, entry in zip(paths, keys, found, strict=True) if entry is not None
    ]
    check_unique((path, e["id"], e["topic"]) for path, _, e in entries)
    return [(key, e) for _, key, e in sorted(entries, key=lambda pke: pke[2]["id"])]


def _expected_from_entries(entries: list[tuple[str | None, dict[str, Any]]], run: _Run) -> dict[str, bytes]:
    from gdx.contracts.cache import digest
    from gdx.contracts.exporters import EXPORTERS

    files: dict[str, bytes] = {PROVINCES_SEED: provinces_csv()}
    for exporter in EXPORTERS.values():
        if exporter.merge is None:
            for _, entry in entries:
                own = entry["files"].pop(exporter.name, None)  # popped: one copy of each text in memory
                if own is not None:
                    if own[0] in files:
                        raise ValueError(f"exporter {exporter.name}: several contracts write {own[0]}")
                    files[own[0]] = own[1].encode("utf-8")
            continue
        grouped: dict[str, list[tuple[str | None, Any]]] = {}
        for key, entry in entries:
            part = entry["parts"].get(exporter.name)
            if part is not None:
                grouped.setdefault(part[0], []).append((key, part[1]))
        for path, members in grouped.items():
            # a merged file (one agency's dbt sources, the pools) is rendered again only when
            # one of its contracts changed
            keys = [key for key, _ in members]
            group_key = digest(run.version, exporter.name, path, *keys) if None not in keys else None
            text = run.merged.get(group_key) if group_key is not None else None
            if not isinstance(text, str):
                text = _file_text(exporter.render(exporter.merge([value for _, value in members])))
                if group_key is not None:
                    run.merged.put(group_key, text)
            files[path] = text.encode("utf-8")
    return files


def expected_files_cached(contracts_dir: Path | str, cache: bool = True) -> dict[str, bytes]:
    """`expected_files(load_all(contracts_dir))`, with per-contract exporter output (and merged
    files whose contracts are all unchanged) cached by content."""
    run = _Run(cache)
    return _expected_from_entries(_entries(Path(contracts_dir), run), run)


def _paths(root: Path | str | None, contracts_dir: Path | str | None) -> tuple[Path, Path]:
    from gdx.settings import REPO_ROOT, Settings

    root = Path(root) if root is not None else REPO_ROOT
    contracts_dir = Path(contracts_dir) if contracts_dir is not None else Settings.from_env().contracts_dir
    return root, contracts_dir


def _owned(root: Path) -> list[str]:
    """Repo-relative paths of the files on disk the generator owns (OWNED_GLOBS), glob by glob."""
    return [
        path.relative_to(root).as_posix() for pattern in OWNED_GLOBS for path in sorted(root.glob(pattern))
    ]


def _owned_set(root: Path) -> set[str]:
    """`set(_owned(root))` by glob.glob on strings (same matches, hidden names included): pathlib
    objects for tens of thousands of files cost more than the check they serve."""
    import glob

    return {
        rel.replace(os.sep, "/")
        for pattern in OWNED_GLOBS
        for rel in glob.glob(pattern, root_dir=root, include_hidden=True)
    }


def _plan(
    root: Path, expected: dict[str, bytes], stats: dict[str, list[int]] | None = None
) -> GenerateResult:
    """What differs; `stats` gets the stat (taken before reading) of every file found in sync."""
    result = GenerateResult()
    for rel, content in sorted(expected.items()):
        try:
            current, stat = _read(root / rel)
        except FileNotFoundError:
            result.missing.append(rel)
            continue
        if current != content:
            result.stale.append(rel)
        elif stats is not None:
            stats[rel] = stat
    result.extra = [rel for rel in _owned(root) if rel not in expected]
    return result


def _index_file(root: Path, contracts_dir: Path) -> Path:
    from gdx.contracts.cache import default_dir
    from gdx.contracts.stat_index import index_path

    return index_path(default_dir(), root, contracts_dir)


def _in_sync_by_index(root: Path, contracts_dir: Path, cache: bool) -> bool:
    """True when the stat index proves the tree unchanged since it was last in sync (see
    `gdx.contracts.stat_index`); False means "don't know": run the full check."""
    from gdx.contracts import stat_index
    from gdx.contracts.cache import enabled_by_env
    from gdx.contracts.model import contract_rels

    if not (cache and enabled_by_env()):
        return False
    path = _index_file(root, contracts_dir)
    index = stat_index.load(path)
    if index is None:
        return False
    now_ns = time.time_ns()
    in_sync, refreshed = stat_index.verify(
        index,
        generate_version(),
        contracts_dir,
        contract_rels(contracts_dir),
        root,
        lambda: _owned_set(root),
        now_ns,
    )
    if refreshed:
        stat_index.save(path, index)
    return in_sync


def _full(
    root: Path, contracts_dir: Path, cache: bool
) -> tuple[_Run, dict[str, bytes], GenerateResult, dict]:
    run = _Run(cache)
    expected = _expected_from_entries(_entries(contracts_dir, run), run)
    stats: dict[str, list[int]] = {}
    result = _plan(root, expected, stats)
    run.prune(contracts_dir)  # every current contract was looked up: the rest can go
    return run, expected, result, stats


def _record(run: _Run, root: Path, contracts_dir: Path, expected: dict[str, bytes], stats: dict) -> None:
    """Save the stat index of a tree now in sync (`stats`: the generated files read and found equal;
    files just written get none, so the next check hashes them)."""
    from gdx.contracts import stat_index
    from gdx.contracts.cache import digest

    if not run.contracts.enabled:
        return
    generated = {rel: [digest(data), stats.get(rel)] for rel, data in expected.items()}
    index = stat_index.build(run.version, run.started_ns, run.seen, generated)
    stat_index.save(_index_file(root, contracts_dir), index)


def plan(
    root: Path | str | None = None, contracts_dir: Path | str | None = None, cache: bool = True
) -> GenerateResult:
    """Compare the files under `root` (the repo) with what the contracts generate; writes nothing
    but the cache (and the stat index that makes the next check of an unchanged tree stat-only)."""
    root, contracts_dir = _paths(root, contracts_dir)
    if _in_sync_by_index(root, contracts_dir, cache):
        return GenerateResult()
    run, expected, result, stats = _full(root, contracts_dir, cache)
    if result.clean:
        _record(run, root, contracts_dir, expected, stats)
    return result


def generate(
    check: bool = False,
    root: Path | str | None = None,
    contracts_dir: Path | str | None = None,
    cache: bool = True,
) -> list[str]:
    """Write all artefacts under `root` (the repo) and return the paths created, rewritten or removed.

    With `check`, write nothing and return the paths that are missing, stale or extra (empty = in
    sync); `plan()` tells which is which. Per-contract exporter values are cached by content
    (`gdx.contracts.cache`) and an unchanged tree is recognised by its stat index
    (`gdx.contracts.stat_index`); `cache=False` recomputes everything.
    """
    if check:
        return plan(root, contracts_dir, cache).changed
    root, contracts_dir = _paths(root, contracts_dir)
    if _in_sync_by_index(root, contracts_dir, cache):
        return []
    run, expected, result, stats = _full(root, contracts_dir, cache)
    for rel in result.missing + result.stale:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(expected[rel])
    for rel in result.extra:
        (root / rel).unlink()
    _record(run, root, contracts_dir, expected, stats)
    return result.changed
