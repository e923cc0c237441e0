"""Valid normalised records of the tabular datasets (wire values), satisfying every contract rule.

Magnitudes are plausible for Thai sources: a sub-district administration (อบต.) reports tens to
a few hundred tonnes of waste a month, a city municipality thousands; e-service counts range
from tens to tens of thousands a day; informal-debt principals are log-normal around ฿50,000;
border-trade values are log-normal with the big checkpoints (Sadao, Mae Sot, Nong Khai) larger.
The pilot province of each contract gets about half of the records.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

from gdx.thai import make_citizen_id, province_name
from gdx.thai.provinces import all_provinces

SYLLABLES = ("บ้าน", "นา", "ดอน", "หนอง", "ท่า", "โคก", "สัน", "แม่", "เวียง", "ป่า", "ห้วย", "บาง", "ทุ่ง", "วัง")
SYLLABLES2 = ("ใหม่", "ทอง", "แก้ว", "หลวง", "งาม", "สวรรค์", "ยาว", "กลาง", "เหนือ", "ใต้", "ไผ่", "ขาม", "ม่วง")
LAO_TYPES = (
    ("sao", "องค์การบริหารส่วนตำบล", 0.70, (20, 300)),
    ("subdistrict_municipality", "เทศบาลตำบล", 0.22, (80, 900)),
    ("town_municipality", "เทศบาลเมือง", 0.06, (600, 3500)),
    ("city_municipality", "เทศบาลนคร", 0.02, (3000, 15000)),
)


def _province(rng: random.Random, pilot: tuple[str, ...]) -> str:
    if pilot and rng.random() < 0.5:
        return rng.choice(pilot)
    return rng.choice(all_provinces()).iso_3166_2


def _place(rng: random.Random) -> str:
    return rng.choice(SYLLABLES) + rng.choice(SYLLABLES2)


def waste(rng: random.Random, n: int, pilot: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """dla.municipal_waste_monthly: organisations × months (first of month), balanced tonnages."""
    n_orgs = max(1, min(n, max(4, n // 12)))
    orgs = []
    for k in range(n_orgs):
        code = _province(rng, pilot)
        kind, label, _, (lo, hi) = rng.choices(LAO_TYPES, weights=[t[2] for t in LAO_TYPES])[0]
        name = _place(rng)
        orgs.append(
            (
                f"{code[3:]}{rng.randint(1, 20):02d}{k % 1000:03d}",
                f"{label}{name}",
                kind,
                code,
                f"เมือง{name}",
                (lo, hi),
            )
        )
    months = -(-n // n_orgs)
    first = date(2024, 1, 1)
    i = 0
    for m in range(months):
        period = date(first.year + (first.month - 1 + m) // 12, (first.month - 1 + m) % 12 + 1, 1)
        for lao_code, lao_name, kind, code, district, (lo, hi) in orgs:
            if i >= n:
                return
            i += 1
            generated = round(rng.uniform(lo, hi), 2)
            proper = round(generated * rng.uniform(0.4, 0.75), 2)
            recycled = round(generated * rng.uniform(0.05, 0.2), 2)
            improper = round(max(0.0, generated - proper - recycled), 2)
            yield {
                "lao_code": lao_code, "lao_name_th": lao_name, "lao_type": kind, "province_code": code,
                "province_raw": province_name(code), "district_name": district, "period_month": period.isoformat(),
                "generated_tonnes": generated, "collected_tonnes": round(generated * rng.uniform(0.7, 1.0), 2),
                "properly_disposed_tonnes": proper, "recycled_tonnes": recycled, "improperly_disposed_tonnes": improper,
            }  # fmt: skip


SERVICES = (
    ("DOPA-REG-001", "ขอคัดสำเนาทะเบียนบ้าน", "dopa"),
    ("DOPA-ID-002", "ตรวจสอบสถานะบัตรประจำตัวประชาชน", "dopa"),
    ("DLT-TAX-010", "ชำระภาษีรถประจำปี", "dlt"),
    ("RD-PIT-001", "ยื่นแบบภาษีเงินได้บุคคลธรรมดา", "rd"),
    ("SSO-BEN-003", "ขอรับประโยชน์ทดแทนกรณีว่างงาน", "sso"),
    ("DBD-REG-005", "จดทะเบียนนิติบุคคลออนไลน์", "dbd"),
    ("DGA-BIZ-001", "ขออนุญาตประกอบกิจการผ่าน Biz Portal", "dga"),
)
CHANNELS = ("web", "mobile_app", "line_oa", "counter", "kiosk")


def eservice(rng: random.Random, n: int, pilot: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """dga.eservice_transactions_daily: unique (service, channel, province, date) keys."""
    provinces = list(dict.fromkeys([*pilot, *(p.iso_3166_2 for p in all_provinces())]))
    combos = [
        (s, c, p)
        for p in provinces[: max(1, min(len(provinces), 1 + n // 200))]
        for s in SERVICES
        for c in CHANNELS
    ]
    rng.shuffle(combos)
    combos.sort(key=lambda x: x[2] not in pilot)  # pilot province first: about half of the rows
    day0 = date(2024, 1, 1)
    i = 0
    d = 0
    while i < n:
        for (code, name, agency), channel, prov in combos:
            if i >= n:
                return
            i += 1
            scale = 40 if prov in pilot else 8
            tx = int(rng.lognormvariate(0, 0.8) * scale * (3 if channel in ("web", "mobile_app") else 1))
            yield {
                "service_code": code, "service_name_th": name, "agency_code": agency, "channel": channel,
                "province_code": prov, "province_raw": province_name(prov), "txn_date": (day0 + timedelta(days=d)).isoformat(),
                "transactions": tx, "fully_digital": channel not in ("counter",),
                "completed_transactions": int(tx * rng.uniform(0.85, 1.0)),
            }  # fmt: skip
        d += 1


CREDITORS = ("informal_lender", "relative", "employer", "shop", "other")


def debt(rng: random.Random, n: int, pilot: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """moi.informal_debt_cases: one case per row, dates and amounts consistent with the status."""
    for i in range(n):
        code = _province(rng, pilot)
        registered = date(2023, 1, 1) + timedelta(days=rng.randint(0, 700))
        status = rng.choices(("registered", "mediated", "settled", "cancelled"), weights=(35, 25, 30, 10))[0]
        principal = round(min(9_000_000.0, rng.lognormvariate(10.8, 0.9)), 2)
        mediated = (
            registered + timedelta(days=rng.randint(7, 120)) if status in ("mediated", "settled") else None
        )
        settled = (
            (mediated or registered) + timedelta(days=rng.randint(1, 90)) if status == "settled" else None
        )
        settled_amount = round(principal * rng.uniform(0.3, 0.9), 2) if status == "settled" else None
        be = registered.year + 543
        yield {
            "case_id": f"{rng.choice(('BRM', 'KKN', 'CRI', 'BKK'))}-{be}-{i + 1:06d}",
            "citizen_id": make_citizen_id(f"{rng.randint(1, 8)}{rng.randrange(10**11):011d}"),
            "province_code": code, "province_raw": province_name(code), "district_name": f"เมือง{_place(rng)}",
            "creditor_type": rng.choice(CREDITORS), "principal_thb": principal, "status": status,
            "registered_on": registered.isoformat(), "mediated_on": mediated.isoformat() if mediated else None,
            "settled_on": settled.isoformat() if settled else None, "settled_amount_thb": settled_amount,
            "debt_reduced_thb": round(principal - settled_amount, 2) if settled_amount is not None else None,
        }  # fmt: skip


CHECKPOINTS = (  # code, name, province, partner countries (illustrative codes)
    ("0803", "ด่านศุลกากรช่องเม็ก", "TH-34", ("LA",)),
    ("0807", "ด่านศุลกากรเขมราฐ", "TH-34", ("LA",)),
    ("0601", "ด่านศุลกากรแม่สาย", "TH-57", ("MM", "CN")),
    ("0602", "ด่านศุลกากรเชียงของ", "TH-57", ("LA", "CN")),
    ("0701", "ด่านศุลกากรหนองคาย", "TH-43", ("LA", "CN", "VN")),
    ("0704", "ด่านศุลกากรมุกดาหาร", "TH-49", ("LA", "VN", "CN")),
    ("0501", "ด่านศุลกากรอรัญประเทศ", "TH-27", ("KH",)),
    ("0901", "ด่านศุลกากรสะเดา", "TH-90", ("MY",)),
    ("0651", "ด่านศุลกากรแม่สอด", "TH-63", ("MM",)),
)


def border_trade(rng: random.Random, n: int, pilot: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """customs.border_trade_daily: unique (checkpoint, date, direction, partner, section) keys."""
    weights = [6 if cp[2] in pilot else 1 for cp in CHECKPOINTS]
    seen: set[tuple[str, str, str, str, int]] = set()
    day0 = date(2024, 1, 1)
    i = 0
    while i < n:
        code, name, prov, partners = rng.choices(CHECKPOINTS, weights=weights)[0]
        day = (day0 + timedelta(days=rng.randint(0, 729))).isoformat()
        direction = rng.choices(("export", "import", "transit_in", "transit_out"), weights=(55, 30, 8, 7))[0]
        partner = rng.choice(partners)
        section = rng.randint(1, 21)
        key = (code, day, direction, partner, section)
        if key in seen:
            continue
        seen.add(key)
        i += 1
        big = code in ("0901", "0651", "0701")
        value = round(rng.lognormvariate(14.5 if big else 13.0, 1.2), 2)
        yield {
            "checkpoint_code": code, "checkpoint_name_th": name, "province_code": prov,
            "province_raw": province_name(prov), "trade_date": day, "direction": direction,
            "partner_country": partner, "hs_section": section, "value_thb": min(value, 9.9e10),
            "quantity_tonnes": round(value / rng.uniform(15_000, 120_000), 3) if rng.random() < 0.85 else None,
        }  # fmt: skip


GENERATORS: dict[str, Callable[[random.Random, int, tuple[str, ...]], Iterator[dict[str, Any]]]] = {
    "dla.municipal_waste_monthly": waste,
    "dga.eservice_transactions_daily": eservice,
    "moi.informal_debt_cases": debt,
    "customs.border_trade_daily": border_trade,
}
