"""Content-hash cache of `gdx contracts lint` / `generate`: hits, the misses that must happen, corruption."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import yaml

from gdx.contracts import cache as cache_mod
from gdx.contracts import generate as generate_mod
from gdx.contracts import lint as lint_mod
from gdx.settings import REPO_ROOT

SEED = "dbt_project/seeds/ref_agencies.csv"
# pcd.air_quality_hourly grants gistda read access: the one contract here that reads the registry
GRANTING = "pcd/air_quality_hourly.yaml"
KEEP = ("pcd", "gistda", "dla", "ref")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository-shaped copy: some real contracts, the agencies seed, an empty state dir."""
    contracts = tmp_path / "contracts"
    for agency in KEEP:
        shutil.copytree(REPO_ROOT / "contracts" / agency, contracts / agency)
    (tmp_path / SEED).parent.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / SEED, tmp_path / SEED)
    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(contracts))
    monkeypatch.setenv("GDX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GDX_CONTRACTS_CACHE", raising=False)
    return tmp_path


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files actually linted (not answered from the cache)."""
    seen: list[str] = []
    real = lint_mod._lint_content

    def spy(path: Path, *args: object, **kwargs: object) -> dict:
        seen.append(f"{path.parent.name}/{path.name}")
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lint_mod, "_lint_content", spy)
    return seen


def _break_topic(path: Path) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    next(i for i in doc["customProperties"] if i["property"] == "kafkaTopic")["value"] = "wrong.topic"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _n_contracts(repo: Path) -> int:
    return len(list((repo / "contracts").glob("*/*.yaml")))


def test_hit_returns_identical_findings_without_linting(repo: Path, computed: list[str]) -> None:
    _break_topic(repo / "contracts/dla/municipal_waste_monthly.yaml")  # a finding to compare
    cold = lint_mod.lint(odcs=False)
    assert len(computed) == _n_contracts(repo)
    assert [f.rule for f in cold] == ["topic"]
    computed.clear()
    warm = lint_mod.lint(odcs=False)
    assert computed == []
    assert warm == cold and [str(f) for f in warm] == [str(f) for f in cold]


def test_content_change_relints_only_that_file(repo: Path, computed: list[str]) -> None:
    lint_mod.lint(odcs=False)
    computed.clear()
    _break_topic(repo / "contracts/dla/municipal_waste_monthly.yaml")
    findings = lint_mod.lint(odcs=False)
    assert computed == ["dla/municipal_waste_monthly.yaml"]
    assert [(Path(f.file).name, f.rule) for f in findings] == [("municipal_waste_monthly.yaml", "topic")]


def test_linter_version_change_relints_everything(
    repo: Path, computed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lint_mod.lint(odcs=False)
    computed.clear()
    real = lint_mod.lint_version
    monkeypatch.setattr(lint_mod, "lint_version", lambda odcs: real(odcs) + "-next")
    lint_mod.lint(odcs=False)
    assert len(computed) == _n_contracts(repo)


def test_code_digest_follows_source_bytes_and_versions(tmp_path: Path) -> None:
    module = tmp_path / "rules.py"
    module.write_text("X = 1\n")
    before = cache_mod.code_digest([module], ["PyYAML"])
    module.write_text("X = 2\n")
    assert cache_mod.code_digest([module], ["PyYAML"]) != before
    assert cache_mod.code_digest([module], ["PyYAML"]) == cache_mod.code_digest([module], ["PyYAML"])
    assert cache_mod.code_digest([module], ["PyYAML", "jsonschema"]) != cache_mod.code_digest(
        [module], ["PyYAML"]
    )


def test_agencies_seed_change_relints_the_contracts_that_read_it(repo: Path, computed: list[str]) -> None:
    assert lint_mod.lint(odcs=False) == []
    computed.clear()
    seed = repo / SEED
    with seed.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with seed.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["code"] != "gistda")
    findings = lint_mod.lint(odcs=False)
    assert computed == [GRANTING]  # contracts without read grants never read the registry
    assert [(f.rule, f.message) for f in findings] == [
        ("access", "agency.gistda is not in the agencies registry (ref.agencies)")
    ]


@pytest.mark.parametrize(
    "garbage", [b"\x00\xffnot json", b'{"format": 1, "key": "other", "value": {}}', b"{", b"[]"]
)
def test_corrupt_cache_is_ignored(repo: Path, computed: list[str], garbage: bytes) -> None:
    _break_topic(repo / "contracts/dla/municipal_waste_monthly.yaml")
    cold = lint_mod.lint(odcs=False)
    entries = list((repo / "state/cache/contracts/lint").rglob("*.json"))
    assert len(entries) == _n_contracts(repo)
    for entry in entries:
        entry.write_bytes(garbage)
    computed.clear()
    assert lint_mod.lint(odcs=False) == cold
    assert len(computed) == _n_contracts(repo)
    computed.clear()
    assert lint_mod.lint(odcs=False) == cold  # rewritten: hits again
    assert computed == []


def test_malformed_entry_value_is_a_miss(repo: Path, computed: list[str]) -> None:
    lint_mod.lint(odcs=False)
    for entry in (repo / "state/cache/contracts/lint").rglob("*.json"):
        key = entry.stem
        entry.write_text(f'{{"format": 1, "key": "{key}", "value": {{"odcs": 3}}}}')
    computed.clear()
    assert lint_mod.lint(odcs=False) == []
    assert len(computed) == _n_contracts(repo)


def test_no_cache_lints_everything_and_writes_nothing(repo: Path, computed: list[str]) -> None:
    lint_mod.lint(odcs=False, cache=False)
    lint_mod.lint(odcs=False, cache=False)
    assert len(computed) == 2 * _n_contracts(repo)
    assert not (repo / "state/cache/contracts/lint").exists()


def test_generate_cache_output_identical_and_incremental(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gdx.contracts.model import load_all

    contracts = repo / "contracts"
    uncached = generate_mod.expected_files(load_all(contracts))
    calls: list[str] = []
    real = generate_mod._contract_entry
    monkeypatch.setattr(generate_mod, "_contract_entry", lambda c: calls.append(c.id) or real(c))
    assert generate_mod.expected_files_cached(contracts) == uncached
    assert len(calls) == _n_contracts(repo)
    calls.clear()
    assert generate_mod.expected_files_cached(contracts) == uncached
    assert calls == []

    _break_topic(contracts / "dla/municipal_waste_monthly.yaml")
    changed = generate_mod.expected_files_cached(contracts)
    assert calls == ["dla.municipal_waste_monthly"]
    assert changed == generate_mod.expected_files(load_all(contracts))
    assert changed["dags/gdx_datasets.json"] != uncached["dags/gdx_datasets.json"]  # merged file rebuilt

    for entry in (repo / "state/cache/contracts").rglob("*.json"):
        entry.write_bytes(b"garbage")
    calls.clear()
    assert generate_mod.expected_files_cached(contracts) == changed
    assert len(calls) == _n_contracts(repo)


def test_json_stable_rejects_values_json_would_change() -> None:
    assert cache_mod.json_stable({"a": [1, 2.5, "x", None, True]})
    assert not cache_mod.json_stable({"a": (1, 2)})
    assert not cache_mod.json_stable({1: "int key"})
    assert not cache_mod.json_stable({"when": __import__("datetime").date(2024, 1, 1)})
