"""Generated artefacts: every rule of every contract is enforced by the JSON Schema and the GX suite.

For each contract a hand-written valid record passes both; then, derived from the contract
itself, one mutation per check (required, enum, range, pattern, length) and one hand-written
mutation per rule must be rejected by the real GX 1.24 suite (run on a pandas frame in an
ephemeral context) under that check — and by the JSON Schema wherever JSON Schema can say it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date, timedelta
from typing import Any

import jsonschema
import pyarrow as pa
import pytest
import yaml

from gdx.contracts.exporters import EXPORTERS, METADATA_COLUMNS, to_arrow_schema, to_gx_suite, to_jsonschema
from gdx.contracts.exporters.arrow import arrow_schema_json
from gdx.contracts.exporters.catalog import to_catalog
from gdx.contracts.exporters.dag import render_dag_file, to_dag_entry
from gdx.contracts.exporters.dbt import contract_check, to_dbt_sources
from gdx.contracts.exporters.json_schema import EXPRESSED_RULE_KINDS
from gdx.contracts.model import Contract, load_all
from gdx.contracts.rules import evaluate_rule, rule_results, validation_frame
from gdx.settings import REPO_ROOT
from gdx.thai.citizen_id import make_citizen_id

CONTRACTS = load_all(REPO_ROOT / "contracts")
CITIZEN_ID = make_citizen_id("110170012345")


def _hotspot_id(lat: float, lon: float, utc: str, satellite: str) -> str:
    return hashlib.sha256(f"{lat:.4f}|{lon:.4f}|{utc}|{satellite}".encode()).hexdigest()[:20]


VALID: dict[str, dict[str, Any]] = {
    "pcd.air_quality_hourly": {
        "station_id": "57t",
        "station_name_th": "ต.เวียง อ.เมือง จ.เชียงราย",
        "province_code": "TH-57",
        "province_raw": "เชียงราย",
        "measured_at": "2024-03-01T13:00:00+07:00",
        "pm25": 45.2,
        "pm10": 60.1,
        "o3": 20.0,
        "co": 0.5,
        "no2": 10.0,
        "so2": 2.0,
        "aqi": 98,
    },
    "gistda.fire_hotspots": {
        "hotspot_id": _hotspot_id(19.9105, 99.8312, "2024-03-01T06:42Z", "Terra"),
        "latitude": 19.9105,
        "longitude": 99.8312,
        "acquired_at": "2024-03-01T13:42:00+07:00",
        "acq_date_local": "2024-03-01",
        "satellite": "Terra",
        "instrument": "MODIS",
        "confidence_pct": 85,
        "confidence_class": "high",
        "frp": 12.5,
        "brightness": 320.4,
        "daynight": "D",
        "province_code": "TH-57",
        "province_raw": "เชียงราย",
        "land_use": "agricultural",
    },
    "dla.municipal_waste_monthly": {
        "lao_code": "6760101",
        "lao_name_th": "เทศบาลเมืองเพชรบุรี",
        "lao_type": "town_municipality",
        "province_code": "TH-76",
        "province_raw": "เพชรบุรี",
        "district_name": "เมืองเพชรบุรี",
        "period_month": "2024-03-01",
        "generated_tonnes": 100.0,
        "collected_tonnes": 90.0,
        "properly_disposed_tonnes": 60.0,
        "recycled_tonnes": 25.0,
        "improperly_disposed_tonnes": 15.0,
    },
    "dga.eservice_transactions_daily": {
        "service_code": "DOPA-ID-001",
        "service_name_th": "ขอคัดสำเนาทะเบียนบ้าน",
        "agency_code": "dopa",
        "channel": "mobile_app",
        "province_code": "TH-40",
        "province_raw": "ขอนแก่น",
        "txn_date": "2024-03-01",
        "transactions": 120,
        "fully_digital": True,
        "completed_transactions": 110,
    },
    "moi.informal_debt_cases": {
        "case_id": "BRM-2567-000123",
        "citizen_id": CITIZEN_ID,
        "province_code": "TH-31",
        "province_raw": "บุรีรัมย์",
        "district_name": "เมืองบุรีรัมย์",
        "creditor_type": "informal_lender",
        "principal_thb": 50000.0,
        "status": "settled",
        "registered_on": "2024-01-10",
        "mediated_on": "2024-02-01",
        "settled_on": "2024-03-01",
        "settled_amount_thb": 30000.0,
        "debt_reduced_thb": 20000.0,
    },
    "customs.border_trade_daily": {
        "checkpoint_code": "0803",
        "checkpoint_name_th": "ด่านศุลกากรช่องเม็ก",
        "province_code": "TH-34",
        "province_raw": "อุบลราชธานี",
        "trade_date": "2024-03-01",
        "direction": "export",
        "partner_country": "LA",
        "hs_section": 16,
        "value_thb": 12500000.5,
        "quantity_tonnes": 350.2,
    },
    "ref.provinces": {
        "province_code": "57",
        "iso_3166_2": "TH-57",
        "name_th": "เชียงราย",
        "name_en": "Chiang Rai",
        "name_en_variants": None,
        "region_th": "ภาคเหนือ",
        "region_en": "North",
    },
    "ref.agencies": {
        "code": "pcd",
        "name_th": "กรมควบคุมมลพิษ",
        "name_en": "Pollution Control Department",
        "ministry_th": "กระทรวงทรัพยากรธรรมชาติและสิ่งแวดล้อม",
        "ministry_en": "Ministry of Natural Resources and Environment",
        "email": "air4thai@pcd.go.th",
        "website": "https://www.pcd.go.th",
    },
}

# One mutation per rule id (applied to the contract's valid record) that breaks exactly that rule.
RULE_MUTATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "pcd.air_quality_hourly": {"province_code_known": {"province_code": "TH-99"}},
    "gistda.fire_hotspots": {
        "province_code_known": {"province_code": "TH-99"},
        "satellite_instrument": {"instrument": "VIIRS", "confidence_pct": None},
        "modis_confidence_pct": {"confidence_pct": None},
        "acq_date_local_matches": {"acq_date_local": "2024-03-02"},
    },
    "dla.municipal_waste_monthly": {
        "province_code_known": {"province_code": "TH-99"},
        "waste_balance": {"generated_tonnes": 150.0, "collected_tonnes": 90.0},
        "collected_le_generated": {"collected_tonnes": 100.5},
        "period_month_first_day": {"period_month": "2024-03-15"},
    },
    "dga.eservice_transactions_daily": {
        "province_code_known": {"province_code": "TH-99"},
        "completed_le_transactions": {"completed_transactions": 121},
    },
    "moi.informal_debt_cases": {
        "citizen_id_checksum": {"citizen_id": CITIZEN_ID[:12] + str((int(CITIZEN_ID[12]) + 1) % 10)},
        "province_code_known": {"province_code": "TH-99"},
        "mediated_after_registered": {"mediated_on": "2024-01-09"},
        "settled_after_registered": {"settled_on": "2024-01-09"},
        "settled_amount_le_principal": {"settled_amount_thb": 50000.5},
        "settled_has_date": {"settled_on": None},
    },
    "customs.border_trade_daily": {"province_code_known": {"province_code": "TH-99"}},
    "ref.provinces": {"iso_3166_2_known": {"iso_3166_2": "TH-99"}},
    "ref.agencies": {},
}


def _shift_date(value: str, days: int) -> str:
    return (date.fromisoformat(value[:10]) + timedelta(days=days)).isoformat() + value[10:]


def mutations(contract: Contract) -> list[tuple[str, dict[str, Any], bool]]:
    """(expected failing gdx_check, record, JSON Schema must reject too) for every check of the contract."""
    valid = VALID[contract.id]
    out: list[tuple[str, dict[str, Any], bool]] = []

    def mutate(check: str, changes: dict[str, Any], json_too: bool = True) -> None:
        out.append((check, {**valid, **changes}, json_too))

    for p in contract.properties:
        n = p.name
        if p.required:
            mutate(f"{n}.not_null", {n: None})
        if p.enum is not None:
            mutate(f"{n}.enum", {n: "ZZ" if p.logical_type == "string" else -99999})
        if p.logical_type in {"integer", "number"}:
            if p.minimum is not None:
                mutate(f"{n}.range", {n: p.minimum - 1})
            if p.maximum is not None:
                mutate(f"{n}.range", {n: p.maximum + 1})
        if p.logical_type in {"date", "timestamp"} and p.minimum is not None:
            # JSON Schema cannot compare dates: the GX suite alone checks date ranges
            mutate(f"{n}.range", {n: _shift_date(str(p.minimum), -1)}, json_too=False)
        if p.logical_type == "string" and p.pattern:
            mutate(f"{n}.pattern", {n: "#"})
        if p.logical_type == "string" and p.max_length is not None:
            mutate(f"{n}.length", {n: "9" * (p.max_length + 1)})
        if p.logical_type == "string" and p.min_length is not None and p.min_length > 1:
            mutate(f"{n}.length", {n: "9" * (p.min_length - 1)})
    for rule in contract.rules:
        changes = RULE_MUTATIONS[contract.id][rule.id]
        mutate(f"rule.{rule.id}", changes, json_too=rule.kind in EXPRESSED_RULE_KINDS)
    return out


# --- GX machinery: one ephemeral context per module ------------------------------------------


@pytest.fixture(scope="module")
def gx_run():
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("contracts_test").add_dataframe_asset("frame")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole")

    def run(contract: Contract, records: list[dict[str, Any]]) -> tuple[bool, dict[int, set[str]], set[str]]:
        """(suite success, row → failing gdx_checks, failing checks without row indexes)."""
        suite_dict = to_gx_suite(contract)
        suite = gx.ExpectationSuite(**json.loads(json.dumps(suite_dict)))
        assert len(suite.expectations) == len(suite_dict["expectations"]), "GX rejected an expectation"
        batch = batch_definition.get_batch(
            batch_parameters={"dataframe": validation_frame(contract, records)}
        )
        result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
        by_row: dict[int, set[str]] = {}
        no_rows: set[str] = set()
        for r in result.results:
            if r.success:
                continue
            check = r.expectation_config.meta["gdx_check"]
            rows = (r.result or {}).get("unexpected_index_list")
            if not rows:
                no_rows.add(check)
            for row in rows or []:
                by_row.setdefault(int(row), set()).add(check)
        return result.success, by_row, no_rows

    return run


def _validator(contract: Contract) -> jsonschema.Draft202012Validator:
    schema = to_jsonschema(contract)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


IDS = sorted(CONTRACTS)


def test_every_contract_has_fixtures() -> None:
    assert set(VALID) == set(CONTRACTS)
    for cid, contract in CONTRACTS.items():
        assert set(RULE_MUTATIONS[cid]) == {r.id for r in contract.rules}, (
            f"{cid}: a rule without a failing fixture"
        )


@pytest.mark.parametrize("contract_id", IDS)
def test_valid_record_passes_json_schema_and_rules(contract_id: str) -> None:
    contract = CONTRACTS[contract_id]
    errors = [e.message for e in _validator(contract).iter_errors(VALID[contract_id])]
    assert errors == []
    assert all(rule_results(contract, VALID[contract_id]).values())


@pytest.mark.parametrize("contract_id", IDS)
def test_json_schema_rejects_each_violation(contract_id: str) -> None:
    contract = CONTRACTS[contract_id]
    validator = _validator(contract)
    import fastjsonschema

    fast = fastjsonschema.compile(to_jsonschema(contract))  # the fast validator producers may use
    fast(VALID[contract_id])
    for check, record, json_too in mutations(contract):
        if json_too:
            assert not validator.is_valid(record), f"JSON Schema accepted a record breaking {check}: {record}"
            with pytest.raises(fastjsonschema.JsonSchemaException):
                fast(record)


@pytest.mark.parametrize("contract_id", IDS)
def test_json_schema_rejects_unknown_properties_and_wrong_types(contract_id: str) -> None:
    contract = CONTRACTS[contract_id]
    validator = _validator(contract)
    assert not validator.is_valid({**VALID[contract_id], "unexpected": 1})
    for p in contract.properties:
        wrong = 1 if p.logical_type in {"string", "date", "timestamp", "boolean"} else "1"
        assert not validator.is_valid({**VALID[contract_id], p.name: wrong}), p.name
        if p.logical_type == "timestamp":
            assert not validator.is_valid({**VALID[contract_id], p.name: "2024-03-01T13:00:00"}), (
                "offset required"
            )


@pytest.mark.parametrize("contract_id", IDS)
def test_gx_suite_passes_valid_and_rejects_each_violation(gx_run, contract_id: str) -> None:
    contract = CONTRACTS[contract_id]
    success, by_row, no_rows = gx_run(contract, [VALID[contract_id]])
    assert success, f"valid record failed {by_row} {no_rows}"

    cases = mutations(contract)
    # row 0 is the valid record; row i + 1 is mutation i. The primary key repeats on purpose, so
    # its uniqueness check is judged separately below.
    success, by_row, no_rows = gx_run(contract, [VALID[contract_id]] + [record for _, record, _ in cases])
    assert not success
    assert by_row.get(0, set()) <= {"primary_key.unique"}, f"the valid row failed {by_row.get(0)}"
    assert no_rows <= {"primary_key.unique"}
    for i, (check, _, _) in enumerate(cases, start=1):
        assert check in by_row.get(i, set()), f"GX did not reject {check} (row {i} failed {by_row.get(i)})"


@pytest.mark.parametrize("contract_id", IDS)
def test_gx_suite_rejects_duplicate_primary_key(gx_run, contract_id: str) -> None:
    contract = CONTRACTS[contract_id]
    success, by_row, _ = gx_run(contract, [VALID[contract_id], VALID[contract_id]])
    assert not success
    assert "primary_key.unique" in by_row.get(0, set()) | by_row.get(1, set())


def test_gx_suite_fails_when_a_column_is_missing(gx_run) -> None:
    contract = CONTRACTS["dga.eservice_transactions_daily"]
    suite = to_gx_suite(contract)
    assert suite["expectations"][0] == {
        "type": "expect_column_to_exist",
        "kwargs": {"column": "service_code"},
        "meta": {"gdx_check": "service_code.exists", "column": "service_code"},
        "description": "service_code is present",
    }
    assert suite["meta"]["rule_columns"] == ["_rule_province_code_known", "_rule_completed_le_transactions"]


def test_seed_files_match_their_contracts() -> None:
    for cid in ("ref.provinces", "ref.agencies"):
        contract = CONTRACTS[cid]
        text = (REPO_ROOT / contract.seed_path).read_text(encoding="utf-8")
        rows = [
            {k: (v if v != "" else None) for k, v in r.items()} for r in csv.DictReader(io.StringIO(text))
        ]
        assert list(rows[0]) == [p.name for p in contract.properties]
        validator = _validator(contract)
        for row in rows:
            assert validator.is_valid(row), list(validator.iter_errors(row))
            assert all(rule_results(contract, row).values()), row
    assert len(rows) >= 8  # agencies: pcd, gistda, dla, dga, moi, customs, dopa, nso
    owners = {c.owner_agency["code"] for c in CONTRACTS.values()}
    seeded = {r["code"] for r in rows}
    assert owners <= seeded


# --- rules engine ------------------------------------------------------------------------------


def test_rules_pass_on_nulls_and_judge_values() -> None:
    moi = CONTRACTS["moi.informal_debt_cases"]
    assert evaluate_rule(moi.rule("settled_has_date"), {"status": "registered", "settled_on": None})
    assert not evaluate_rule(moi.rule("settled_has_date"), {"status": "settled", "settled_on": None})
    assert evaluate_rule(
        moi.rule("mediated_after_registered"), {"mediated_on": None, "registered_on": "2024-01-01"}
    )
    assert evaluate_rule(moi.rule("citizen_id_checksum"), {"citizen_id": None})
    waste = CONTRACTS["dla.municipal_waste_monthly"].rule("waste_balance")
    ok = {"generated_tonnes": 100.0, "properly_disposed_tonnes": 60.0, "recycled_tonnes": 25.0}
    assert evaluate_rule(waste, {**ok, "improperly_disposed_tonnes": 15.9})  # within 1 %
    assert not evaluate_rule(waste, {**ok, "improperly_disposed_tonnes": 16.5})
    assert evaluate_rule(waste, {**ok, "improperly_disposed_tonnes": None})
    fire = CONTRACTS["gistda.fire_hotspots"].rule("acq_date_local_matches")
    # 23:30 UTC is already the next day in Bangkok
    assert evaluate_rule(fire, {"acquired_at": "2024-03-01T23:30:00Z", "acq_date_local": "2024-03-02"})
    assert not evaluate_rule(fire, {"acquired_at": "2024-03-01T23:30:00Z", "acq_date_local": "2024-03-01"})
    sat = CONTRACTS["gistda.fire_hotspots"].rule("satellite_instrument")
    assert evaluate_rule(sat, {"satellite": "N20", "instrument": "VIIRS"})
    assert not evaluate_rule(sat, {"satellite": "N20", "instrument": "MODIS"})


def test_validation_frame_types() -> None:
    contract = CONTRACTS["gistda.fire_hotspots"]
    frame = validation_frame(contract, [VALID[contract.id], {**VALID[contract.id], "confidence_pct": None}])
    assert str(frame["confidence_pct"].dtype) == "Int64"
    assert str(frame["acquired_at"].dtype) == "datetime64[us, Asia/Bangkok]" or "Asia/Bangkok" in str(
        frame["acquired_at"].dtype
    )
    assert frame["acq_date_local"][0] == date(2024, 3, 1)
    assert frame["_rule_satellite_instrument"].tolist() == [True, True]


# --- Arrow, dbt, catalog, DAG -----------------------------------------------------------------


def test_arrow_schema_types_pii_and_metadata() -> None:
    moi = to_arrow_schema(CONTRACTS["moi.informal_debt_cases"])
    assert "citizen_id" not in moi.names and moi.field("citizen_id_hmac").type == pa.string()
    assert moi.field("registered_on").type == pa.date32()
    assert moi.field("principal_thb").type == pa.float64()
    assert moi.names[-len(METADATA_COLUMNS) :] == [n for n, _ in METADATA_COLUMNS]
    assert moi.field("_kafka_partition").type == pa.int32()
    assert moi.field("_kafka_timestamp").type == pa.timestamp("ms", tz="UTC")
    assert moi.field("_ingested_at").type == pa.timestamp("us", tz="UTC")
    fire = to_arrow_schema(CONTRACTS["gistda.fire_hotspots"])
    assert fire.field("acquired_at").type == pa.timestamp("us", tz="Asia/Bangkok")
    assert fire.field("confidence_pct").type == pa.int64() and fire.field("confidence_pct").nullable
    assert fire.field("hotspot_id").nullable is False
    dga = to_arrow_schema(CONTRACTS["dga.eservice_transactions_daily"])
    assert dga.field("fully_digital").type == pa.bool_()
    assert to_arrow_schema(CONTRACTS["moi.informal_debt_cases"]) is moi  # cached
    js = arrow_schema_json(CONTRACTS["moi.informal_debt_cases"])
    assert [f["name"] for f in js["fields"]] == moi.names


def test_dbt_sources_shape() -> None:
    contract = CONTRACTS["moi.informal_debt_cases"]
    doc = to_dbt_sources(contract)
    source = doc["sources"][0]
    assert source["name"] == "bronze_moi"
    table = source["tables"][0]
    assert table["name"] == "informal_debt_cases"
    # the view macro create_bronze_views builds reads v<major> and needs the columns when empty
    meta = table["config"]["meta"]
    assert meta["bronze_major"] == 1
    columns = meta["columns"].split(",")
    assert "citizen_id" not in columns and "citizen_id_hmac" in columns
    assert columns[-9:] == ["ingest_date", *(name for name, _ in METADATA_COLUMNS)]
    assert "{{" not in yaml.safe_dump(doc)  # nothing for dbt to render at parse time
    assert table["config"]["loaded_at_field"] == "_ingested_at"
    assert table["config"]["freshness"] == {"error_after": {"count": 7, "period": "day"}}
    # one test per table, dbt's builtin not_null (parsed without rendering) of the contract check
    (checks,) = table["data_tests"]
    assert checks["not_null"]["name"] == "contract_columns_bronze_moi__informal_debt_cases"
    assert checks["not_null"]["column_name"] == contract_check(contract)
    pcd = to_dbt_sources(CONTRACTS["pcd.air_quality_hourly"])["sources"][0]["tables"][0]
    assert pcd["config"]["freshness"] == {"error_after": {"count": 3, "period": "hour"}}


def test_contract_check_is_null_exactly_on_rows_that_break_the_contract() -> None:
    import duckdb

    contract = CONTRACTS["moi.informal_debt_cases"]
    required = [p.landed_name for p in contract.properties if p.required]
    assert "citizen_id_hmac" in required and "mediated_on" not in required
    good = {p.landed_name: None for p in contract.properties}
    for prop in contract.properties:
        if prop.required or prop.enum is not None:
            good[prop.landed_name] = prop.enum[0] if prop.enum else "x"
    good["_event_id"] = "e1"
    broken = {
        "citizen_id_hmac null": {**good, "citizen_id_hmac": None},
        "_event_id null": {**good, "_event_id": None},
        "status outside its values": {**good, "status": "lost"},
    }
    fine = {"valid": good, "optional null": {**good, "mediated_on": None}}
    con = duckdb.connect()
    names = list(good)
    con.execute(
        "create table t as select * from (values "
        + ", ".join("(" + ", ".join("?" for _ in names) + ")" for _ in range(len(broken) + len(fine)))
        + ") as v("
        + ", ".join(f'"{n}"' for n in names)
        + ")",
        [row[n] for row in [*broken.values(), *fine.values()] for n in names],
    )
    flags = [r[0] for r in con.execute(f"select {contract_check(contract)} from t").fetchall()]
    assert flags == [None] * len(broken) + [True] * len(fine)


def test_dbt_sources_file_parses_and_groups_by_agency() -> None:
    for agency in {c.agency for c in CONTRACTS.values() if not c.is_seed}:
        path = REPO_ROOT / f"dbt_project/models/staging/{agency}/_{agency}__sources.yml"
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# generated by gdx contracts generate")
        doc = yaml.safe_load(text)
        tables = {t["name"] for t in doc["sources"][0]["tables"]}
        assert tables == {c.dataset for c in CONTRACTS.values() if c.agency == agency}


def test_catalog_entry() -> None:
    moi = to_catalog(CONTRACTS["moi.informal_debt_cases"])
    assert moi["name"] == "moi-informal-debt-cases"
    assert moi["access_level"] == "restricted"
    assert moi["data_category"] == "ข้อมูลส่วนบุคคล" and moi["data_classification"] == "ลับ"
    assert moi["kafka_topic"] == "gdx.moi.informal_debt_cases.v1" and moi["pilot_provinces"] == ["TH-31"]
    # statistical disclosure control: dbt reads both from catalog.json, never from a literal
    assert moi["personal_data"] is True and moi["disclosure_threshold"] == 5
    air = to_catalog(CONTRACTS["pcd.air_quality_hourly"])
    assert air["personal_data"] is False and air["disclosure_threshold"] == 5
    for key in (
        "title",
        "title_en",
        "notes",
        "owner_org",
        "maintainer",
        "maintainer_email",
        "tags",
        "contract_id",
        "contract_version",
    ):
        assert moi[key], key
    provinces = to_catalog(CONTRACTS["ref.provinces"])
    assert (
        provinces["is_seed"] is True
        and provinces["kafka_topic"] is None
        and provinces["access_level"] == "public"
    )


def test_dag_files_and_seeds() -> None:
    entry = to_dag_entry(CONTRACTS["dla.municipal_waste_monthly"])
    assert (
        entry["pool"] == "gdx_ingest_dla__municipal_waste_monthly"
        and entry["dataset"] == "municipal_waste_monthly"
    )
    text = render_dag_file([entry])
    assert "from gdx.orchestration.agency_dag import build_agency_dag" in text
    assert 'dag = build_agency_dag(\n    "dla",' in text and '"id": "dla.municipal_waste_monthly"' in text
    compile(text, "dag.py", "exec")
    with pytest.raises(ValueError, match="seed"):
        to_dag_entry(CONTRACTS["ref.provinces"])
    assert not EXPORTERS["dag"].applies(CONTRACTS["ref.agencies"])
    assert not EXPORTERS["arrow_schema"].applies(CONTRACTS["ref.agencies"])


def test_exporters_are_deterministic() -> None:
    contracts_again = load_all(REPO_ROOT / "contracts")
    for cid, contract in CONTRACTS.items():
        for exporter in EXPORTERS.values():
            if exporter.applies(contract):
                first = exporter.render(exporter.func(contract))
                assert first == exporter.render(exporter.func(contracts_again[cid]))
                assert first.endswith("\n")


@pytest.mark.parametrize("contract_id", IDS)
def test_gx_suite_covers_datacontract_cli_export(contract_id: str) -> None:
    """Our suite is a superset of `datacontract export great-expectations` for the column checks
    both can express (we drop its dtype-name and exact-column-set checks, and its per-column
    uniqueness of a compound key — see gdx.contracts.exporters.gx)."""
    from datacontract.data_contract import DataContract

    contract = CONTRACTS[contract_id]
    theirs = json.loads(DataContract(data_contract_file=str(contract.path)).export("great-expectations"))
    kinds = {
        "expect_column_values_to_not_be_null",
        "expect_column_value_lengths_to_be_between",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_in_set",
    }

    def key(e: dict[str, Any]) -> str:
        kwargs = {
            k: (float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
            for k, v in e["kwargs"].items()
        }
        return json.dumps([e["type"], kwargs], sort_keys=True)

    ours = {key(e) for e in to_gx_suite(contract)["expectations"]}
    missing = [key(e) for e in theirs["expectations"] if e["type"] in kinds and key(e) not in ours]
    assert missing == []
