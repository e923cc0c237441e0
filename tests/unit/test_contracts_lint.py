"""Contract linting: every repo contract passes datacontract-cli and GDX rules; each rule has a failing case."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gdx.contracts.lint import Finding, lint, lint_file
from gdx.contracts.model import contract_paths
from gdx.settings import REPO_ROOT

CONTRACTS_DIR = REPO_ROOT / "contracts"
CONTRACT_FILES = contract_paths(CONTRACTS_DIR)
EXEMPLAR = CONTRACTS_DIR / "pcd" / "air_quality_hourly.yaml"


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_datacontract_cli_lint_passes(path: Path) -> None:
    """`datacontract lint`, through its Python API, offline."""
    from datacontract.data_contract import DataContract

    run = DataContract(data_contract_file=str(path)).lint()
    failures = [(c.name, c.reason) for c in run.checks if getattr(c.result, "value", c.result) != "passed"]
    assert failures == []
    assert getattr(run.result, "value", run.result) == "passed"


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_gdx_lint_passes(path: Path) -> None:
    assert lint_file(path, CONTRACTS_DIR, odcs=False) == []


def test_lint_all_default_is_clean() -> None:
    assert lint(odcs=False) == []


# --- one failing fixture per rule ------------------------------------------------------------


def _exemplar() -> dict[str, Any]:
    return yaml.safe_load(EXEMPLAR.read_text(encoding="utf-8"))


def _custom(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return next(item for item in doc["customProperties"] if item["property"] == key)


def _prop(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in doc["schema"][0]["properties"] if p["name"] == name)


def _set_gd(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        if value is None:
            del _custom(doc, "gdCatalog")["value"][key]
        else:
            _custom(doc, "gdCatalog")["value"][key] = value

    return change


def _rename_property(doc: dict[str, Any]) -> None:
    _prop(doc, "pm25")["name"] = "PM25"


def _wrong_topic(doc: dict[str, Any]) -> None:
    _custom(doc, "kafkaTopic")["value"] = "pcd.air_quality_hourly"


def _wrong_id(doc: dict[str, Any]) -> None:
    doc["id"] = "pcd.air_quality"


def _citizen_without_pii(doc: dict[str, Any]) -> None:
    doc["schema"][0]["properties"].append(
        {
            "name": "citizen_id",
            "logicalType": "string",
            "customProperties": [{"property": "semanticType", "value": "thai_citizen_id"}],
        }
    )


def _no_primary_key(doc: dict[str, Any]) -> None:
    for p in doc["schema"][0]["properties"]:
        p.pop("primaryKey", None)
        p.pop("primaryKeyPosition", None)


def _no_freshness(doc: dict[str, Any]) -> None:
    doc["slaProperties"] = [s for s in doc["slaProperties"] if s["property"] != "freshness"]


def _empty_enum(doc: dict[str, Any]) -> None:
    _prop(doc, "province_raw")["customProperties"] = [{"property": "enum", "value": []}]


def _enum_wrong_type(doc: dict[str, Any]) -> None:
    _prop(doc, "aqi")["customProperties"] = [{"property": "enum", "value": ["high", 1]}]


def _min_gt_max(doc: dict[str, Any]) -> None:
    _prop(doc, "pm25")["logicalTypeOptions"] = {"minimum": 100, "maximum": 10}


def _min_length_gt_max_length(doc: dict[str, Any]) -> None:
    _prop(doc, "station_name_th")["logicalTypeOptions"] = {"minLength": 10, "maxLength": 2}


def _odcs_invalid(doc: dict[str, Any]) -> None:
    _prop(doc, "aqi")["logicalType"] = "int"
    _custom(doc, "gdCatalog")  # model fails too: the ODCS finding must still be reported


def _seed_with_topic(doc: dict[str, Any]) -> None:
    doc["customProperties"].append({"property": "seed", "value": True})


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("snake-case", _rename_property, "property 'PM25' is not snake_case", "name: PM25"),
    ("topic", _wrong_topic, "must be 'gdx.pcd.air_quality_hourly.v1'", "property: kafkaTopic"),
    ("id-path", _wrong_id, "id 'pcd.air_quality' must be 'pcd.air_quality_hourly'", "id: pcd.air_quality"),
    ("pii", _citizen_without_pii, "declares no pii handling", "name: citizen_id"),
    (
        "gd-catalog",
        _set_gd("license_id", None),
        "GD-Catalog field 'license_id' is missing",
        "property: gdCatalog",
    ),
    ("gd-catalog", _set_gd("objective", ""), "GD-Catalog field 'objective' is missing", "objective:"),
    (
        "gd-catalog",
        _set_gd("first_year_of_data", 2010),
        "looks like a CE year; use the Buddhist Era year 2553",
        "first_year_of_data",
    ),
    (
        "gd-catalog",
        _set_gd("first_year_of_data", 3100),
        "not a plausible Buddhist Era year",
        "first_year_of_data",
    ),
    ("primary-key", _no_primary_key, "no property is marked primaryKey", "properties:"),
    ("sla-freshness", _no_freshness, "no freshness SLA", "slaProperties:"),
    ("enum", _empty_enum, "enum is empty", "name: province_raw"),
    ("enum", _enum_wrong_type, "are not integer", "name: aqi"),
    ("range", _min_gt_max, "minimum 100 > maximum 10", "name: pm25"),
    ("range", _min_length_gt_max_length, "minLength 10 > maxLength 2", "name: station_name_th"),
    ("topic", _seed_with_topic, "a seed (reference data) has no Kafka topic", "property: kafkaTopic"),
]


def _write(
    tmp_path: Path, doc: dict[str, Any], agency: str = "pcd", dataset: str = "air_quality_hourly"
) -> Path:
    folder = tmp_path / agency
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dataset}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rule", "change", "message", "marker"), CASES, ids=[f"{c[0]}:{c[1].__name__}" for c in CASES]
)
def test_rule_fails(
    tmp_path: Path, rule: str, change: Callable[[dict[str, Any]], None], message: str, marker: str
) -> None:
    doc = _exemplar()
    change(doc)
    path = _write(tmp_path, doc)
    findings = lint_file(path, tmp_path, odcs=False)
    matching = [f for f in findings if f.rule == rule and message in f.message]
    assert matching, findings
    text_lines = path.read_text(encoding="utf-8").splitlines()
    assert matching[0].line is not None
    # the finding points at (or just above, for a nested key) the offending line
    expected = [i for i, line in enumerate(text_lines, start=1) if marker in line]
    assert expected and min(abs(matching[0].line - e) for e in expected) <= 12, (matching[0], expected)


def test_file_path_must_match_id(tmp_path: Path) -> None:
    path = _write(tmp_path, _exemplar(), agency="air", dataset="quality")
    findings = lint_file(path, tmp_path, odcs=False)
    assert [f.rule for f in findings] == ["id-path"]
    assert "contracts/pcd/air_quality_hourly.yaml" in findings[0].message


def test_model_error_becomes_a_finding(tmp_path: Path) -> None:
    doc = _exemplar()
    _prop(doc, "aqi")["logicalType"] = "int"
    path = _write(tmp_path, doc)
    findings = lint_file(path, tmp_path, odcs=False)
    assert [f.rule for f in findings] == ["model"]
    assert "logicalType 'int'" in findings[0].message and findings[0].line


def test_odcs_findings_from_datacontract_cli(tmp_path: Path) -> None:
    doc = _exemplar()
    _odcs_invalid(doc)
    doc["schema"][0]["properties"][0]["colour"] = "blue"  # ODCS allows no unknown keys here
    path = _write(tmp_path, doc)
    findings = lint_file(path, tmp_path)
    odcs = [f for f in findings if f.rule == "odcs"]
    assert odcs and all(isinstance(f, Finding) for f in odcs)
    assert any("int" in f.message and f.line for f in odcs), odcs
    assert any(f.rule == "model" for f in findings)


def test_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "pcd" / "broken.yaml"
    path.parent.mkdir()
    path.write_text("id: x\nschema: [\n", encoding="utf-8")
    findings = lint_file(path, tmp_path)
    assert [f.rule for f in findings] == ["model"] and findings[0].line == 3
