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

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from gdx.contracts.model import Contract, load_all

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


def _paths(root: Path | str | None, contracts_dir: Path | str | None) -> tuple[Path, Path]:
    from gdx.settings import REPO_ROOT, Settings

    root = Path(root) if root is not None else REPO_ROOT
    contracts_dir = Path(contracts_dir) if contracts_dir is not None else Settings.from_env().contracts_dir
    return root, contracts_dir


def plan(root: Path | str | None = None, contracts_dir: Path | str | None = None) -> GenerateResult:
    """Compare the files under `root` (the repo) with what the contracts generate; writes nothing."""
    root, contracts_dir = _paths(root, contracts_dir)
    expected = expected_files(load_all(contracts_dir))
    result = GenerateResult()
    for rel, content in sorted(expected.items()):
        target = root / rel
        if not target.exists():
            result.missing.append(rel)
        elif target.read_bytes() != content:
            result.stale.append(rel)
    for pattern in OWNED_GLOBS:
        for path in sorted(root.glob(pattern)):
            rel = path.relative_to(root).as_posix()
            if rel not in expected:
                result.extra.append(rel)
    return result


def generate(
    check: bool = False, root: Path | str | None = None, contracts_dir: Path | str | None = None
) -> list[str]:
    """Write all artefacts under `root` (the repo) and return the paths created, rewritten or removed.

    With `check`, write nothing and return the paths that are missing, stale or extra (empty = in
    sync); `plan()` tells which is which.
    """
    root, contracts_dir = _paths(root, contracts_dir)
    result = plan(root, contracts_dir)
    if check or result.clean:
        return result.changed
    expected = expected_files(load_all(contracts_dir))
    for rel in result.missing + result.stale:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(expected[rel])
    for rel in result.extra:
        (root / rel).unlink()
    return result.changed
