"""Synthetic agency files: deterministic, realistic enough, and their ground truth is exact."""

from __future__ import annotations

import orjson
import pytest

from gdx.contracts.model import get_contract
from gdx.contracts.rules import rule_results
from gdx.producer.edge_check import EdgeChecker
from gdx.producer.pipeline import produce_file
from gdx.sample import generate, read_truth, valid_records

DATASETS = [
    "pcd.air_quality_hourly",
    "gistda.fire_hotspots",
    "dla.municipal_waste_monthly",
    "dga.eservice_transactions_daily",
    "moi.informal_debt_cases",
    "customs.border_trade_daily",
]


@pytest.mark.parametrize("contract_id", DATASETS)
def test_rejects_match_the_ground_truth(contract_id, tmp_path):
    path = generate(contract_id, 600, bad_ratio=0.08, seed=11, out=tmp_path / "src.dat")
    truth = read_truth(path)
    assert truth.records == 600 and len(truth.bad) == 48
    assert len(truth.kinds()) >= 6, "many kinds of invalid records"
    contract = get_contract(contract_id)
    result = produce_file(contract, path, dry_run_out=tmp_path / "out.ndjson")
    assert result.rejected == len(truth.bad)
    assert result.normalised == result.published == truth.valid
    by_record = {r.record: r for r in result.rejects}
    for bad in truth.bad:
        reject = by_record[bad.record]
        assert reject.line == bad.line
        assert bad.kind in {v.code for v in reject.violations}, (bad, reject.violations)
    assert result.duplicates_dropped == len(truth.duplicate_lines)


@pytest.mark.parametrize("contract_id", DATASETS)
def test_deterministic_per_seed(contract_id, tmp_path):
    a = generate(contract_id, 200, 0.05, seed=3, out=tmp_path / "a")
    b = generate(contract_id, 200, 0.05, seed=3, out=tmp_path / "b")
    c = generate(contract_id, 200, 0.05, seed=4, out=tmp_path / "c")
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert read_truth(a) == read_truth(b)


@pytest.mark.parametrize("contract_id", DATASETS)
def test_valid_records_pass_the_edge_and_the_contract_rules(contract_id):
    contract = get_contract(contract_id)
    check = EdgeChecker(contract).check
    records = list(valid_records(contract_id, 300, seed=5))
    assert len(records) == 300
    keys = {tuple(r[k] for k in contract.primary_key) for r in records}
    assert len(keys) == 300, "primary keys are unique"
    for record in records:
        assert check(record) == [], record
        assert all(rule_results(contract, record).values()), record


def test_air_valid_records_equal_what_the_producer_publishes(tmp_path):
    path = generate("pcd.air_quality_hourly", 500, 0.0, seed=9, out=tmp_path / "a.json")
    out = tmp_path / "out.ndjson"
    produce_file(get_contract("pcd.air_quality_hourly"), path, dry_run_out=out)
    published = [orjson.loads(line)["value"] for line in out.read_bytes().splitlines()]
    assert published == list(valid_records("pcd.air_quality_hourly", 500, seed=9))


def test_realistic_magnitudes_and_pilot_weighting():
    air = list(valid_records("pcd.air_quality_hourly", 24 * 24 * 120, seed=1))  # 24 stations × 120 days
    march = [
        r["pm25"]
        for r in air
        if r["measured_at"][5:7] == "03" and r["province_code"] == "TH-57" and r["pm25"] is not None
    ]
    june = [
        r["pm25"]
        for r in air
        if r["measured_at"][5:7] == "01" and r["province_code"] == "TH-57" and r["pm25"] is not None
    ]
    assert sum(march) / len(march) > 1.5 * sum(june) / len(june), "haze season peaks in March"
    debt = list(valid_records("moi.informal_debt_cases", 1000, seed=1))
    share = sum(r["province_code"] == "TH-31" for r in debt) / len(debt)
    assert 0.4 < share < 0.65, "pilot province weighted"


def test_hotspots_peak_in_the_burning_season(tmp_path):
    path = generate("gistda.fire_hotspots", 2000, 0.0, seed=2, out=tmp_path / "h.csv")
    months = [line.split(",")[5][5:7] for line in path.read_text().splitlines()[1:]]
    assert sum(m in ("02", "03", "04") for m in months) / len(months) > 0.6


def test_some_csv_datasets_are_tis620(tmp_path):
    path = generate("moi.informal_debt_cases", 20, 0.0, seed=1, out=tmp_path / "d.csv")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    assert "เลขประจำตัวประชาชน" in path.read_bytes().decode("cp874")
    assert read_truth(path).encoding == "cp874"


def test_bad_ratio_bounds(tmp_path):
    with pytest.raises(ValueError):
        generate("moi.informal_debt_cases", 10, 1.5, out=tmp_path / "x.csv")
    with pytest.raises(KeyError):
        generate("nope.nothing", 10, out=tmp_path / "y.csv")


@pytest.mark.slow
def test_one_million_air_quality_rows(tmp_path):
    # how fast is the bench's business (bench/data.py generates its records with this), not a timed test's
    path = generate("pcd.air_quality_hourly", 1_000_000, 0.01, seed=1, out=tmp_path / "big.json")
    assert read_truth(path).records == 1_000_000
