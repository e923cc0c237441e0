"""The producer never lets a clear citizen id out: personal-data properties are validated clear,
then sealed; an id in any other property is refused at the edge; reports mask what they show."""

from __future__ import annotations

import orjson
import pytest

from gdx.contracts.model import get_contract
from gdx.producer.edge_check import EdgeChecker
from gdx.producer.pipeline import encode, produce_file
from gdx.producer.report import write_rejects
from gdx.sample import generate, read_truth, valid_records
from gdx.security.field_crypto import FieldDecryptor, FieldEncryptor, is_ciphertext
from gdx.thai import make_citizen_id
from tests.unit.test_ingest_masking import _scan

AIR = get_contract("pcd.air_quality_hourly")
MOI = get_contract("moi.informal_debt_cases")
CID = make_citizen_id("310170020754")
THAI = CID.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
DASHED = f"{CID[0]}-{CID[1:5]}-{CID[5:10]}-{CID[10:12]}-{CID[12]}"
ESCAPED = "".join(f"\\u{ord(c):04x}" for c in CID)  # an agency file holding the literal escapes


@pytest.mark.parametrize("text", [CID, THAI, DASHED, f"ผู้แจ้ง {CID} โทร", ESCAPED])
def test_undeclared_personal_data_is_rejected_at_the_edge(text: str) -> None:
    record = dict(next(iter(valid_records(AIR.id, 1, seed=1))))
    assert EdgeChecker(AIR).check(record) == []
    record["station_name_th"] = text
    violations = EdgeChecker(AIR).check(record)
    assert [(v.property, v.code) for v in violations] == [("station_name_th", "undeclared_personal_data")]
    assert violations[0].value is None and CID not in violations[0].reason


def test_personal_contract_checks_clear_then_seals() -> None:
    checker = EdgeChecker(MOI)
    record = dict(next(iter(valid_records(MOI.id, 1, seed=2))))
    assert checker.check(record) == []  # the declared property may hold an id
    bad = {**record, "citizen_id": CID[:-1] + str((int(CID[-1]) + 1) % 10)}
    assert [(v.property, v.code) for v in checker.check(bad)] == [
        ("citizen_id", "bad_citizen_id")
    ]  # on the clear value
    assert [v.code for v in checker.check({**record, "district_name": CID})] == ["undeclared_personal_data"]
    with pytest.raises(ValueError, match="needs a FieldEncryptor"):
        encode(MOI, record)  # no way to publish personal data in clear by omission
    key, value, _headers = encode(MOI, record, FieldEncryptor.for_contract(MOI))
    wire = orjson.loads(value)
    assert is_ciphertext(wire["citizen_id"]) and record["citizen_id"].encode() not in value
    assert FieldDecryptor.for_contract(MOI).open("citizen_id", wire["citizen_id"]) == record["citizen_id"]
    assert key == record["case_id"].encode()


def test_dry_run_and_rejects_of_the_debt_sample_hold_no_clear_id(tmp_path) -> None:
    src = generate(MOI.id, 300, bad_ratio=0.1, seed=5, out=tmp_path / "debt.csv")
    source_ids = set(_scan(src.read_text(encoding="utf-8-sig", errors="replace")))
    assert len(source_ids) > 200  # the agency's file is full of them
    dry = tmp_path / "dry.ndjson"
    result = produce_file(MOI, src, dry_run_out=dry)
    truth = read_truth(src)
    assert result.published == truth.valid and result.rejected == len(truth.bad)
    assert _scan(dry.read_text()) == []
    dec = FieldDecryptor.for_contract(MOI)
    clear = {
        dec.open("citizen_id", orjson.loads(line)["value"]["citizen_id"])
        for line in dry.read_bytes().splitlines()
    }
    assert len(clear) > 200 and clear <= source_ids  # sealed values are the agency's own ids
    rejects = tmp_path / "debt.csv.rejects.ndjson"
    write_rejects(result.rejects, rejects)
    assert result.rejects and _scan(rejects.read_text()) == []
    assert all(v.value is None or not _scan(str(v.value)) for r in result.rejects for v in r.violations)
