"""Adding a dataset is one contract file plus `gdx contracts generate`.

A new agency (opdc, Office of the Public Sector Development Commission) gets one contract, cloned
by hand here from dga's e-service contract and renamed; its agency is added to the agencies seed.
Then, with no dbt or SQL written for it: the project's generator writes its artefacts (the dbt
source and the staging model among them) into a copy of the project, the agency is provisioned on
the real secured broker and granted what its contract implies, it publishes, `gdx ingest` lands
the records, `dbt build --select stg_opdc__eservice_transactions_daily` builds the generated model
and its generated tests, and the rows read back from DuckDB are the published values, typed.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from gdx.build import BuildPaths, run_dbt, selector_for
from gdx.contracts.generate import generate
from gdx.contracts.model import load_contract
from gdx.settings import REPO_ROOT, Settings
from gdx.testing.bronze_fixtures import fixture_events
from tests.integration.ingest_fixtures import make_env, publish

pytestmark = [pytest.mark.integration]

AGENCY = "opdc"
DATASET = "eservice_transactions_daily"
TEMPLATE = REPO_ROOT / "contracts" / "dga" / f"{DATASET}.yaml"
MODEL = f"stg_{AGENCY}__{DATASET}"
N_RECORDS = 40


def _new_contract(topic_suffix: str) -> dict[str, Any]:
    """dga's contract as opdc's: what an agency copying a neighbour's contract would edit."""
    raw = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    raw["id"] = f"{AGENCY}.{DATASET}"
    raw["team"] = {"name": "สำนักงาน ก.พ.ร.", "members": [{"username": "opdc-data", "role": "owner"}]}
    raw["roles"] = []
    for item in raw["customProperties"]:
        if item["property"] == "agency":
            item["value"] = AGENCY
        elif item["property"] == "ownerAgency":
            item["value"] = {
                "code": AGENCY,
                "name_th": "สำนักงานคณะกรรมการพัฒนาระบบราชการ",
                "name_en": "Office of the Public Sector Development Commission",
                "ministry_en": "Office of the Prime Minister",
                "email": "data@opdc.go.th",
            }
        elif item["property"] == "kafkaTopic":
            item["value"] = f"gdx.{AGENCY}.{DATASET}.v1.t{topic_suffix}"
        elif item["property"] == "titleEn":
            item["value"] = "Daily e-service transactions reported to OPDC"
        elif item["property"] == "pilotProvinces":
            item["value"] = []
    return raw


def _add_agency(seed: Path) -> None:
    with seed.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns, rows = list(reader.fieldnames or []), list(reader)
    rows.append(
        {
            "code": AGENCY,
            "name_th": "สำนักงานคณะกรรมการพัฒนาระบบราชการ",
            "name_en": "Office of the Public Sector Development Commission",
            "ministry_th": "สำนักนายกรัฐมนตรี",
            "ministry_en": "Office of the Prime Minister",
            "email": "data@opdc.go.th",
            "website": "https://www.opdc.go.th",
        }
    )
    with seed.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _records() -> list[dict[str, Any]]:
    """Valid records with distinct primary keys (dga's fixture values), so each is a current row."""
    seen: set[tuple[Any, ...]] = set()
    out: list[dict[str, Any]] = []
    for event in fixture_events(f"dga.{DATASET}"):
        key = tuple(event.value[k] for k in ("service_code", "channel", "province_code", "txn_date"))
        if key not in seen:
            seen.add(key)
            out.append(event.value)
        if len(out) == N_RECORDS:
            break
    return out


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def test_one_contract_file_and_generate_give_a_built_staging_model(
    tmp_path: Path, kafka_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kafka_cluster.broker is None:
        pytest.skip("provisioning a new agency needs the local secured broker")
    env = make_env(tmp_path, kafka_cluster, monkeypatch)
    root = env.root  # the project copy: contracts/ from make_env, plus dbt_project/ and dags/
    shutil.copytree(
        REPO_ROOT / "dbt_project", root / "dbt_project", ignore=shutil.ignore_patterns("target", "logs")
    )
    shutil.copytree(REPO_ROOT / "dags", root / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    path = env.contracts_dir / AGENCY / f"{DATASET}.yaml"
    path.parent.mkdir()
    path.write_text(
        yaml.safe_dump(_new_contract(env.suffix), allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    _add_agency(root / "dbt_project" / "seeds" / "ref_agencies.csv")
    assert not (root / "dbt_project" / "models" / "staging" / AGENCY).exists()

    written = generate(root=root, contracts_dir=env.contracts_dir)
    staging = root / "dbt_project" / "models" / "staging" / AGENCY
    assert f"dbt_project/models/staging/{AGENCY}/{MODEL}.sql" in written
    assert f"dbt_project/models/staging/{AGENCY}/_{AGENCY}__models.yml" in written
    assert f"dbt_project/models/staging/{AGENCY}/_{AGENCY}__sources.yml" in written
    assert generate(check=True, root=root, contracts_dir=env.contracts_dir) == []
    assert sorted(p.name for p in staging.iterdir()) == [
        f"_{AGENCY}__models.yml",
        f"_{AGENCY}__sources.yml",
        f"{MODEL}.sql",
    ]

    # The new agency as `gdx agencies provision` and the contract's ACLs make it: a principal of its own.
    from gdx.agencies import load_agencies
    from gdx.security import acls

    kafka_cluster.broker.provision([AGENCY])
    contract = load_contract(path)
    acls.grant(kafka_cluster.admin, [contract], load_agencies(env.contracts_dir))

    records = _records()
    published = publish(kafka_cluster, contract, records)
    assert len(published) == N_RECORDS
    ingested = env.run_cli("ingest", contract.id)
    assert ingested.returncode == 0, ingested.stdout[-3000:] + ingested.stderr[-3000:]

    settings = dataclasses.replace(
        Settings.from_env(),
        lake_root=str(env.lake),
        warehouse=tmp_path / "wh" / "onedata.duckdb",
        contracts_dir=env.contracts_dir,
    )
    paths = BuildPaths.from_settings(
        settings, project_dir=root / "dbt_project", target_dir=tmp_path / "target"
    )
    # what the ingestion DAG selects for a landed dataset (gdx.build.selector_for)
    result = run_dbt(["build", "--select", selector_for([(AGENCY, DATASET)])], paths)
    assert result.ok, result.output[-6000:]
    # the hook creating the source's view, the model and the source's contract test (generic
    # test ids end in a hash)
    built = {
        n.unique_id.rsplit(".", 1)[0] if n.resource_type == "test" else n.unique_id
        for n in result.nodes
        if n.status in {"success", "pass"}
    }
    assert built == {
        "operation.gdx_onedata.gdx_onedata-on-run-start-0",
        f"model.gdx_onedata.{MODEL}",
        f"test.gdx_onedata.contract_columns_bronze_{AGENCY}__{DATASET}",
    }, [(n.unique_id, n.status) for n in result.nodes]

    columns = [p.name for p in contract.properties]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        types = dict(
            con.execute(f"select column_name, column_type from (describe staging.{MODEL})").fetchall()
        )
        rows = con.execute(f"select {', '.join(columns)}, _kafka_topic from staging.{MODEL}").fetchall()
    assert {k: types[k] for k in ("txn_date", "transactions", "fully_digital", "service_code")} == {
        "txn_date": "DATE",
        "transactions": "BIGINT",
        "fully_digital": "BOOLEAN",
        "service_code": "VARCHAR",
    }
    landed = sorted(({c: _plain(v) for c, v in zip(columns, row, strict=False)} for row in rows), key=repr)
    assert landed == sorted(({c: r.get(c) for c in columns} for r in records), key=repr)
    assert {row[-1] for row in rows} == {contract.topic}
