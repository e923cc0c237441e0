"""A national-scale copy of the repository: N contracts from A agencies, cloned from the real ones.

`build_scale_world(dest, 8000)` writes, under `dest`, what the repository holds for that many
datasets: `contracts/` (the real contracts plus clones of the five Kafka-bound ones, renamed to
agencies `a0001…` and datasets `<template>_<k>`), the agencies seed extended with the generated
agencies (so access rules and the catalog's organisations see them), and a copy of `dbt_project/`
and `dags/` to generate into. Nothing is hand-written to look like generated output: the benches
and tests run `gdx contracts generate` (and Airflow, dbt, the catalog) over this tree themselves.

data.go.th holds 7,712 datasets from 1,252 agencies, so the default agency count keeps that ratio
(about 6.4 datasets per agency).
"""

from __future__ import annotations

import copy
import csv
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gdx.settings import REPO_ROOT

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


DATASETS_PER_AGENCY = 7712 / 1252
TEMPLATES = (
    "pcd.air_quality_hourly",
    "gistda.fire_hotspots",
    "dla.municipal_waste_monthly",
    "dga.eservice_transactions_daily",
    "customs.border_trade_daily",
    "moi.informal_debt_cases",
)
_DBT_SKIP = {"target", "logs", "dbt_packages"}


@dataclass
class ScaleWorld:
    root: Path
    contracts_dir: Path
    agencies: list[str]
    contract_ids: list[str] = field(default_factory=list)
    """Generated (cloned) contract ids, in creation order; the real ones are not listed."""

    @property
    def n_contracts(self) -> int:
        return len(self.contract_ids)

    def contract_path(self, contract_id: str) -> Path:
        agency, _, dataset = contract_id.partition(".")
        return self.contracts_dir / agency / f"{dataset}.yaml"

    def touch(self, contract_id: str, marker: str = "edited") -> Path:
        """Change one contract's content (its usage text): what an agency editing it does."""
        path = self.contract_path(contract_id)
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
        raw.setdefault("description", {})["usage"] = f"{raw['description'].get('usage', '')} ({marker})"
        path.write_text(yaml.dump(raw, Dumper=_Dumper, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path


def agency_code(k: int) -> str:
    return f"a{k:04d}"


def _clone(raw: dict, agency: str, dataset: str, template_dataset: str) -> dict:
    out = copy.deepcopy(raw)
    out["id"] = f"{agency}.{dataset}"
    out["name"] = dataset
    for obj in out.get("schema", []):
        if obj.get("name") == template_dataset:
            obj["name"] = dataset
            obj["physicalName"] = dataset
    for sla in out.get("slaProperties", []):
        element = sla.get("element")
        if isinstance(element, str) and element.startswith(f"{template_dataset}."):
            sla["element"] = dataset + element[len(template_dataset) :]
    for item in out.get("customProperties", []):
        prop = item.get("property")
        if prop == "agency":
            item["value"] = agency
        elif prop == "dataset":
            item["value"] = dataset
        elif prop == "kafkaTopic":
            item["value"] = f"gdx.{agency}.{dataset}.v{str(out.get('version', '1')).split('.')[0]}"
        elif prop == "ownerAgency":
            item["value"] = {
                **item["value"],
                "code": agency,
                "name_th": f"หน่วยงานทดสอบ {agency}",
                "name_en": f"Test agency {agency}",
                "email": f"data@{agency}.go.th",
            }
        elif prop in {"titleTh", "titleEn"}:
            item["value"] = f"{item['value']} [{agency}]"
        elif prop == "pilotProvinces":
            item["value"] = []
    # Read grants name real agencies; a grant to the owner itself would be a lint error.
    out["roles"] = [r for r in out.get("roles", []) if r.get("role") != f"agency.{agency}"]
    return out


def build_scale_world(
    dest: Path | str,
    n_contracts: int,
    n_agencies: int | None = None,
    *,
    source_root: Path | None = None,
    copy_dbt: bool = True,
) -> ScaleWorld:
    """Write a repository-shaped tree with `n_contracts` generated contracts under `dest`."""
    src = Path(source_root or REPO_ROOT)
    root = Path(dest)
    if n_agencies is None:
        n_agencies = max(1, round(n_contracts / DATASETS_PER_AGENCY))
    n_agencies = min(n_agencies, max(1, n_contracts))
    contracts_dir = root / "contracts"
    shutil.copytree(src / "contracts", contracts_dir, ignore=shutil.ignore_patterns("_generated"))
    if copy_dbt:
        shutil.copytree(
            src / "dbt_project",
            root / "dbt_project",
            ignore=lambda d, names: [n for n in names if n in _DBT_SKIP],
        )
    else:
        (root / "dbt_project" / "seeds").mkdir(parents=True)
        shutil.copy2(src / "dbt_project" / "seeds" / "ref_agencies.csv", root / "dbt_project" / "seeds")
    shutil.copytree(src / "dags", root / "dags", ignore=shutil.ignore_patterns("__pycache__"))

    templates: list[tuple[dict, str]] = []
    for cid in TEMPLATES:
        agency, _, dataset = cid.partition(".")
        raw = yaml.load(
            (src / "contracts" / agency / f"{dataset}.yaml").read_text(encoding="utf-8"), Loader=_Loader
        )
        templates.append((raw, dataset))

    agencies = [agency_code(k) for k in range(1, n_agencies + 1)]
    world = ScaleWorld(root=root, contracts_dir=contracts_dir, agencies=agencies)
    for i in range(n_contracts):
        agency = agencies[i % n_agencies]
        raw, template_dataset = templates[i % len(templates)]
        dataset = f"{template_dataset}_{i // n_agencies + 1:02d}"
        cloned = _clone(raw, agency, dataset, template_dataset)
        path = contracts_dir / agency / f"{dataset}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            yaml.dump(cloned, Dumper=_Dumper, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        world.contract_ids.append(cloned["id"])

    seed = root / "dbt_project" / "seeds" / "ref_agencies.csv"
    with seed.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    for code in agencies:
        rows.append(
            {
                "code": code,
                "name_th": f"หน่วยงานทดสอบ {code}",
                "name_en": f"Test agency {code}",
                "ministry_th": "กระทรวงทดสอบ",
                "ministry_en": "Ministry of Testing",
                "email": f"data@{code}.go.th",
                "website": f"https://www.{code}.go.th",
            }
        )
    with seed.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return world
