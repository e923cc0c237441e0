"""Parsing contracts into `Contract` / `Property`, and clear errors (file, line, reason) for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdx.contracts.model import ContractError, get_contract, load_all, load_contract
from gdx.settings import REPO_ROOT

CONTRACTS_DIR = REPO_ROOT / "contracts"
EXEMPLAR = CONTRACTS_DIR / "pcd" / "air_quality_hourly.yaml"

MINIMAL = """\
apiVersion: v3.1.0
kind: DataContract
id: test.things
name: things
version: 1.0.0
status: active
schema:
  - name: things
    logicalType: object
    properties:
      - name: thing_id
        logicalType: string
        required: true
        primaryKey: true
        primaryKeyPosition: 1
      - name: amount
        logicalType: number
        logicalTypeOptions: {minimum: 0, maximum: 10}
customProperties:
  - property: agency
    value: test
  - property: dataset
    value: things
  - property: titleTh
    value: สิ่งของ
  - property: titleEn
    value: Things
  - property: kafkaTopic
    value: gdx.test.things.v1
"""


def write(tmp_path: Path, text: str, name: str = "things.yaml") -> Path:
    folder = tmp_path / "test"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_all_contracts_load() -> None:
    contracts = load_all(CONTRACTS_DIR)
    assert {
        "pcd.air_quality_hourly",
        "gistda.fire_hotspots",
        "dla.municipal_waste_monthly",
        "dga.eservice_transactions_daily",
        "moi.informal_debt_cases",
        "customs.border_trade_daily",
        "ref.provinces",
        "ref.agencies",
    } <= set(contracts)


def test_exemplar_fields() -> None:
    c = load_contract(EXEMPLAR)
    assert c.id == "pcd.air_quality_hourly" and c.slug == "pcd__air_quality_hourly"
    assert c.topic == "gdx.pcd.air_quality_hourly.v1" and c.dlq_topic == "gdx.dlq.pcd.air_quality_hourly"
    assert c.major == 1 and c.primary_key == ("station_id", "measured_at")
    assert c.freshness is not None and c.freshness.total_seconds() == 3 * 3600
    assert c.prop("province_code").semantic_type == "province_code"
    assert c.prop("station_id").aliases == ("stationID", "station", "รหัสสถานี")
    assert [r.id for r in c.rules] == ["province_code_known"]
    assert c.is_seed is False and c.access_level == "public"


def test_pii_and_rules() -> None:
    c = get_contract("moi.informal_debt_cases", CONTRACTS_DIR)
    assert [p.name for p in c.pii_properties] == ["citizen_id"]
    assert c.prop("citizen_id").landed_name == "citizen_id_hmac"
    assert c.access_level == "restricted"
    rule = c.rule("settled_has_date")
    assert rule.kind == "conditional" and rule.column == "_rule_settled_has_date"
    assert rule.columns == ("status", "settled_on")
    assert c.rule("citizen_id_checksum").implicit


def test_seed_contract_needs_no_topic() -> None:
    c = get_contract("ref.provinces", CONTRACTS_DIR)
    assert c.is_seed and c.topic == "" and c.seed_path == "dbt_project/seeds/ref_provinces.csv"


def test_unknown_contract_lists_known_ids() -> None:
    with pytest.raises(KeyError, match="pcd.air_quality_hourly"):
        get_contract("nope.nothing", CONTRACTS_DIR)


def test_minimal_contract(tmp_path: Path) -> None:
    c = load_contract(write(tmp_path, MINIMAL))
    assert c.compatibility == "BACKWARD" and c.prop("amount").maximum == 10


def _line_of(text: str, marker: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if marker in line)


@pytest.mark.parametrize(
    ("text", "marker", "fragment"),
    [
        (
            MINIMAL.replace("      - name: amount\n", "      - name: amount\n     bad: [\n"),
            "bad: [",
            "invalid YAML",
        ),
        (
            MINIMAL.replace("logicalType: number", "logicalType: decimal"),
            "logicalType: decimal",
            "logicalType 'decimal'",
        ),
        (MINIMAL.replace("version: 1.0.0", "version: one"), "version: one", "is not MAJOR.MINOR.PATCH"),
        (
            MINIMAL.replace(
                "        logicalTypeOptions: {minimum: 0, maximum: 10}\n",
                "        customProperties:\n          - {property: semanticType, value: postcode}\n",
            ),
            "value: postcode",
            "unknown semanticType 'postcode'",
        ),
        (
            MINIMAL.replace("  - property: kafkaTopic\n    value: gdx.test.things.v1\n", ""),
            "customProperties:",
            "lacks 'kafkaTopic'",
        ),
        (
            MINIMAL + "  - property: compatibility\n    value: SIDEWAYS\n",
            "property: compatibility",
            "compatibility 'SIDEWAYS'",
        ),
        (
            MINIMAL.replace("      - name: amount\n", "      - name: thing_id\n"),
            "- name: thing_id\x00",
            "duplicate property 'thing_id'",
        ),
    ],
    ids=["yaml", "logical-type", "version", "semantic-type", "missing-topic", "compatibility", "duplicate"],
)
def test_clear_errors_with_line(tmp_path: Path, text: str, marker: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert fragment in info.value.reason
    if marker.endswith("\x00"):  # the second occurrence
        line = [i for i, t in enumerate(text.splitlines(), start=1) if marker[:-1] in t][1]
    else:
        line = _line_of(text, marker)
    assert info.value.line == line, str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_missing_top_level_key(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="missing top-level key 'schema'"):
        load_contract(
            write(tmp_path, MINIMAL.split("schema:")[0] + MINIMAL.split("customProperties:\n", 1)[0][:0])
        )


def test_not_a_mapping_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="not a YAML mapping"):
        load_contract(write(tmp_path, "- just\n- a list\n"))
    with pytest.raises(ContractError, match="cannot read"):
        load_contract(tmp_path / "missing.yaml")


def test_bad_rule(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "customProperties:\n  - property: agency",
        "    quality:\n      - id: amount_rule\n        type: text\n        customProperties:\n"
        "          - property: gdxRule\n            value: {kind: compare, left: amount, op: '=<', right: nope}\n"
        "customProperties:\n  - property: agency",
    )
    with pytest.raises(ContractError, match="compare op '=<'") as info:
        load_contract(write(tmp_path, text))
    assert info.value.line == 23
    with pytest.raises(ContractError, match=r"unknown properties \['nope'\]"):
        load_contract(write(tmp_path, text.replace("'=<'", "'<='")))


def test_duplicate_topic(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    write(
        tmp_path,
        MINIMAL.replace("id: test.things", "id: test.others").replace("value: things", "value: others"),
        "others.yaml",
    )
    with pytest.raises(ContractError, match="already bound"):
        load_all(tmp_path)
