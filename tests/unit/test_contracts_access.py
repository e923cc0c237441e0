"""Read grants in contracts (ODCS `roles`) and the lint rules that keep them honest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gdx.agencies import load_agencies
from gdx.contracts.lint import _access_findings, lint_file
from gdx.contracts.model import ContractError, load_all, parse_contract
from gdx.settings import REPO_ROOT

CONTRACTS = REPO_ROOT / "contracts"


def _doc(contract_id: str) -> dict[str, Any]:
    agency, dataset = contract_id.split(".")
    return yaml.safe_load((CONTRACTS / agency / f"{dataset}.yaml").read_text(encoding="utf-8"))


def _grant(agency: str, **custom: Any) -> dict[str, Any]:
    role: dict[str, Any] = {"role": f"agency.{agency}", "access": "read"}
    if custom:
        role["customProperties"] = [{"property": k, "value": v} for k, v in custom.items()]
    return role


def test_registry_lists_every_owner_agency() -> None:
    agencies = load_agencies(CONTRACTS)
    for contract in load_all(CONTRACTS).values():
        assert contract.agency in agencies or contract.agency == "ref", contract.id


def test_shipped_grants() -> None:
    contracts = load_all(CONTRACTS)
    debt = contracts["moi.informal_debt_cases"]
    assert debt.readers == ("dopa",) and debt.may_read("moi") and debt.may_read("dopa")
    assert not debt.may_read("pcd") and debt.disclosure_threshold == 5
    assert contracts["pcd.air_quality_hourly"].readers == ("gistda",)
    assert contracts["dla.municipal_waste_monthly"].readers == ()


def test_personal_data_needs_an_explicit_grant(tmp_path: Path) -> None:
    doc = _doc("moi.informal_debt_cases")
    doc["roles"] = [_grant("dopa"), _grant("nso", personalData=True)]
    contract = parse_contract(doc, tmp_path / "x.yaml")
    assert contract.readers == ("nso",)  # the implicit grant to dopa does not count
    findings = _access_findings(contract, "x.yaml", [], CONTRACTS)
    assert [f.rule for f in findings] == ["access"]
    assert "agency.dopa" in findings[0].message and "personalData: true" in findings[0].message


def test_unknown_and_owner_grants_are_findings(tmp_path: Path) -> None:
    doc = _doc("pcd.air_quality_hourly")
    doc["roles"] = [_grant("nobody"), _grant("pcd"), {"role": "steward", "access": "write"}]
    contract = parse_contract(doc, tmp_path / "x.yaml")
    messages = [f.message for f in _access_findings(contract, "x.yaml", [], CONTRACTS)]
    assert any("agency.nobody is not in the agencies registry" in m for m in messages)
    assert any("agency.pcd owns the dataset" in m for m in messages)


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ([{"role": "agency.dopa", "access": "write"}], "only read"),
        ([_grant("dopa", personalData="yes")], "personalData must be true or false"),
        ("agency.dopa", "roles must be a list"),
    ],
)
def test_malformed_grants_are_refused(tmp_path: Path, roles: Any, message: str) -> None:
    doc = _doc("moi.informal_debt_cases")
    doc["roles"] = roles
    with pytest.raises(ContractError, match=message):
        parse_contract(doc, tmp_path / "x.yaml")


@pytest.mark.parametrize("threshold", [0, -3, 2.5, True, "5"])
def test_disclosure_threshold_must_be_a_positive_whole_number(tmp_path: Path, threshold: Any) -> None:
    doc = _doc("moi.informal_debt_cases")
    next(c for c in doc["customProperties"] if c["property"] == "disclosureThreshold")["value"] = threshold
    with pytest.raises(ContractError, match="disclosureThreshold"):
        parse_contract(doc, tmp_path / "x.yaml")


def test_shipped_contracts_with_grants_lint_clean() -> None:
    for path in (CONTRACTS / "moi" / "informal_debt_cases.yaml", CONTRACTS / "pcd" / "air_quality_hourly.yaml"):
        assert lint_file(path, CONTRACTS, odcs=False) == []
