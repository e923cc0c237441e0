"""Compatibility of contract versions: BACKWARD / FORWARD / FULL (+ transitive) / NONE, with reasons."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from gdx.contracts.compat import (
    check_against_history,
    check_compat,
    is_compatible,
    load_history,
    schema_violations,
)
from gdx.contracts.model import Contract, parse_contract

BASE_PROPS: list[dict[str, Any]] = [
    {
        "name": "id",
        "logicalType": "string",
        "required": True,
        "primaryKey": True,
        "primaryKeyPosition": 1,
        "logicalTypeOptions": {"pattern": "^[0-9]+$", "maxLength": 10},
    },
    {
        "name": "kind",
        "logicalType": "string",
        "required": True,
        "customProperties": [{"property": "enum", "value": ["a", "b", "c"]}],
    },
    {
        "name": "amount",
        "logicalType": "integer",
        "required": False,
        "logicalTypeOptions": {"minimum": 0, "maximum": 100},
    },
    {"name": "note", "logicalType": "string", "required": False, "logicalTypeOptions": {"maxLength": 50}},
]


def make(
    version: str = "1.0.0", props: list[dict[str, Any]] | None = None, mode: str = "BACKWARD"
) -> Contract:
    major = version.split(".")[0]
    doc = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "test.things",
        "version": version,
        "schema": [
            {"name": "things", "properties": copy.deepcopy(props if props is not None else BASE_PROPS)}
        ],
        "customProperties": [
            {"property": "agency", "value": "test"},
            {"property": "dataset", "value": "things"},
            {"property": "titleTh", "value": "สิ่งของ"},
            {"property": "titleEn", "value": "Things"},
            {"property": "kafkaTopic", "value": f"gdx.test.things.v{major}"},
            {"property": "compatibility", "value": mode},
        ],
    }
    return parse_contract(doc)


def changed(**changes: dict[str, Any] | None) -> list[dict[str, Any]]:
    """BASE_PROPS with per-property replacements (None deletes), plus new properties."""
    props = copy.deepcopy(BASE_PROPS)
    by_name = {p["name"]: p for p in props}
    for name, change in changes.items():
        if change is None:
            props.remove(by_name[name])
        elif name in by_name:
            by_name[name].update(change)
        else:
            props.append({"name": name, **change})
    return props


def reasons(old: Contract, new: Contract, mode: str) -> list[str]:
    return [v.reason for v in schema_violations(old, new, mode)]


# (change, BACKWARD violations, FORWARD violations) — one concrete pair per kind of change
CASES: list[tuple[str, list[dict[str, Any]], list[str], list[str]]] = [
    ("add optional", changed(extra={"logicalType": "string"}), [], []),
    (
        "add required",
        changed(extra={"logicalType": "string", "required": True}),
        ["added required property extra"],
        [],
    ),
    ("delete optional", changed(note=None), [], []),
    ("delete required", changed(kind=None), [], ["removed required property kind"]),
    ("optional→required", changed(amount={"required": True}), ["made property amount required"], []),
    ("required→optional", changed(kind={"required": False}), [], ["made property kind optional"]),
    (
        "narrow enum",
        changed(kind={"customProperties": [{"property": "enum", "value": ["a"]}]}),
        ["narrowed enum kind (removed: b, c)"],
        [],
    ),
    (
        "widen enum",
        changed(kind={"customProperties": [{"property": "enum", "value": ["a", "b", "c", "d"]}]}),
        [],
        ["widened enum kind (added: d)"],
    ),
    (
        "narrow range",
        changed(amount={"logicalTypeOptions": {"minimum": 10, "maximum": 90}}),
        ["narrowed range of amount: minimum 0→10", "narrowed range of amount: maximum 100→90"],
        [],
    ),
    (
        "widen range",
        changed(amount={"logicalTypeOptions": {"minimum": -5}}),
        [],
        ["widened range of amount: minimum 0→-5", "widened range of amount: removed maximum 100"],
    ),
    (
        "narrow maxLength",
        changed(note={"logicalTypeOptions": {"maxLength": 20}}),
        ["narrowed length of note: maxLength 50→20"],
        [],
    ),
    (
        "widen maxLength",
        changed(note={"logicalTypeOptions": {"maxLength": 80}}),
        [],
        ["widened length of note: maxLength 50→80"],
    ),
    (
        "change pattern",
        changed(id={"logicalTypeOptions": {"pattern": "^[A-Z]+$", "maxLength": 10}}),
        ["changed pattern of id: ^[0-9]+$ → ^[A-Z]+$"],
        ["changed pattern of id: ^[0-9]+$ → ^[A-Z]+$"],
    ),
    (
        "integer→number",
        changed(amount={"logicalType": "number"}),
        [],
        ["type changed integer→number (old readers expect integer)"],
    ),
    (
        "integer→string",
        changed(amount={"logicalType": "string", "logicalTypeOptions": {}}),
        ["type changed integer→string"],
        ["type changed integer→string"],
    ),
]


@pytest.mark.parametrize(("label", "props", "backward", "forward"), CASES, ids=[c[0] for c in CASES])
def test_modes(label: str, props: list[dict[str, Any]], backward: list[str], forward: list[str]) -> None:
    old, new = make("1.0.0"), make("1.1.0", props)

    def starts(found: list[str], expected: list[str]) -> None:
        assert len(found) == len(expected), found
        for reason, prefix in zip(found, expected, strict=True):
            assert reason.startswith(prefix), (reason, prefix)

    starts(reasons(old, new, "BACKWARD"), backward)
    starts(reasons(old, new, "FORWARD"), forward)
    full = reasons(old, new, "FULL")
    assert len(full) == len(backward) + len(forward)
    assert reasons(old, new, "NONE") == []


def test_every_violation_is_listed_with_its_property() -> None:
    props = changed(
        kind={"customProperties": [{"property": "enum", "value": ["a"]}]},
        amount={"logicalType": "string", "logicalTypeOptions": {}},
        extra={"logicalType": "string", "required": True},
    )
    violations = check_compat(make(), make("1.1.0", props), "BACKWARD")
    paths = [v.path for v in violations if v.rule != "major-required"]
    assert paths == ["properties.extra", "properties.kind", "properties.amount"]
    assert all(
        v.direction == "BACKWARD" and v.against == "1.0.0"
        for v in violations
        if v.path.startswith("properties")
    )
    major = [v for v in violations if v.rule == "major-required"]
    assert major and "2.0.0" in major[0].reason and "gdx.test.things.v2" in major[0].reason
    assert not is_compatible(violations)


def test_default_mode_is_the_new_contracts() -> None:
    props = changed(kind=None)  # breaks FORWARD only
    assert is_compatible(check_compat(make(), make("1.1.0", props, mode="BACKWARD")))
    assert not is_compatible(check_compat(make(), make("1.1.0", props, mode="FORWARD")))


def test_major_bump_makes_it_info() -> None:
    new = make("2.0.0", changed(kind=None, extra={"logicalType": "string", "required": True}), mode="FULL")
    violations = check_compat(make(), new)
    assert is_compatible(violations)
    assert violations[0].rule == "major-bump" and "not required" in violations[0].reason
    assert {v.severity for v in violations} == {"info"}
    assert len(violations) == 3


def test_topic_change_without_major_bump() -> None:
    new = make("1.1.0")
    new = parse_contract(
        {
            **new.raw,
            "customProperties": [
                *(c for c in new.raw["customProperties"] if c["property"] != "kafkaTopic"),
                {"property": "kafkaTopic", "value": "gdx.test.things.v9"},
            ],
        }
    )
    assert any(v.rule == "topic" for v in check_compat(make(), new))


# --- transitive ----------------------------------------------------------------------------


def _history() -> tuple[Contract, Contract]:
    v1 = make(
        "1.0.0", changed(kind={"customProperties": [{"property": "enum", "value": ["a", "b", "c", "d"]}]})
    )
    v11 = make("1.1.0")  # removed d: BACKWARD violation against 1.0.0 (accepted back then under NONE)
    return v1, v11


def test_transitive_catches_an_earlier_version() -> None:
    v1, v11 = _history()
    v12 = make("1.2.0", changed(extra={"logicalType": "string"}))  # compatible with 1.1.0, not with 1.0.0
    assert is_compatible(check_against_history(v12, [v1, v11], "BACKWARD"))
    violations = check_against_history(v12, [v11, v1], "BACKWARD_TRANSITIVE")
    assert not is_compatible(violations)
    enum = [v for v in violations if v.rule == "enum"]
    assert [(v.against, v.reason) for v in enum] == [("1.0.0", "narrowed enum kind (removed: d)")]
    assert any(v.rule == "major-required" for v in violations)


@pytest.mark.parametrize(
    ("mode", "compatible_latest", "compatible_all"),
    [
        ("FORWARD", True, True),
        ("FULL", True, False),
        ("FORWARD_TRANSITIVE", True, True),
        ("FULL_TRANSITIVE", True, False),
    ],
)
def test_transitive_modes(mode: str, compatible_latest: bool, compatible_all: bool) -> None:
    v1, v11 = _history()
    v12 = make("1.2.0")
    base = mode.removesuffix("_TRANSITIVE")
    assert is_compatible(check_against_history(v12, [v1, v11], base)) is compatible_latest
    assert is_compatible(check_against_history(v12, [v1, v11], f"{base}_TRANSITIVE")) is compatible_all


def test_transitive_ignores_earlier_majors_and_newer_versions() -> None:
    v1, v11 = _history()
    v2 = make("2.0.0")
    v21 = make("2.1.0", changed(extra={"logicalType": "string"}))
    v3 = make("3.0.0")
    assert check_against_history(v21, [v1, v11, v2, v3], "FULL_TRANSITIVE") == []
    assert check_against_history(v1, [v11, v2], "FULL_TRANSITIVE") == []  # nothing earlier


def test_none_mode() -> None:
    assert (
        check_compat(make(), make("1.1.0", changed(kind=None, amount={"logicalType": "string"})), "NONE")
        == []
    )


def test_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown compatibility mode"):
        check_compat(make(), make("1.1.0"), "SIDEWAYS")


# --- history folder and CLI ----------------------------------------------------------------


def _write(path: Path, contract: Contract) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(contract.raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_load_history(tmp_path: Path) -> None:
    v1, v11 = _history()
    _write(tmp_path / "_history/test/things/1.1.0.yaml", v11)
    _write(tmp_path / "_history/test/things/1.0.0.yaml", v1)
    assert [c.version for c in load_history(make("1.2.0"), tmp_path)] == ["1.0.0", "1.1.0"]


def test_cli_compat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gdx.cli import app

    monkeypatch.setenv("GDX_CONTRACTS_DIR", str(tmp_path))
    runner = CliRunner()
    v1, v11 = _history()
    _write(tmp_path / "_history/test/things/1.0.0.yaml", v1)
    old = _write(tmp_path / "test/things.yaml", v11)
    ok = _write(tmp_path / "new/ok.yaml", make("1.2.0", changed(extra={"logicalType": "string"})))
    bad = _write(
        tmp_path / "new/bad.yaml",
        make("1.2.0", changed(kind=None, extra={"logicalType": "string", "required": True})),
    )

    result = runner.invoke(app, ["contracts", "compat", str(old), str(ok)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["contracts", "compat", str(old), str(bad), "--mode", "FULL"])
    assert result.exit_code == 1
    assert (
        "added required property extra" in result.output and "removed required property kind" in result.output
    )
    result = runner.invoke(app, ["contracts", "compat", str(old), str(ok), "--mode", "BACKWARD_TRANSITIVE"])
    assert result.exit_code == 1 and "narrowed enum kind (removed: d)" in result.output
    result = runner.invoke(app, ["contracts", "compat", str(old), str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "cannot read" in result.output
    result = runner.invoke(app, ["contracts", "compat", str(old), str(ok), "--mode", "SIDEWAYS"])
    assert result.exit_code == 2
