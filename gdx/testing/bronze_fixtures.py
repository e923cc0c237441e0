"""Deterministic fixture records for every Kafka-bound contract, landed by the engine itself.

`fixture_events` decides WHAT exists (the records, their Kafka timestamps, the edge cases below);
`write_fixture_lake` lands them without Kafka or Airflow through the engine's own landing
(`gdx.ingest.runner.land_raw_batch`, what `gdx ingest` runs per consumed batch): each record
encoded as a producer sends it (personal data sealed with the field keys, canonical JSON,
`gdx.events` key and headers), validated and gated, then bronze, quarantine and ledger written as
production writes them (docs/conventions.md, "Lake"): `_event_id` keyed for personal data,
`<name>_hmac` tokens, `_batch_id` = file stem, `rule_id` as the engine names it, the audit chain.
Records are cut into one batch per calendar month of publication (partition 0, offsets from 0).
Landing times come from the records, not the wall clock, so for a contract without personal data
every call writes the same bronze, quarantine and ledger bytes; with personal data the sealing is
randomised (as a producer's is), so `_event_id` (the id of the sealed wire value) and quarantined
ciphertext differ between calls, every other value is the same.

Edge cases the data holds on purpose (the dbt tests rely on them):

- air quality: station 73t has 17 valid PM2.5 hours on 2024-03-15 (excluded from 24-h means) and
  exactly 18 on 2024-03-16 (included); 57t has 17 on 2024-04-10; Bangkok (05t) has no data in
  March 2024; a reading of 57t on 2024-03-05 12:00 is revised later (a second event, same key).
- hotspots: Chiang Mai (TH-50) only in 2024 (no last-year data → change is null); detections at
  01:30 local time count for the local date, not the UTC one; data around 2024-09-30/10-01.
- waste: Prachuap Khiri Khan (TH-77) reports 0 t generated in 2024-06 (division by zero); one
  Phetchaburi LAO does not report 2024-02; no Phetchaburi LAO reports 2024-12 (a month with no
  data); 5760101's 2024-10 report is re-sent with corrected numbers.
- e-services: Khon Kaen has no data in July 2024; one day is re-sent with corrected counts.
- informal debt: debtors with two cases; cases move registered → mediated → settled as later
  events with the same case_id; registrations on 2024-09-30 and 2024-10-01 (fiscal-year edge).
- border trade: Nong Khai (TH-43) starts in 2024 (no last-year value → YoY growth is null).
- quarantine: every third batch carries one or two malformed copies of its last record, which the
  engine quarantines; the ledger reconciles.

A re-published topic (the same events landed a second time) is built through Kafka by
tests/integration/engine_lake.py.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdx.contracts.model import Contract, load_all

if TYPE_CHECKING:
    from gdx.ingest.model import RawBatch
    from gdx.security.field_keys import FieldKeyring

BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")
FIXTURE_PII_KEY = "k1:gdx-fixture-secret"
"""`<version>:<secret>` used for the `_hmac` columns of the fixtures (never a real key)."""
FIXTURE_END = date(2025, 3, 31)
"""Last day any fixture event is published; nothing is dated after it."""


@dataclass(frozen=True)
class Event:
    """One record as published: the wire value (JSON types) and its Kafka timestamp."""

    value: dict[str, Any]
    published_at: datetime


@dataclass
class LakeSummary:
    """What a fixture writer wrote, per contract id."""

    bronze_files: dict[str, list[Path]] = field(default_factory=dict)
    rows_landed: dict[str, int] = field(default_factory=dict)
    rows_quarantined: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# helpers


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _months(start: date, end: date) -> Iterator[date]:
    month = start.replace(day=1)
    while month <= end:
        yield month
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def _local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BANGKOK)


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds")


# --------------------------------------------------------------------------------------------
# the records of each dataset (wire form)

AIR_STATIONS = (
    ("57t", "ต.เวียง อ.เมือง จ.เชียงราย", "TH-57", "เชียงราย"),
    ("73t", "ต.เวียงพางคำ อ.แม่สาย จ.เชียงราย", "TH-57", "เชียงราย"),
    ("05t", "แขวงบางนา เขตบางนา กรุงเทพฯ", "TH-10", "กรุงเทพมหานคร"),
)
AIR_WINDOWS = (
    (date(2023, 3, 1), date(2023, 3, 31)),
    (date(2024, 2, 1), date(2024, 4, 30)),
    (date(2024, 9, 28), date(2024, 10, 3)),
)


def air_quality_events(rng: random.Random) -> list[Event]:
    events: list[Event] = []
    for station_id, name, province, province_raw in AIR_STATIONS:
        for start, end in AIR_WINDOWS:
            for day in _days(start, end):
                if station_id == "05t" and (day.year, day.month) == (2024, 3):
                    continue  # a month with no data for Bangkok
                haze = day.month in (2, 3, 4)
                if province == "TH-57":
                    base = rng.uniform(25, 110) if haze else rng.uniform(8, 30)
                else:
                    base = rng.uniform(15, 45) if haze else rng.uniform(8, 25)
                for hour in range(24):
                    if station_id == "73t" and day == date(2024, 3, 15) and hour >= 17:
                        continue  # 17 rows only: fewer than 18 valid hours
                    pm25: float | None = round(max(0.0, base * (0.8 + 0.4 * rng.random())), 1)
                    if station_id == "73t" and day == date(2024, 3, 16) and hour < 6:
                        pm25 = None  # 18 valid hours: exactly at the completeness threshold
                    if station_id == "57t" and day == date(2024, 4, 10) and hour < 7:
                        pm25 = None  # 17 valid hours
                    pm10 = round(pm25 * 1.6, 1) if pm25 is not None else round(base * 1.5, 1)
                    measured = _local(day, hour)
                    value = {
                        "station_id": station_id,
                        "station_name_th": name,
                        "province_code": province,
                        "province_raw": province_raw,
                        "measured_at": _iso(measured),
                        "pm25": pm25,
                        "pm10": pm10,
                        "o3": round(rng.uniform(5, 60), 1),
                        "co": round(rng.uniform(0.1, 2.5), 2),
                        "no2": round(rng.uniform(1, 40), 1),
                        "so2": None if station_id == "73t" else round(rng.uniform(0, 8), 1),
                        "aqi": None if pm25 is None else min(500, int(pm25 * 1.9)),
                    }
                    events.append(Event(value, measured + timedelta(minutes=70)))
    # PCD revises one reading two days later: same key, new value, a new event.
    for event in list(events):
        if event.value["station_id"] == "57t" and event.value["measured_at"] == "2024-03-05T12:00:00+07:00":
            revised = dict(event.value, pm25=round((event.value["pm25"] or 0) + 40.0, 1))
            events.append(Event(revised, event.published_at + timedelta(days=2)))
    return events


HOTSPOT_BOXES = {
    "TH-57": ((19.5, 20.4), (99.3, 100.5), "เชียงราย"),
    "TH-50": ((18.0, 19.9), (98.2, 99.5), "เชียงใหม่"),
}
HOTSPOT_PLAN = (
    # province, start, end, (min, max) detections a day
    ("TH-57", date(2023, 2, 1), date(2023, 4, 30), (2, 15)),
    ("TH-57", date(2024, 2, 1), date(2024, 4, 30), (3, 25)),
    ("TH-50", date(2024, 2, 1), date(2024, 4, 30), (5, 30)),
    ("TH-57", date(2024, 9, 28), date(2024, 10, 3), (0, 2)),
)
_OVERPASS = {"Terra": (10, 30), "Aqua": (13, 30), "N": (13, 20), "N20": (1, 30), "N21": (13, 40)}
_LAND_USE = (
    "conservation_forest",
    "national_reserve_forest",
    "alro_land",
    "agricultural",
    "community",
    "highway_margin",
    "other",
    None,
)


def fire_hotspot_events(rng: random.Random) -> list[Event]:
    events: list[Event] = []
    seen: set[str] = set()
    for province, start, end, (low, high) in HOTSPOT_PLAN:
        (lat0, lat1), (lon0, lon1), province_raw = HOTSPOT_BOXES[province]
        for day in _days(start, end):
            for _ in range(rng.randint(low, high)):
                satellite = rng.choices(("N20", "N21", "N", "Terra", "Aqua"), weights=(4, 3, 3, 1, 1))[0]
                instrument = "MODIS" if satellite in ("Terra", "Aqua") else "VIIRS"
                hour, minute = _OVERPASS[satellite]
                acquired = _local(day, hour, minute + rng.randint(0, 9))
                lat, lon = round(rng.uniform(lat0, lat1), 4), round(rng.uniform(lon0, lon1), 4)
                utc = acquired.astimezone(UTC)
                hotspot_id = hashlib.sha256(
                    f"{lat:.4f}|{lon:.4f}|{utc:%Y-%m-%dT%H:%M}Z|{satellite}".encode()
                ).hexdigest()[:20]
                if hotspot_id in seen:
                    continue
                seen.add(hotspot_id)
                if instrument == "MODIS":
                    pct: int | None = rng.randint(0, 100)
                    klass = "low" if pct < 30 else "nominal" if pct < 80 else "high"
                else:
                    pct, klass = None, rng.choice(("low", "nominal", "high"))
                value = {
                    "hotspot_id": hotspot_id,
                    "latitude": lat,
                    "longitude": lon,
                    "acquired_at": _iso(acquired),
                    "acq_date_local": acquired.date().isoformat(),
                    "satellite": satellite,
                    "instrument": instrument,
                    "confidence_pct": pct,
                    "confidence_class": klass,
                    "frp": round(rng.uniform(0.5, 60.0), 2),
                    "brightness": round(rng.uniform(300.0, 380.0), 2),
                    "daynight": "D" if 6 <= hour < 18 else "N",
                    "province_code": province,
                    "province_raw": province_raw,
                    "land_use": rng.choice(_LAND_USE),
                }
                events.append(Event(value, acquired + timedelta(hours=3)))
    return events


WASTE_LAOS = (
    # lao_code, name, type, province, province_raw, district, base tonnes a month
    ("5760101", "เทศบาลเมืองเพชรบุรี", "town_municipality", "TH-76", "เพชรบุรี", "เมืองเพชรบุรี", 900.0),
    ("5760201", "เทศบาลเมืองชะอำ", "town_municipality", "TH-76", "เพชรบุรี", "ชะอำ", 1200.0),
    ("6760301", "องค์การบริหารส่วนตำบลท่ายาง", "sao", "TH-76", "เพชรบุรี", "ท่ายาง", 300.0),
    (
        "5770101",
        "เทศบาลเมืองประจวบคีรีขันธ์",
        "town_municipality",
        "TH-77",
        "ประจวบคีรีขันธ์",
        "เมืองประจวบคีรีขันธ์",
        500.0,
    ),
)


def _waste_value(lao: tuple[Any, ...], month: date, rng: random.Random, zero: bool = False) -> dict[str, Any]:
    code, name, kind, province, raw, district, base = lao
    generated = 0.0 if zero else round(base * rng.uniform(0.85, 1.15), 1)
    proper = round(generated * rng.uniform(0.55, 0.75), 1)
    recycled = round(generated * rng.uniform(0.12, 0.25), 1)
    improper = round(generated - proper - recycled, 1)
    return {
        "lao_code": code,
        "lao_name_th": name,
        "lao_type": kind,
        "province_code": province,
        "province_raw": raw,
        "district_name": district,
        "period_month": month.isoformat(),
        "generated_tonnes": generated,
        "collected_tonnes": round(generated * rng.uniform(0.9, 1.0), 1),
        "properly_disposed_tonnes": proper,
        "recycled_tonnes": recycled,
        "improperly_disposed_tonnes": improper,
    }


def municipal_waste_events(rng: random.Random) -> list[Event]:
    events: list[Event] = []
    for month in _months(date(2023, 1, 1), date(2025, 2, 1)):
        for lao in WASTE_LAOS:
            if lao[3] == "TH-76" and month == date(2024, 12, 1):
                continue  # no Phetchaburi report at all this month
            if lao[0] == "6760301" and month == date(2024, 2, 1):
                continue  # one LAO did not report
            value = _waste_value(lao, month, rng, zero=lao[0] == "5770101" and month == date(2024, 6, 1))
            published = _local(month + timedelta(days=40), 12)
            events.append(Event(value, published))
            if lao[0] == "5760101" and month == date(2024, 10, 1):
                events.append(
                    Event(_waste_value(lao, month, rng), published + timedelta(days=5))
                )  # corrected report
    return events


ESERVICES = (
    ("DOPA-ID-001", "ขอคัดสำเนาทะเบียนบ้านอิเล็กทรอนิกส์", "dopa", True, ("mobile_app", "web")),
    ("DLA-TAX-010", "ชำระภาษีที่ดินและสิ่งปลูกสร้าง", "dla", False, ("counter", "web")),
    ("CUSTOMS-EXP-002", "ยื่นใบขนสินค้าขาออกอิเล็กทรอนิกส์", "customs", True, ("web",)),
)
ESERVICE_PROVINCES = (("TH-40", "ขอนแก่น", 1.0), ("TH-10", "กรุงเทพมหานคร", 4.0))


def eservice_events(rng: random.Random) -> list[Event]:
    events: list[Event] = []
    for day in _days(date(2023, 9, 1), date(2025, 3, 30)):
        for province, raw, scale in ESERVICE_PROVINCES:
            if province == "TH-40" and (day.year, day.month) == (2024, 7):
                continue  # a month with no data for Khon Kaen
            for code, name, agency, digital, channels in ESERVICES:
                for channel in channels:
                    transactions = int(rng.randint(20, 400) * scale)
                    value = {
                        "service_code": code,
                        "service_name_th": name,
                        "agency_code": agency,
                        "channel": channel,
                        "province_code": province,
                        "province_raw": raw,
                        "txn_date": day.isoformat(),
                        "transactions": transactions,
                        "fully_digital": digital,
                        "completed_transactions": int(transactions * rng.uniform(0.7, 1.0)),
                    }
                    published = _local(day + timedelta(days=1), 2)
                    events.append(Event(value, published))
                    if (province, code, channel, day) == (
                        "TH-40",
                        "DOPA-ID-001",
                        "mobile_app",
                        date(2024, 10, 1),
                    ):
                        corrected = dict(
                            value, transactions=transactions + 500, completed_transactions=transactions + 450
                        )
                        events.append(Event(corrected, published + timedelta(days=3)))
    return events


DEBT_CENTRES = (
    ("TH-31", "บุรีรัมย์", "BRM", 60, 50, ("เมืองบุรีรัมย์", "นางรอง", "ประโคนชัย")),
    ("TH-32", "สุรินทร์", "SRN", 12, 12, ("เมืองสุรินทร์",)),
)


def informal_debt_events(rng: random.Random) -> list[Event]:
    from gdx.thai.citizen_id import make_citizen_id

    events: list[Event] = []
    first, last = date(2023, 10, 1), date(2025, 2, 28)
    span = (last - first).days
    for province, raw, prefix, n_cases, n_debtors, districts in DEBT_CENTRES:
        debtors = [
            make_citizen_id(f"{3 if province == 'TH-31' else 1}{31 if province == 'TH-31' else 32}{i:09d}")
            for i in range(n_debtors)
        ]
        for i in range(n_cases):
            if province == "TH-31" and i == 0:
                registered = date(2024, 9, 30)  # last day of FY2567
            elif province == "TH-31" and i == 1:
                registered = date(2024, 10, 1)  # first day of FY2568
            else:
                registered = first + timedelta(days=rng.randint(0, span))
            year_be = registered.year + 543
            principal = round(rng.uniform(5_000, 300_000), 2)
            value: dict[str, Any] = {
                "case_id": f"{prefix}-{year_be}-{i + 1:06d}",
                "citizen_id": debtors[i % n_debtors],  # the first debtors hold two cases
                "province_code": province,
                "province_raw": raw,
                "district_name": districts[i % len(districts)],
                "creditor_type": rng.choice(
                    ("informal_lender", "informal_lender", "relative", "employer", "shop", "other")
                ),
                "principal_thb": principal,
                "status": "registered",
                "registered_on": registered.isoformat(),
                "mediated_on": None,
                "settled_on": None,
                "settled_amount_thb": None,
                "debt_reduced_thb": None,
            }
            events.append(Event(dict(value), _local(registered + timedelta(days=1), 9)))
            fate = rng.random()
            if fate < 0.1:
                cancelled = registered + timedelta(days=rng.randint(5, 30))
                if cancelled < FIXTURE_END:
                    events.append(
                        Event(dict(value, status="cancelled"), _local(cancelled + timedelta(days=1), 9))
                    )
                continue
            if fate < 0.35:
                continue  # still registered
            mediated = registered + timedelta(days=rng.randint(10, 60))
            if mediated >= FIXTURE_END:
                continue
            reduced = round(principal * rng.uniform(0.2, 0.5), 2)
            value.update(status="mediated", mediated_on=mediated.isoformat(), debt_reduced_thb=reduced)
            events.append(Event(dict(value), _local(mediated + timedelta(days=1), 9)))
            if fate < 0.7:
                continue
            settled = mediated + timedelta(days=rng.randint(10, 90))
            if settled >= FIXTURE_END:
                continue
            value.update(
                status="settled",
                settled_on=settled.isoformat(),
                settled_amount_thb=round(principal - reduced, 2),
            )
            events.append(Event(dict(value), _local(settled + timedelta(days=1), 9)))
    return events


CHECKPOINTS = (
    ("0803", "ด่านศุลกากรช่องเม็ก", "TH-34", "อุบลราชธานี", date(2023, 1, 1), 1.0),
    ("0806", "ด่านศุลกากรเขมราฐ", "TH-34", "อุบลราชธานี", date(2023, 1, 1), 0.3),
    ("0701", "ด่านศุลกากรหนองคาย", "TH-43", "หนองคาย", date(2024, 1, 1), 2.0),
)


def border_trade_events(rng: random.Random) -> list[Event]:
    events: list[Event] = []
    for day in _days(date(2023, 1, 1), date(2025, 3, 28)):
        growth = 1.0 + 0.12 * (day.year - 2023)
        for code, name, province, raw, since, scale in CHECKPOINTS:
            if day < since:
                continue
            flows = [("export", "LA", 16, 6e6), ("export", "LA", 4, 3e6), ("import", "LA", 2, 4e6)]
            if code == "0803" and day.weekday() == 0:
                flows.append(("transit_out", "CN", 16, 8e6))
            for direction, partner, section, base in flows:
                value_thb = round(base * scale * growth * rng.uniform(0.6, 1.4), 2)
                value = {
                    "checkpoint_code": code,
                    "checkpoint_name_th": name,
                    "province_code": province,
                    "province_raw": raw,
                    "trade_date": day.isoformat(),
                    "direction": direction,
                    "partner_country": partner,
                    "hs_section": section,
                    "value_thb": value_thb,
                    "quantity_tonnes": None if section == 16 else round(value_thb / 25_000, 3),
                }
                events.append(Event(value, _local(day + timedelta(days=2), 10)))
    return events


GENERATORS = {
    "pcd.air_quality_hourly": air_quality_events,
    "gistda.fire_hotspots": fire_hotspot_events,
    "dla.municipal_waste_monthly": municipal_waste_events,
    "dga.eservice_transactions_daily": eservice_events,
    "moi.informal_debt_cases": informal_debt_events,
    "customs.border_trade_daily": border_trade_events,
}


def fixture_events(contract_id: str, seed: int = 20240301) -> list[Event]:
    """The events of one contract in publish order (deterministic for a seed)."""
    rng = random.Random(f"{seed}:{contract_id}")
    events = GENERATORS[contract_id](rng)
    return sorted(events, key=lambda e: e.published_at)


# --------------------------------------------------------------------------------------------
# landing the events with the engine


def _batches(events: list[Event]) -> Iterator[list[Event]]:
    """Cut publish-ordered events into one batch per Bangkok calendar month of the Kafka timestamp."""
    batch: list[Event] = []
    current: tuple[int, int] | None = None
    for event in events:
        local = event.published_at.astimezone(BANGKOK)
        month = (local.year, local.month)
        if batch and month != current:
            yield batch
            batch = []
        current = month
        batch.append(event)
    if batch:
        yield batch


def _bad_copies(batch: list[Event], n: int) -> list[Event]:
    """`n` malformed copies of the batch's last event, published right after it: one with an
    undeclared property, one with a province code that does not exist (the engine quarantines both)."""
    last = batch[-1]
    spoilt = ({**last.value, "fixture_undeclared": 1}, {**last.value, "province_code": "TH-99"})
    return [Event(value, last.published_at) for value in spoilt[:n]]


def _field_keyring() -> FieldKeyring:
    """The configured field keys (the test session's); without a private key (a bench run, a
    developer shell) a throwaway pair that lives only in this process: the wire form is sealed and
    opened within the call, bronze keeps only tokens."""
    from gdx.security.field_keys import FieldKeyring
    from gdx.settings import Settings

    ring = FieldKeyring.from_settings(Settings.from_env())
    if ring.private:
        return ring
    from nacl.bindings import crypto_box_keypair

    _public, private = crypto_box_keypair()
    return FieldKeyring.build({}, {"k1": private})


def _raw_batch(contract: Contract, events: list[Event], first_offset: int, encryptor: Any) -> RawBatch:
    """The records as a producer publishes them (personal data sealed, canonical JSON, the
    contract's key and headers) and as the consumer hands them to landing: partition 0, one
    offset after another."""
    from gdx.events import canonical_json, headers_for, record_key
    from gdx.ingest.model import RawBatch

    raw = RawBatch(contract.topic)
    for i, event in enumerate(events):
        record = encryptor.encrypt_record(event.value) if encryptor is not None else dict(event.value)
        value = canonical_json(record)
        raw.partitions.append(0)
        raw.offsets.append(first_offset + i)
        raw.timestamps.append(int(event.published_at.timestamp() * 1000))
        raw.keys.append(record_key(contract, record))
        raw.values.append(value)
        raw.headers.append(list(headers_for(contract, value)))  # type: ignore[arg-type]
        raw.nbytes += len(value)
    return raw


def _fixed_clock(events: list[Event]) -> Callable[[], datetime]:
    """Start and end of the landing: 15 minutes after the batch's last record was published,
    12 s long (so the same records always give the same bytes)."""
    started = (max(e.published_at for e in events) + timedelta(minutes=15)).astimezone(UTC)
    return iter((started, started + timedelta(seconds=12))).__next__


def kafka_contracts(contracts_dir: Path | str | None = None) -> list[Contract]:
    """The contracts that are published on Kafka (not seeds) and have a fixture generator."""
    contracts = load_all(contracts_dir)
    return [c for cid, c in sorted(contracts.items()) if not c.is_seed and cid in GENERATORS]


def write_fixture_lake(
    lake_root: Path | str, contracts_dir: Path | str | None = None, only: Iterable[str] | None = None
) -> LakeSummary:
    """Land the fixture events of every Kafka contract (or `only` these ids) with the engine's own
    landing (`gdx.ingest.runner.land_raw_batch`: validation, GX gate, bronze, quarantine, ledger,
    audit chain), as if consumed from Kafka — one batch per month of publication, every third
    batch with one or two malformed records that the engine quarantines."""
    from gdx.ingest.config import IngestConfig
    from gdx.ingest.lakefs import Lake
    from gdx.ingest.pii import Pseudonymiser, key_for
    from gdx.ingest.runner import land_raw_batch
    from gdx.ingest.validate import Validator
    from gdx.security.field_crypto import FieldDecryptor, FieldEncryptor

    root = Path(lake_root)
    lake = Lake(str(root))
    wanted = set(only) if only is not None else None
    config = IngestConfig()
    keyring = _field_keyring()
    summary = LakeSummary()
    for contract in kafka_contracts(contracts_dir):
        if wanted is not None and contract.id not in wanted:
            continue
        pseudonymiser = Pseudonymiser(key_for(contract, FIXTURE_PII_KEY))
        personal = bool(contract.pii_properties)
        encryptor = FieldEncryptor(contract, keyring) if personal else None
        decryptor = FieldDecryptor(contract, keyring) if personal else None
        validator = Validator(contract, config, pseudonymiser, decryptor)
        offset = 0
        files: list[Path] = []
        landed = quarantined = 0
        for i, batch in enumerate(_batches(fixture_events(contract.id))):
            records = batch + _bad_copies(batch, (1 + i % 2) if i % 3 == 2 else 0)
            raw = _raw_batch(contract, records, offset, encryptor)
            _, entries = land_raw_batch(
                contract, raw, validator, lake, pseudonymiser, config, clock=_fixed_clock(records)
            )
            offset += len(records)
            for entry in entries:
                if entry.bronze_path is not None:
                    files.append(root / entry.bronze_path)
                landed += entry.rows_landed
                quarantined += entry.rows_quarantined
        summary.bronze_files[contract.id] = files
        summary.rows_landed[contract.id] = landed
        summary.rows_quarantined[contract.id] = quarantined
    return summary


def main() -> None:  # pragma: no cover - manual use: python -m gdx.testing.bronze_fixtures <lake>
    import sys

    lake = Path(sys.argv[1] if len(sys.argv) > 1 else "lake")
    summary = write_fixture_lake(lake)
    for cid, n in summary.rows_landed.items():
        print(
            f"{cid}: {n} rows landed, {summary.rows_quarantined[cid]} quarantined, {len(summary.bronze_files[cid])} files"
        )


if __name__ == "__main__":  # pragma: no cover
    main()
