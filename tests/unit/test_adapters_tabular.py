"""Tabular sources: header aliases, encodings, Thai number/date conventions, every container format."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import orjson
import pytest

from gdx.adapters.normalize import Normaliser
from gdx.adapters.registry import UnknownFormat, detect_format, get_adapter, resolve
from gdx.adapters.textfile import decode_lines, detect_encoding
from gdx.contracts.model import get_contract

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sources"
DGA = "dga.eservice_transactions_daily"


def _run(contract_id, path, fmt="auto"):
    contract = get_contract(contract_id)
    rows = list(resolve(fmt, path).read(Path(path), contract, {}))
    normalise = Normaliser(contract).normalise
    return rows, [normalise(r.values) for r in rows]


def test_tis620_file_with_title_thai_digits_and_be_dates():
    rows, out = _run("dla.municipal_waste_monthly", FIXTURES / "dla_waste_tis620.csv")
    assert detect_encoding((FIXTURES / "dla_waste_tis620.csv").read_bytes()) == "cp874"
    assert [r.line for r in rows] == [3, 4]  # title on line 1, header on line 2
    (a, va), (b, vb) = out
    assert not va and not vb
    assert (
        a["lao_name_th"] == "เทศบาลเมืองเพชรบุรี"
        and a["province_code"] == "TH-76"
        and a["province_raw"] == "จ.เพชรบุรี"
    )
    assert a["period_month"] == "2024-03-01" and b["period_month"] == "2024-03-01"
    assert a["generated_tonnes"] == 1250.5 and a["collected_tonnes"] == 1200.0
    assert b["generated_tonnes"] == 120.5  # Thai digits
    assert b["collected_tonnes"] is None  # "-" is empty


def _write_csv(tmp_path: Path, text: str, encoding: str = "utf-8", name: str = "x.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


HEADER_TH = "รหัสบริการ,ชื่อบริการ,รหัสหน่วยงาน,ช่องทาง,จังหวัด,วันที่,จำนวนธุรกรรม,ดิจิทัลเต็มรูปแบบ,จำนวนธุรกรรมที่สำเร็จ\n"


def test_header_aliases_are_case_and_space_insensitive(tmp_path):
    text = " Service Code ,SERVICE_NAME,agency,Channel,Province,Date,TXN count,is fully digital,Completed\n"
    text += 'DOPA-1,บริการ,dopa,web,Khon Kaen,2024-03-01,"12,345",Y,"12,000"\n'
    (row,), ((rec, v),) = _run(DGA, _write_csv(tmp_path, text))
    assert not v
    assert (
        rec["service_code"] == "DOPA-1"
        and rec["province_code"] == "TH-40"
        and rec["province_raw"] == "Khon Kaen"
    )
    assert rec["transactions"] == 12345 and rec["completed_transactions"] == 12000
    assert rec["fully_digital"] is True


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("ใช่", True),
        ("ไม่ใช่", False),
        ("Y", True),
        ("n", False),
        ("true", True),
        ("FALSE", False),
        ("1", True),
        ("0", False),
    ],
)
def test_boolean_words(tmp_path, word, value):
    text = HEADER_TH + f"S1,ชื่อ,dopa,web,ขอนแก่น,1 มี.ค. 2567,10,{word},9\n"
    _, ((rec, v),) = _run(DGA, _write_csv(tmp_path, text))
    assert not v and rec["fully_digital"] is value and rec["txn_date"] == "2024-03-01"


def test_bom_utf8(tmp_path):
    path = _write_csv(tmp_path, HEADER_TH + "S1,ชื่อ,dopa,web,ขอนแก่น,01/03/2567,10,ใช่,9\n", "utf-8-sig")
    assert detect_encoding(path.read_bytes()) == "utf-8-sig"
    _, ((rec, v),) = _run(DGA, path)
    assert not v and rec["service_code"] == "S1"


def test_broken_bytes_reject_only_their_row(tmp_path):
    good = (HEADER_TH + "S1,ชื่อ,dopa,web,ขอนแก่น,01/03/2567,10,ใช่,9\n").encode()
    bad = "S2,ชื่อ".encode() + b"\xe0\xb8" + ",dopa,web,ขอนแก่น,01/03/2567,10,ใช่,9\n".encode()
    path = tmp_path / "broken.csv"
    path.write_bytes(good + bad + "S3,ชื่อ,dopa,web,ขอนแก่น,01/03/2567,10,ใช่,9\n".encode())
    assert detect_encoding(path.read_bytes()) == "utf-8"  # mostly valid UTF-8: not mistaken for cp874
    rows, out = _run(DGA, path)
    assert [r.line for r in rows] == [2, 3, 4]
    assert [bool(r.violations) for r in rows] == [False, True, False]
    assert rows[1].violations[0].code == "bad_encoding"


def test_broken_byte_in_cp874_file(tmp_path):
    text = HEADER_TH + "S1,ชื่อ,dopa,web,ขอนแก่น,01/03/2567,10,ใช่,9\n"
    data = (
        text.encode("cp874")
        + "S2,ชื่อ".encode("cp874")
        + b"\xff"
        + ",dopa,web,ขอนแก่น,01/03/2567,10,ใช่,9\n".encode("cp874")
    )
    assert decode_lines(data).encoding == "cp874"
    path = tmp_path / "b.csv"
    path.write_bytes(data)
    rows, _ = _run(DGA, path)
    assert [bool(r.violations) for r in rows] == [False, True]


def test_unconvertible_values_are_violations(tmp_path):
    text = HEADER_TH + "S1,ชื่อ,dopa,web,ไม่มีจังหวัดนี้,30 ก.พ. 2567,สิบ,บางที,9\n"
    _, ((rec, v),) = _run(DGA, _write_csv(tmp_path, text))
    codes = {x.property: x.code for x in v}
    assert codes == {
        "province_code": "unknown_province",
        "txn_date": "impossible_date",
        "transactions": "wrong_type",
        "fully_digital": "wrong_type",
    }
    assert rec["province_raw"] == "ไม่มีจังหวัดนี้"


def test_tsv(tmp_path):
    text = HEADER_TH.replace(",", "\t") + "S1\tชื่อ\tdopa\tweb\tขอนแก่น\t2567-03-01\t1,000\tใช่\t999\n"
    path = _write_csv(tmp_path, text, name="x.tsv")
    assert detect_format(path) == "tsv"
    _, ((rec, v),) = _run(DGA, path)
    assert not v and rec["transactions"] == 1000 and rec["txn_date"] == "2024-03-01"


def test_xlsx_keeps_cell_types(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["รายงานธุรกรรม"])
    ws.append([h.strip() for h in HEADER_TH.split(",")])
    ws.append(["S1", "ชื่อ", "dopa", "mobile_app", "ขอนแก่น", datetime(2024, 3, 1), 1500, True, 1400])
    ws.append(["S2", "ชื่อ", "dopa", "web", "จ.ขอนแก่น", date(2024, 3, 2), "2,500", "ไม่ใช่", 2000.0])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    assert detect_format(path) == "xlsx"
    rows, out = _run(DGA, path)
    assert [r.line for r in rows] == [3, 4]
    (a, va), (b, vb) = out
    assert not va and not vb
    assert a["txn_date"] == "2024-03-01" and a["transactions"] == 1500 and a["fully_digital"] is True
    assert b["transactions"] == 2500 and b["completed_transactions"] == 2000 and b["fully_digital"] is False


def test_json_array_and_ndjson(tmp_path):
    rec = {"service_code": "S1", "ชื่อบริการ": "ชื่อ", "agency_code": "dopa", "channel": "kiosk", "จังหวัด": "ขอนแก่น",
           "txn_date": "2024-03-01", "transactions": 5, "fully_digital": False, "completed_transactions": 5}  # fmt: skip
    arr = tmp_path / "a.json"
    arr.write_bytes(orjson.dumps([rec, rec]))
    assert detect_format(arr) == "json"
    _, out = _run(DGA, arr)
    assert [v for _, v in out] == [[], []]
    nd = tmp_path / "a.ndjson"
    nd.write_bytes(orjson.dumps(rec) + b"\n{not json\n" + orjson.dumps(rec) + b"\n")
    assert detect_format(nd) == "ndjson"
    rows, out = _run(DGA, nd)
    assert [r.line for r in rows] == [1, 2, 3]
    assert rows[1].violations[0].code == "bad_json"


def test_no_matching_header_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no column matches"):
        _run(DGA, _write_csv(tmp_path, "foo,bar\n1,2\n"))


def test_format_detection(tmp_path):
    assert detect_format(FIXTURES / "air4thai_live.json") == "air4thai"
    assert detect_format(FIXTURES / "air4thai_history.json") == "air4thai"
    assert detect_format(FIXTURES / "firms_viirs.csv") == "firms"
    assert detect_format(FIXTURES / "gistda_hotspots.csv") == "firms"
    assert detect_format(FIXTURES / "dla_waste_tis620.csv") == "csv"
    weird = tmp_path / "x.bin"
    weird.write_bytes(b"hello")
    with pytest.raises(UnknownFormat):
        detect_format(weird)
    with pytest.raises(UnknownFormat):
        get_adapter("parquet")
