"""CKAN package dict of a contract, shaped like a data.go.th (GD-Catalog) dataset.

CKAN core fields (name, title, notes, owner_org, maintainer, maintainer_email, tags), the
GD-Catalog scheming fields flattened as top-level keys (data_type, objective, …, as the
contract's `gdCatalog` lists them), and GDX fields (access_level, contract_id, contract_version,
kafka_topic, pilot_provinces, …) that the catalog service uses to link the dataset to its data.
"""

from __future__ import annotations

import re
from typing import Any

from gdx.contracts.exporters._common import one_line, per_contract
from gdx.contracts.model import Contract

_CORE = ("name", "title", "title_en", "notes", "owner_org", "maintainer", "maintainer_email", "tags")


def slug(contract: Contract) -> str:
    """URL-safe CKAN name: lower-case ascii, digits, '-' (CKAN allows 2–100 of [a-z0-9_-])."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{contract.agency}-{contract.dataset}".lower()).strip("-")[:100]


def _notes(contract: Contract) -> str:
    parts = []
    for key, label in (
        ("purpose", ""),
        ("usage", "การใช้งาน / Usage: "),
        ("limitations", "ข้อจำกัด / Limitations: "),
    ):
        text = one_line(contract.description.get(key))
        if text:
            parts.append(label + text)
    return "\n\n".join(parts)


@per_contract
def to_catalog(contract: Contract) -> dict[str, Any]:
    """The dataset's catalog entry (CKAN package dict); cached per contract."""
    owner = contract.owner_agency
    package: dict[str, Any] = {
        "name": slug(contract),
        "title": contract.title_th,
        "title_en": contract.title_en,
        "notes": _notes(contract),
        "owner_org": str(owner.get("code") or contract.agency),
        "maintainer": str(owner.get("name_th") or owner.get("name_en") or contract.agency),
        "maintainer_email": str(owner.get("email") or ""),
        "tags": [{"name": str(tag)} for tag in contract.tags],
    }
    for key, value in contract.gd_catalog.items():
        if key not in _CORE:
            package[key] = value
    package.update(
        {
            "access_level": contract.access_level,
            # statistical disclosure control of the public marts (dbt reads both from here)
            "personal_data": contract.holds_personal_data,
            "disclosure_threshold": contract.disclosure_threshold,
            "contract_id": contract.id,
            "contract_version": contract.version,
            "contract_status": contract.status,
            "kafka_topic": contract.topic or None,
            "pilot_provinces": list(contract.pilot_provinces),
            "agency": contract.agency,
            "dataset": contract.dataset,
            "owner_org_title": str(owner.get("name_th") or ""),
            "owner_org_title_en": str(owner.get("name_en") or ""),
            "domain": contract.domain,
            "is_seed": contract.is_seed,
            "freshness_hours": round(contract.freshness.total_seconds() / 3600, 2)
            if contract.freshness
            else None,
            "columns": [
                {
                    "name": p.landed_name,
                    "type": p.logical_type,
                    "required": p.required,
                    "description": one_line(p.description),
                    "unit": p.unit,
                    "enum": list(p.enum) if p.enum is not None else None,
                    "pii": p.pii,
                }
                for p in contract.properties
            ],
        }
    )
    return package
