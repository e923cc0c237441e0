"""The stat index of `gdx contracts generate --check`: an unchanged tree is checked by stat calls
alone, and every change of a contract or of a generated file is still found."""

from __future__ import annotations

import builtins
import io
import os
import shutil
from pathlib import Path

import pytest

from gdx.contracts import generate as generate_mod
from gdx.contracts import stat_index
from gdx.settings import REPO_ROOT

KEEP = ("pcd", "gistda", "dla", "ref")
EDITED = "contracts/_generated/pcd/air_quality_hourly/jsonschema.json"


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository-shaped copy with a few real contracts, generated once (so in sync)."""
    for agency in KEEP:
        shutil.copytree(REPO_ROOT / "contracts" / agency, tmp_path / "contracts" / agency)
    monkeypatch.setenv("GDX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GDX_CONTRACTS_CACHE", raising=False)
    assert generate_mod.generate(root=tmp_path, contracts_dir=tmp_path / "contracts")
    return tmp_path


@pytest.fixture
def full_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One item per full check (contracts parsed or the cache read): the work the index avoids."""
    runs: list[str] = []
    real = generate_mod._full

    def spy(*args: object, **kwargs: object) -> object:
        runs.append("full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(generate_mod, "_full", spy)
    return runs


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file opened (pathlib's open goes through io.open; builtins.open for plain paths)."""
    paths: list[Path] = []
    real = io.open

    def spy(file: object, *args: object, **kwargs: object) -> object:
        if isinstance(file, str | os.PathLike):
            paths.append(Path(file))
        return real(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(io, "open", spy)
    monkeypatch.setattr(builtins, "open", spy)
    return paths


def _check(tree: Path) -> generate_mod.GenerateResult:
    return generate_mod.plan(tree, tree / "contracts")


def _settle(tree: Path) -> None:
    """Age every file past the racy window, as a tree edited a while ago is."""
    old = os.stat(tree).st_mtime_ns - 10 * stat_index.RACY_NS
    for path in tree.rglob("*"):
        if path.is_file() and "state" not in path.relative_to(tree).parts:
            os.utime(path, ns=(old, old))


def test_unchanged_tree_is_checked_without_reading_anything(
    tree: Path, full_runs: list[str], opened: list[Path]
) -> None:
    _settle(tree)
    assert _check(tree).clean  # files just written have no stat yet: hashed once, stats saved
    assert full_runs == []
    opened.clear()
    assert _check(tree).clean
    assert generate_mod.generate(check=True, root=tree, contracts_dir=tree / "contracts") == []
    assert generate_mod.generate(root=tree, contracts_dir=tree / "contracts") == []
    assert full_runs == []
    # stat calls only: no contract, generated file or cache entry was read
    assert [p for p in opened if tree in p.parents and "generate-index" not in p.parts] == []


def _edit_generated(tree: Path) -> list[str]:
    path = tree / EDITED
    path.write_text(path.read_text(encoding="utf-8").replace('"', "'", 1), encoding="utf-8")
    return [EDITED]


def _delete_generated(tree: Path) -> list[str]:
    (tree / "dags/ingest_pcd.py").unlink()
    return ["dags/ingest_pcd.py"]


def _extra_file(tree: Path) -> list[str]:
    (tree / "dags/ingest_old__gone.py").write_text("x = 1\n")
    return ["dags/ingest_old__gone.py"]


def _hidden_extra(tree: Path) -> list[str]:
    (tree / "contracts/_generated/pcd/.old").mkdir()
    (tree / "contracts/_generated/pcd/.old/catalog.json").write_text("{}\n")
    return ["contracts/_generated/pcd/.old/catalog.json"]


def _edit_contract(tree: Path) -> list[str]:
    path = tree / "contracts/dla/municipal_waste_monthly.yaml"
    text = path.read_text(encoding="utf-8")
    assert "Pilot: Phetchaburi" in text
    path.write_text(
        text.replace("Pilot: Phetchaburi", "Pilot: Phetchaburi and Ratchaburi", 1), encoding="utf-8"
    )
    return ["contracts/_generated/dla/municipal_waste_monthly/catalog.json"]


def _delete_contract(tree: Path) -> list[str]:
    (tree / "contracts/dla/municipal_waste_monthly.yaml").unlink()
    return ["contracts/_generated/dla/municipal_waste_monthly/catalog.json"]


def _add_contract(tree: Path) -> list[str]:
    src = tree / "contracts/dla/municipal_waste_monthly.yaml"
    text = src.read_text(encoding="utf-8").replace("municipal_waste_monthly", "municipal_waste_copy")
    (tree / "contracts/dla/municipal_waste_copy.yaml").write_text(text, encoding="utf-8")
    return ["contracts/_generated/dla/municipal_waste_copy/catalog.json"]


@pytest.mark.parametrize(
    "change",
    [
        _edit_generated,
        _delete_generated,
        _extra_file,
        _hidden_extra,
        _edit_contract,
        _delete_contract,
        _add_contract,
    ],
)
def test_every_change_is_found(tree: Path, full_runs: list[str], change: object) -> None:
    _settle(tree)
    assert _check(tree).clean and _check(tree).clean  # the index now holds every stat
    expected_in_changes = change(tree)  # type: ignore[operator]
    result = _check(tree)
    assert full_runs == ["full"]
    assert not result.clean
    assert set(expected_in_changes) <= set(result.changed), result
    # and the index does not hide it from the next check either
    assert set(expected_in_changes) <= set(_check(tree).changed)
    assert generate_mod.generate(root=tree, contracts_dir=tree / "contracts")
    assert _check(tree).clean


def test_edit_that_keeps_size_and_mtime_is_found(tree: Path, full_runs: list[str]) -> None:
    _settle(tree)
    assert _check(tree).clean and _check(tree).clean
    path = tree / EDITED
    before = os.stat(path)
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"', b"'", 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime put back by hand
    assert os.stat(path).st_size == before.st_size and os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert _check(tree).stale == [EDITED]  # the ctime moved
    assert full_runs == ["full"]


@pytest.mark.parametrize("racy_ns", [stat_index.RACY_NS, 0])
def test_racy_stat_is_not_trusted(
    tree: Path, full_runs: list[str], monkeypatch: pytest.MonkeyPatch, racy_ns: int
) -> None:
    # a filesystem where only size and mtime tell a write (no ctime/inode to help): an edit of the
    # same size within the timestamp tick of the recorded stat leaves the stat unchanged
    monkeypatch.setattr(generate_mod, "stat_key", lambda st: [st.st_size, st.st_mtime_ns])
    monkeypatch.setattr(stat_index, "RACY_NS", racy_ns)
    path = tree / EDITED
    os.utime(path)  # written just now: the full check records a stat within the racy window
    (index,) = (tree / "state").rglob("generate-index/*.json")
    index.unlink()
    assert _check(tree).clean
    recorded = os.stat(path).st_mtime_ns
    path.write_bytes(path.read_bytes().replace(b'"', b"'", 1))
    os.utime(path, ns=(recorded, recorded))
    if racy_ns:
        assert _check(tree).stale == [EDITED]
        assert full_runs == ["full", "full"]
    else:  # the control: without the racy rule this edit would pass unseen
        assert _check(tree).clean
        assert full_runs == ["full"]


def test_generator_version_change_is_a_full_check(
    tree: Path, full_runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _settle(tree)
    assert _check(tree).clean
    real = generate_mod.generate_version
    monkeypatch.setattr(generate_mod, "generate_version", lambda: real() + "-next")
    assert _check(tree).clean
    assert full_runs == ["full"]


@pytest.mark.parametrize("garbage", [b"", b"{", b"[]", b'{"format": 1, "version": 3}'])
def test_damaged_index_is_no_index(tree: Path, full_runs: list[str], garbage: bytes) -> None:
    assert _check(tree).clean
    (index,) = (tree / "state").rglob("generate-index/*.json")
    index.write_bytes(garbage)
    _edit_generated(tree)
    assert _check(tree).stale == [EDITED]
    assert full_runs == ["full"]


def test_no_cache_ignores_the_index(tree: Path, full_runs: list[str]) -> None:
    assert generate_mod.plan(tree, tree / "contracts", cache=False).clean
    assert full_runs == ["full"]


def test_string_globs_match_pathlib(tree: Path) -> None:
    """The index compares sets found by glob.glob; the full check lists with pathlib: same files."""
    from gdx.contracts.model import contract_paths, contract_rels

    contracts = tree / "contracts"
    (contracts / "_drafts").mkdir()
    (contracts / "_drafts/x.yaml").write_text("x: 1\n")
    (contracts / ".hidden").mkdir()
    (contracts / ".hidden/y.yaml").write_text("y: 1\n")
    _hidden_extra(tree)
    _extra_file(tree)
    assert contract_rels(contracts) == {
        p.relative_to(contracts).as_posix() for p in contract_paths(contracts)
    }
    assert ".hidden/y.yaml" in contract_rels(contracts)
    assert generate_mod._owned_set(tree) == set(generate_mod._owned(tree))
    assert "contracts/_generated/pcd/.old/catalog.json" in generate_mod._owned_set(tree)
