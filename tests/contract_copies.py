"""A throwaway copy of the contracts folder that a test may edit (e.g. to widen a read grant)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from gdx.agencies import agencies_seed_path
from gdx.settings import REPO_ROOT

CONTRACTS = REPO_ROOT / "contracts"


def copy_contracts(dest: Path) -> Path:
    """Copy `contracts/` (without `_generated/`) and the agencies seed under `dest`; return the
    copy's contracts folder. The seed sits where `gdx.agencies` looks for it (the parent's
    `dbt_project/seeds/`), so the copy is a complete registry + contracts for `load_all`."""
    contracts = dest / "contracts"
    shutil.copytree(CONTRACTS, contracts, ignore=shutil.ignore_patterns("_generated"))
    seed = agencies_seed_path(CONTRACTS)
    target = dest / seed.relative_to(REPO_ROOT)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(seed, target)
    return contracts


def read_grant(agency: str, **custom: Any) -> dict[str, Any]:
    """An ODCS `roles` entry granting `agency` read access (`personal_data=True` → personalData)."""
    role: dict[str, Any] = {"role": f"agency.{agency}", "access": "read"}
    if custom:
        role["customProperties"] = [{"property": k, "value": v} for k, v in custom.items()]
    return role


def set_roles(contracts_dir: Path, contract_id: str, roles: list[dict[str, Any]]) -> Path:
    """Replace the `roles` of one contract file of a copy; returns the file."""
    agency, dataset = contract_id.split(".")
    path = contracts_dir / agency / f"{dataset}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["roles"] = roles
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
