"""Data contracts: load, lint, check compatibility and generate artefacts from ODCS v3 files."""

from gdx.contracts.model import (
    Contract,
    ContractError,
    Property,
    contract_paths,
    get_contract,
    load_all,
    load_contract,
    parse_contract,
)

__all__ = [
    "Contract",
    "ContractError",
    "Property",
    "contract_paths",
    "get_contract",
    "load_all",
    "load_contract",
    "parse_contract",
]
