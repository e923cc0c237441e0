"""NASA FIRMS / GISTDA hotspot CSV (MODIS or VIIRS) → fire-hotspot source rows.

Quirks handled:
* MODIS columns `brightness, confidence (0-100), bright_t31`; VIIRS `bright_ti4, confidence
  (l/n/h), bright_ti5`. MODIS confidence → `confidence_pct` and the class (0–29 low, 30–79
  nominal, 80–100 high); VIIRS l/n/h → low/nominal/high with no percentage.
* `acq_date` + `acq_time` are UTC; `acq_time` is HHMM but often unpadded ("5" = 00:05,
  "45" = 00:45, "130" = 01:30). The instant is converted to Asia/Bangkok, so the local date can
  be the next day (acq_date 2024-03-01, acq_time 1830 → 2024-03-02T01:30+07:00).
* satellite codes: T/Terra, A/Aqua, N/SNPP (Suomi NPP), 1/N20/J1 (NOAA-20), 2/N21/J2 (NOAA-21);
  the instrument is implied by the satellite when the column is missing.
* exact duplicate rows (same line text: FIRMS area downloads overlap) are dropped and counted.
* province: GISTDA exports carry province columns (PV_TN / PV_EN / จังหวัด / province); FIRMS
  files do not, so the pixel is placed with an offline nearest-city lookup (`gdx.adapters.geo`);
  a pixel whose nearest place is outside Thailand is rejected "outside_thailand".
* `hotspot_id` = sha256("<lat:.4f>|<lon:.4f>|<acquired_at UTC YYYY-MM-DDTHH:MMZ>|<satellite>")[:20],
  the contract's deterministic id, so a re-sent detection keeps its id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from gdx.adapters.base import HeaderMap, SourceRow
from gdx.adapters.textfile import read_delimited
from gdx.contracts.model import Contract
from gdx.producer.report import Violation

_BANGKOK = timezone(timedelta(hours=7))

SATELLITES = {
    "t": "Terra", "terra": "Terra",
    "a": "Aqua", "aqua": "Aqua",
    "n": "N", "npp": "N", "snpp": "N", "suomi npp": "N", "suomi-npp": "N",
    "1": "N20", "n20": "N20", "j1": "N20", "noaa-20": "N20", "noaa20": "N20",
    "2": "N21", "j2": "N21", "noaa-21": "N21", "noaa21": "N21", "n21": "N21",
}  # fmt: skip
INSTRUMENT_OF = {"Terra": "MODIS", "Aqua": "MODIS", "N": "VIIRS", "N20": "VIIRS", "N21": "VIIRS"}
VIIRS_CLASS = {"l": "low", "n": "nominal", "h": "high", "low": "low", "nominal": "nominal", "high": "high"}
LAND_USE = {
    "ป่าอนุรักษ์": "conservation_forest",
    "ป่าสงวนแห่งชาติ": "national_reserve_forest",
    "ป่าสงวน": "national_reserve_forest",
    "พื้นที่ สปก.": "alro_land",
    "พื้นที่สปก.": "alro_land",
    "สปก.": "alro_land",
    "พื้นที่เกษตร": "agricultural",
    "พื้นที่เกษตรกรรม": "agricultural",
    "ชุมชนและอื่นๆ": "community",
    "ชุมชน": "community",
    "พื้นที่ริมทางหลวง": "highway_margin",
    "ริมทางหลวง": "highway_margin",
    "อื่นๆ": "other",
}
# FIRMS/GISTDA column → our working name; contract aliases are consulted as well.
_COLUMNS = {
    "latitude": "latitude", "lat": "latitude",
    "longitude": "longitude", "lon": "longitude", "long": "longitude",
    "acq_date": "acq_date", "acq_time": "acq_time",
    "satellite": "satellite", "instrument": "instrument",
    "confidence": "confidence", "frp": "frp", "daynight": "daynight",
    "brightness": "brightness", "bright_ti4": "brightness",
    "pv_tn": "province", "province_code": "province", "pv_en": "province", "province": "province", "changwat": "province", "จังหวัด": "province",
    "lu_name": "land_use", "land_use": "land_use", "landuse": "land_use", "การใช้ประโยชน์ที่ดิน": "land_use",
}  # fmt: skip


def parse_acq_time(text: str) -> tuple[int, int]:
    """(hour, minute) of a FIRMS HHMM time that may be unpadded ("5", "45", "130", "0130")."""
    t = str(text).strip()
    if not t.isdigit() or len(t) > 4:
        raise ValueError(f"acq_time {text!r} is not HHMM")
    t = t.zfill(4)
    hour, minute = int(t[:2]), int(t[2:])
    if hour > 23 or minute > 59:
        raise ValueError(f"acq_time {text!r} is not a time of day")
    return hour, minute


def acquired_at(acq_date: str, acq_time: str) -> datetime:
    """The UTC acquisition instant as an aware datetime in Asia/Bangkok."""
    d = datetime.strptime(str(acq_date).strip(), "%Y-%m-%d")
    hour, minute = parse_acq_time(acq_time)
    return d.replace(hour=hour, minute=minute, tzinfo=UTC).astimezone(_BANGKOK)


def hotspot_id(lat: float, lon: float, at: datetime, satellite: str) -> str:
    utc = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
    return hashlib.sha256(f"{lat:.4f}|{lon:.4f}|{utc}|{satellite}".encode()).hexdigest()[:20]


def modis_class(pct: float) -> str:
    return "low" if pct < 30 else "nominal" if pct < 80 else "high"


class FirmsAdapter:
    """FIRMS MODIS/VIIRS CSV, or a GISTDA export of it with province/land-use columns."""

    name = "firms"

    def __init__(self, geocode: bool = True) -> None:
        self.geocode = geocode

    def read(self, path: Path, contract: Contract, stats: dict[str, int]) -> Iterator[SourceRow]:
        encoding, rows = read_delimited(path)
        rows = iter(rows)
        header = next(rows, None)
        if header is None:
            return
        names = [c.strip() for c in header.cells]
        aliases = HeaderMap(contract)
        cols: dict[str, int] = {}
        for i, h in enumerate(names):
            key = _COLUMNS.get(h.strip().casefold()) or _COLUMNS.get(aliases.resolve(h) or "")
            if key is not None:
                cols.setdefault(key, i)
        missing = [c for c in ("latitude", "longitude", "acq_date", "acq_time", "satellite") if c not in cols]
        if missing:
            raise ValueError(f"{path}: not a FIRMS hotspot file, missing columns {missing}; header: {names}")
        seen: set[tuple[str, ...]] = set()
        pending: list[tuple[SourceRow, float, float]] = []
        n = 0
        dropped = 0
        for row in rows:
            key = tuple(c.strip() for c in row.cells)
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            n += 1
            source = self._row(n, row.line, names, row.cells, cols)
            if row.encoding_error:
                source.violations.append(
                    Violation(None, "bad_encoding", "the row contains undecodable bytes")
                )
            if source.values.get("province_code") is None and self.geocode and "_lat" in source.values:
                pending.append((source, source.values["_lat"], source.values["_lon"]))
                if len(pending) >= 10_000:  # the lookup is vectorised: batch the rows that need it
                    yield from self._place(pending)
                    pending = []
            else:
                yield self._finish(source)
        yield from self._place(pending)
        stats["duplicates_dropped"] = stats.get("duplicates_dropped", 0) + dropped

    @staticmethod
    def _finish(source: SourceRow) -> SourceRow:
        source.values.pop("_lat", None)
        source.values.pop("_lon", None)
        return source

    def _place(self, pending: list[tuple[SourceRow, float, float]]) -> Iterator[SourceRow]:
        if not pending:
            return
        from gdx.adapters.geo import locate_provinces

        found = locate_provinces([(lat, lon) for _, lat, lon in pending])
        for (source, _, _), place in zip(pending, found, strict=True):
            if place.province_code is None:
                source.violations.append(
                    Violation(
                        "province_code",
                        "outside_thailand",
                        f"nearest place is {place.name} ({place.country}): the pixel is outside Thailand",
                        f"{source.values['_lat']},{source.values['_lon']}",
                    )
                )
            else:
                source.values["province_code"] = place.province_code
                source.values["province_raw"] = None
            yield self._finish(source)

    @staticmethod
    def _row(n: int, line: int, names: list[str], cells: list[str], cols: dict[str, int]) -> SourceRow:
        def get(key: str) -> str | None:
            i = cols.get(key)
            if i is None or i >= len(cells):
                return None
            v = cells[i].strip()
            return v or None

        raw = dict(zip(names, cells, strict=False))
        violations: list[Violation] = []
        sat_raw = get("satellite")
        satellite = SATELLITES.get(sat_raw.casefold(), sat_raw) if sat_raw else None
        instrument = (get("instrument") or INSTRUMENT_OF.get(satellite or "", "")).upper() or None
        values: dict[str, Any] = {
            "latitude": get("latitude"),
            "longitude": get("longitude"),
            "satellite": satellite,
            "instrument": instrument,
            "frp": get("frp"),
            "brightness": get("brightness"),
            "daynight": (get("daynight") or "").upper() or None,
        }
        # confidence: a number for MODIS, a letter for VIIRS
        conf = get("confidence")
        if conf is not None:
            if conf.casefold() in VIIRS_CLASS:
                values["confidence_class"] = VIIRS_CLASS[conf.casefold()]
            else:
                try:
                    pct = float(conf)
                except ValueError:
                    violations.append(
                        Violation(
                            "confidence_class",
                            "wrong_type",
                            f"confidence {conf!r} is neither 0-100 nor l/n/h",
                            conf,
                        )
                    )
                else:
                    values["confidence_pct"] = conf
                    values["confidence_class"] = modis_class(pct) if 0 <= pct <= 100 else None
        # time: UTC → Bangkok
        date_s, time_s = get("acq_date"), get("acq_time")
        at: datetime | None = None
        if date_s is None or time_s is None:
            violations.append(Violation("acquired_at", "missing_required", "acq_date/acq_time missing"))
        else:
            try:
                at = acquired_at(date_s, time_s)
            except ValueError as exc:
                violations.append(Violation("acquired_at", "impossible_date", str(exc), f"{date_s} {time_s}"))
        if at is not None:
            values["acquired_at"] = at
            values["acq_date_local"] = at.date()
        # identity
        try:
            lat, lon = float(values["latitude"]), float(values["longitude"])  # type: ignore[arg-type]
        except (TypeError, ValueError):
            lat = lon = None  # the normaliser reports the bad coordinate
        if lat is not None and lon is not None:
            values["_lat"], values["_lon"] = lat, lon
            if at is not None and satellite:
                values["hotspot_id"] = hotspot_id(lat, lon, at, satellite)
        province = get("province")
        if province is not None:
            values["province_code"] = province
            values["province_raw"] = province
        land = get("land_use")
        if land is not None:
            values["land_use"] = LAND_USE.get(land, land)
        return SourceRow(n, line, values, raw=raw, violations=violations)
