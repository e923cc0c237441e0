"""The fast ODCS verdict (`gdx.contracts.odcs.clean`) says clean only when datacontract-cli agrees."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gdx.contracts import odcs
from gdx.contracts.lint import lint_file
from gdx.contracts.model import compose_yaml, contract_paths
from gdx.settings import REPO_ROOT

EXEMPLAR = REPO_ROOT / "contracts" / "pcd" / "air_quality_hourly.yaml"


def _verdict(text: str) -> bool:
    return odcs.clean(text, odcs.document(compose_yaml(text)))


def _datacontract_problems(path: Path) -> list[str]:
    from datacontract.data_contract import DataContract

    with contextlib.redirect_stdout(io.StringIO()):
        run = DataContract(data_contract_file=str(path), all_errors=True).lint()
    return [c.reason or c.name for c in run.checks if getattr(c.result, "value", c.result) != "passed"]


@pytest.mark.parametrize(
    "path", contract_paths(REPO_ROOT / "contracts"), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_repo_contracts_take_the_fast_path(path: Path) -> None:
    assert _verdict(path.read_text(encoding="utf-8"))


def _props(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["schema"][0]["properties"]


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "bad logicalType": lambda d: _props(d)[0].update(logicalType="int"),
    "unknown top-level field": lambda d: d.update(madeUpField="x"),
    "wrong type": lambda d: d.update(tags="not-a-list"),
    "missing apiVersion": lambda d: d.pop("apiVersion"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_invalid_contracts_go_to_datacontract_cli(tmp_path: Path, name: str) -> None:
    doc = yaml.safe_load(EXEMPLAR.read_text(encoding="utf-8"))
    MUTATIONS[name](doc)
    path = tmp_path / "air_quality_hourly.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert not _verdict(path.read_text(encoding="utf-8"))
    odcs_findings = [f.message for f in lint_file(path, None, odcs=True) if f.rule == "odcs"]
    assert odcs_findings, f"{name}: datacontract-cli complains"
    if name == "bad logicalType":
        assert odcs_findings == _datacontract_problems(path)  # the messages are datacontract-cli's own


def test_duplicate_key_is_not_clean() -> None:
    text = EXEMPLAR.read_text(encoding="utf-8")
    assert _verdict(text)
    assert not _verdict(text.replace("\nversion:", "\nversion: 9.9.9\nversion:", 1))
