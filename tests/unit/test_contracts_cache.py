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


def _entry_files(folder: Path) -> list[Path]:
    """The cached results (not the live lists under `_live/`, nor temp files)."""
    return sorted(p for p in folder.glob("??/*.json") if not p.name.startswith("."))


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
    entries = _entry_files(repo / "state/cache/contracts/lint")
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
    for entry in _entry_files(repo / "state/cache/contracts/lint"):
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


def _keys(folder: Path) -> set[str]:
    return {p.stem for p in _entry_files(folder)}


def test_full_lint_prunes_entries_no_contract_hits(repo: Path, computed: list[str]) -> None:
    store = repo / "state/cache/contracts/lint"
    lint_mod.lint(odcs=False)
    before = _keys(store)
    assert len(before) == _n_contracts(repo)
    _break_topic(repo / "contracts/dla/municipal_waste_monthly.yaml")
    lint_mod.lint(odcs=False)
    after = _keys(store)
    # the edited file's old entry is gone, its new one is there, the rest untouched
    assert len(after) == _n_contracts(repo)
    assert len(before - after) == 1 and len(after - before) == 1
    computed.clear()
    lint_mod.lint(odcs=False)
    assert computed == []  # what was kept still hits


def test_partial_lint_prunes_nothing(repo: Path) -> None:
    store = repo / "state/cache/contracts/lint"
    lint_mod.lint(odcs=False)
    before = _keys(store)
    _break_topic(repo / "contracts/dla/municipal_waste_monthly.yaml")
    lint_mod.lint([repo / "contracts/pcd"], odcs=False)
    lint_mod.lint([repo / "contracts/dla/municipal_waste_monthly.yaml"], odcs=False)
    assert before < _keys(store)  # one run over some files says nothing about the others


def test_new_linter_version_prunes_the_old_versions_entries(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = repo / "state/cache/contracts/lint"
    lint_mod.lint(odcs=False)
    old = _keys(store)
    real = lint_mod.lint_version
    monkeypatch.setattr(lint_mod, "lint_version", lambda odcs: real(odcs) + "-next")
    _age(store)
    lint_mod.lint(odcs=False)
    assert len(_keys(store)) == _n_contracts(repo) and not old & _keys(store)


def test_other_trees_and_settings_keep_their_entries(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = repo / "state/cache/contracts/lint"
    other = repo / "other/contracts"
    shutil.copytree(repo / "contracts" / "pcd", other / "pcd")
    lint_mod.lint(odcs=False)
    mine = _keys(store)
    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(other))
    lint_mod.lint(odcs=False)
    theirs = _keys(store) - mine
    assert len(theirs) == len(list((other / "pcd").glob("*.yaml")))
    _age(store)
    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(repo / "contracts"))
    lint_mod.lint(odcs=False)
    assert _keys(store) == mine | theirs  # the other tree's live list protects its entries


def _age(folder: Path, seconds: int = 10) -> None:
    """Make every entry older than the next run's start (as entries of earlier runs are)."""
    import os
    import time

    old = time.time_ns() - seconds * 10**9
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(old, old))


def test_prune_spares_concurrent_writes_and_young_temp_files(tmp_path: Path) -> None:
    import os
    import time

    earlier = cache_mod.ContractCache("lint", root=tmp_path)
    earlier.put("a" * 64, {"v": 1})
    earlier.put("b" * 64, {"v": 2})
    _age(tmp_path / "lint")
    shard = tmp_path / "lint" / "cc"
    shard.mkdir()
    (shard / ".tmp-crashed.json").write_bytes(b"{partial")
    hour_ago = time.time_ns() - 2 * cache_mod.TMP_TTL_NS
    os.utime(shard / ".tmp-crashed.json", ns=(hour_ago, hour_ago))
    (shard / ".tmp-writing.json").write_bytes(b"{in progress")

    run = cache_mod.ContractCache("lint", root=tmp_path)
    assert run.get("a" * 64) == {"v": 1}
    concurrent = cache_mod.ContractCache("lint", root=tmp_path)
    concurrent.put("c" * 64, {"v": 3})  # another run, after this one started, not listed yet
    removed = run.prune("tree one")
    assert removed == 2  # b (nobody's) and the crashed writer's temp file
    assert _keys(tmp_path / "lint") == {"a" * 64, "c" * 64}
    assert sorted(p.name for p in shard.iterdir()) == [".tmp-writing.json", f"{'c' * 64}.json"]


def test_damaged_live_list_is_dropped_not_trusted(tmp_path: Path) -> None:
    first = cache_mod.ContractCache("lint", root=tmp_path)
    first.put("a" * 64, {"v": 1})
    first.prune("tree one")
    (manifest,) = (tmp_path / "lint/_live").iterdir()
    manifest.write_bytes(b'{"format": 1, "keys": "aaa')
    _age(tmp_path / "lint")
    second = cache_mod.ContractCache("lint", root=tmp_path)
    second.put("b" * 64, {"v": 2})
    second.prune("tree two")
    assert _keys(tmp_path / "lint") == {"b" * 64}
    assert not manifest.exists() and len(list((tmp_path / "lint/_live").iterdir())) == 1


def test_generate_prunes_what_no_contract_or_merged_file_hits(repo: Path) -> None:
    from gdx.contracts.model import load_all

    contracts = repo / "contracts"
    state = repo / "state/cache/contracts"
    generate_mod.generate(root=repo, contracts_dir=contracts)
    first = _keys(state / "generate"), _keys(state / "generate-merged")
    assert len(first[0]) == _n_contracts(repo)
    _age(state)
    _break_topic(contracts / "dla/municipal_waste_monthly.yaml")
    assert generate_mod.generate(root=repo, contracts_dir=contracts)
    second = _keys(state / "generate"), _keys(state / "generate-merged")
    assert len(second[0]) == _n_contracts(repo) and len(first[0] - second[0]) == 1
    assert first[1] - second[1] and len(second[1]) == len(first[1])  # dla's merged files replaced
    assert generate_mod.plan(repo, contracts).clean
    assert generate_mod.expected_files_cached(contracts) == generate_mod.expected_files(load_all(contracts))
