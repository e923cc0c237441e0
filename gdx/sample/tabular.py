"""Render valid records as an agency CSV the way Thai offices export them, with planted errors.

Headers are the contract's Thai aliases; dates are Buddhist Era in mixed styles ("01/03/2567",
"1 มี.ค. 2567"); numbers carry thousands separators and, now and then, Thai digits; missing
values are "-"; provinces are Thai names, sometimes with "จ."; booleans ใช่/ไม่ใช่; some datasets
put a title line above the header; older systems write TIS-620 (cp874).
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date
from typing import Any

from gdx.contracts.model import Contract, Property
from gdx.sample.common import (
    THAI_DIGITS,
    BadRow,
    Truth,
    be_date_text,
    impossible_date_text,
    plan_bad,
    thousands,
)
from gdx.thai import province_name

ENCODINGS = {
    "dla.municipal_waste_monthly": "cp874",
    "moi.informal_debt_cases": "cp874",
    "dga.eservice_transactions_daily": "utf-8-sig",
    "customs.border_trade_daily": "utf-8-sig",
}
TITLES = {"dla.municipal_waste_monthly": "รายงานปริมาณขยะมูลฝอยรายเดือน องค์กรปกครองส่วนท้องถิ่น"}
_THAI = range(0x0E00, 0x0E80)


def thai_header(prop: Property) -> str:
    """The first Thai alias of a property (else its first alias, else its name)."""
    for alias in prop.aliases:
        if any(ord(ch) in _THAI for ch in alias):
            return alias
    return prop.aliases[0] if prop.aliases else prop.name


def columns(contract: Contract) -> list[Property]:
    """Properties that appear as columns: raw-audit properties are derived, not exported."""
    raw = {p.raw_property for p in contract.properties if p.raw_property}
    return [p for p in contract.properties if p.name not in raw]


def render_value(prop: Property, value: Any, rng: random.Random) -> str:
    if value is None:
        return rng.choice(["-", "", "-"])
    if prop.semantic_type == "province_code":
        name = province_name(value)
        return rng.choice([name, name, f"จ.{name}", f"จังหวัด{name}"]) if value != "TH-10" else "กรุงเทพฯ"
    if prop.semantic_type == "thai_citizen_id":
        v = str(value)
        return f"{v[0]}-{v[1:5]}-{v[5:10]}-{v[10:12]}-{v[12]}" if rng.random() < 0.3 else v
    t = prop.logical_type
    if t == "date":
        return be_date_text(date.fromisoformat(value), rng.randrange(4))
    if t == "boolean":
        return rng.choice([("ใช่" if value else "ไม่ใช่"), ("Y" if value else "N")])
    if t in ("number", "integer"):
        text = thousands(value) if t == "number" else (f"{value:,}" if value >= 1000 else str(value))
        return text.translate(THAI_DIGITS) if rng.random() < 0.03 else text
    return str(value)


def _corrupt(prop: Property, kind: str, rng: random.Random, contract: Contract) -> str:
    if kind == "wrong_type":
        return rng.choice(["abc", "ไม่ทราบ", "12 ตัน", "1,2,3"])
    if kind == "missing_required":
        return rng.choice(["", "-"])
    if kind == "impossible_date":
        return impossible_date_text(rng)
    if kind == "unknown_province":
        return rng.choice(["จังหวัดสมมติ", "Atlantis", "TH-99"])
    if kind == "out_of_range":
        hi = prop.maximum if isinstance(prop.maximum, int | float) else 1e9
        return thousands(float(hi) * 10 + 1) if prop.logical_type == "number" else f"{int(hi) * 10 + 1:,}"
    if kind == "bad_citizen_id":
        return "BAD"  # replaced with a real wrong-checksum id by the caller
    if kind == "not_in_enum":
        return rng.choice(["ไม่ระบุ", "unknown_x"])
    if kind == "pattern_mismatch":
        return rng.choice(["??", "x-1", "ABC DEF"])
    raise ValueError(kind)


def _targets(contract: Contract) -> dict[str, list[Property]]:
    """For each kind of planted error, the columns it can hit."""
    cols = columns(contract)
    numeric_ranged = [
        p for p in cols if p.logical_type in ("number", "integer") and isinstance(p.maximum, int | float)
    ]
    out: dict[str, list[Property]] = {
        "missing_required": [p for p in cols if p.required],
        "wrong_type": [p for p in cols if p.logical_type in ("number", "integer")],
        "impossible_date": [p for p in cols if p.logical_type == "date" and p.required],
        "unknown_province": [p for p in cols if p.semantic_type == "province_code"],
        "out_of_range": numeric_ranged,
        "bad_citizen_id": [p for p in cols if p.semantic_type == "thai_citizen_id"],
        "not_in_enum": [p for p in cols if p.enum and p.logical_type == "string"],
        "pattern_mismatch": [
            p for p in cols if p.pattern and p.semantic_type is None and p.logical_type == "string"
        ],
    }
    return {k: v for k, v in out.items() if v}


def _wrong_checksum(valid: str) -> str:
    return valid[:12] + str((int(valid[12]) + 1 + 0) % 10)


def render_csv(
    contract: Contract,
    records: list[dict[str, Any]],
    bad_ratio: float,
    seed: int,
    encoding: str | None = None,
) -> tuple[bytes, Truth]:
    """CSV bytes in the agency's style and the ground truth of which records are bad and why."""
    rng = random.Random(seed + 7919)  # a stream of its own: record values must not depend on rendering
    encoding = encoding or ENCODINGS.get(contract.id, "utf-8-sig")
    cols = columns(contract)
    targets = _targets(contract)
    kinds = [*targets, "bad_encoding"]
    bad = plan_bad(rng, len(records), bad_ratio, kinds)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    out = bytearray(b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b"")
    truth = Truth(contract.id, "csv", encoding, seed)

    def line(cells: list[str]) -> bytes:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow(cells)
        return buf.getvalue().encode(codec)

    line_no = 0
    title = TITLES.get(contract.id)
    if title:
        out += line([title])
        line_no += 1
    out += line([thai_header(p) for p in cols])
    line_no += 1
    for i, record in enumerate(records):
        cells = [render_value(p, record.get(p.name), rng) for p in cols]
        kind = bad.get(i)
        prop_name = None
        encoded: bytes | None = None
        if kind == "bad_encoding":
            text_cols = [
                j for j, p in enumerate(cols) if p.logical_type == "string" and cells[j] not in ("", "-")
            ]
            j = rng.choice(text_cols)
            prop_name = cols[j].name
            raw = line(cells)
            marker = cells[j].encode(codec)
            # an undefined byte in cp874 / a truncated multi-byte sequence in UTF-8
            broken = marker + (b"\xff" if codec == "cp874" else b"\xe0\xb8")
            encoded = raw.replace(marker, broken, 1)
        elif kind is not None:
            prop = rng.choice(targets[kind])
            j = cols.index(prop)
            prop_name = prop.name
            if kind == "bad_citizen_id":
                cells[j] = _wrong_checksum(str(record[prop.name]))
            else:
                cells[j] = _corrupt(prop, kind, rng, contract)
        out += encoded if encoded is not None else line(cells)
        line_no += 1
        if kind is not None:
            truth.bad.append(BadRow(i + 1, line_no, kind, prop_name))
    truth.records = len(records)
    truth.valid = len(records) - len(truth.bad)
    return bytes(out), truth
