"""The agencies registry: who exists on the exchange.

The source of truth is the reference contract `ref.agencies` and its dbt seed
(`dbt_project/seeds/ref_agencies.csv`): every agency code there is an identity (a Kafka
principal, API tokens, ACLs). Platform principals are not agencies and live in
`gdx.security.principals`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

AGENCIES_CONTRACT = "ref.agencies"


class AgencyRegistryError(RuntimeError):
    """The agencies seed cannot be read; the message says which file and why."""


@dataclass(frozen=True)
class Agency:
    code: str
    name_th: str
    name_en: str
    email: str = ""


def agencies_seed_path(contracts_dir: Path) -> Path:
    """The seed file of `ref.agencies` (the repository is the contracts folder's parent)."""
    from gdx.contracts.model import ContractError, get_contract, load_contract

    # Lint (rule id-path) keeps a contract at contracts/<agency>/<dataset>.yaml: read that one file
    # instead of every contract (which made linting N contracts cost N x N parses).
    agency, _, dataset = AGENCIES_CONTRACT.partition(".")
    conventional = Path(contracts_dir) / agency / f"{dataset}.yaml"
    try:
        contract = load_contract(conventional)
    except ContractError:
        contract = None
    if contract is None or contract.id != AGENCIES_CONTRACT:
        contract = get_contract(AGENCIES_CONTRACT, contracts_dir)
    return Path(contracts_dir).parent / contract.seed_path


def load_agencies(contracts_dir: Path | None = None) -> dict[str, Agency]:
    """Every registered agency by code, in seed order."""
    if contracts_dir is None:
        from gdx.settings import Settings

        contracts_dir = Settings.from_env().contracts_dir
    path = agencies_seed_path(contracts_dir)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise AgencyRegistryError(f"cannot read the agencies registry {path}: {exc.strerror}") from exc
    return {
        r["code"]: Agency(r["code"], r.get("name_th", ""), r.get("name_en", ""), r.get("email", ""))
        for r in rows
        if r.get("code")
    }
