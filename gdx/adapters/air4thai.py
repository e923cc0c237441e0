"""Air4Thai (Pollution Control Department) JSON payloads → air-quality source rows.

Two payloads, both `{"stations": [...]}`:

* live `getNewAQI_JSON`: one latest reading per station,
  `{"stationID": "57t", "nameTH": "ต.เวียง ... ", "areaTH": "ต.เวียง อ.เมือง, จ.เชียงราย",
  "AQILast": {"date": "2024-03-01", "time": "13:00", "PM25": {"aqi": "85", "value": "41.2"}, ...,
  "AQI": {"aqi": "85", "param": "PM25"}}}` — every number is a string, a missing pollutant is
  "-1", a missing AQI "-1"/"-999"/"-9999"; names carry trailing spaces; the province is the
  text after the last comma of `areaTH`; date+time are local (Asia/Bangkok) time.
* hourly history (`getHistoryData`): `{"stations": [{"stationID": "57t", "data":
  [{"DATETIMEDATA": "2024-03-01 13:00:00", "PM25": 41.2, "PM10": null, ...}]}]}` — numbers are
  JSON numbers, missing is null (negative sentinels are treated as missing too). Name and area
  come from the station object when present, else from `air4thai_stations.STATIONS`.

Pollutant columns map to contract properties by upper-casing the property name (pm25 → PM25),
so a contract that adds a pollutant needs no adapter change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from gdx.adapters.air4thai_stations import STATIONS
from gdx.adapters.base import SourceRow
from gdx.contracts.model import Contract
from gdx.producer.report import Violation

# Air4Thai writes "no reading" as a negative sentinel; concentrations and AQI are never negative.
MISSING_SENTINELS = frozenset({"-1", "-99", "-999", "-9999", "-1.0", "-999.0", "-9999.0", "", "-", "N/A"})
_IDENTITY = {"station_id", "station_name_th", "province_code", "province_raw", "measured_at"}


def province_from_area(area: str | None) -> str | None:
    """The province part of an Air4Thai `areaTH`/`areaEN`: the text after the last comma."""
    if not area:
        return None
    return area.rsplit(",", 1)[-1].strip() or None


def clean_value(value: Any) -> Any:
    """Air4Thai's missing markers (strings or numbers) → None; anything else unchanged."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return None if value < 0 else value
    if isinstance(value, str):
        text = value.strip()
        return None if text in MISSING_SENTINELS else text
    return value


def _measure_names(contract: Contract) -> list[tuple[str, str]]:
    return [(p.name, p.name.upper()) for p in contract.properties if p.name not in _IDENTITY]


def _identity(station: dict[str, Any]) -> tuple[Any, Any, Any]:
    sid = station.get("stationID")
    name, area = station.get("nameTH"), station.get("areaTH")
    if (name is None or area is None) and isinstance(sid, str) and sid in STATIONS:
        ref_name, ref_area = STATIONS[sid]
        name = ref_name if name is None else name
        area = ref_area if area is None else area
    return sid, name, area


def is_history(payload: Any) -> bool:
    stations = payload.get("stations") if isinstance(payload, dict) else None
    return bool(stations) and isinstance(stations[0], dict) and "data" in stations[0]


def is_live(payload: Any) -> bool:
    stations = payload.get("stations") if isinstance(payload, dict) else None
    return bool(stations) and isinstance(stations[0], dict) and "AQILast" in stations[0]


class Air4ThaiAdapter:
    """Reads either Air4Thai payload (detected from its shape)."""

    name = "air4thai"

    def read(self, path: Path, contract: Contract, stats: dict[str, int]) -> Iterator[SourceRow]:
        payload = orjson.loads(Path(path).read_bytes())
        if not isinstance(payload, dict) or not isinstance(payload.get("stations"), list):
            raise ValueError(f"{path}: not an Air4Thai payload (no top-level 'stations' list)")
        if is_history(payload):
            yield from self.history_rows(payload, contract)
        else:
            yield from self.live_rows(payload, contract)

    def live_rows(self, payload: dict[str, Any], contract: Contract) -> Iterator[SourceRow]:
        measures = _measure_names(contract)
        for n, station in enumerate(payload["stations"], start=1):
            sid, name, area = _identity(station)
            last = station.get("AQILast") or {}
            date, time = last.get("date"), last.get("time")
            values: dict[str, Any] = {
                "station_id": sid,
                "station_name_th": name,
                "province_code": province_from_area(area),
                "measured_at": f"{date} {time}" if date and time else None,
            }
            for prop, key in measures:
                item = last.get(key)
                if key == "AQI":  # the overall index: {"aqi": "85", "param": "PM25"}
                    values[prop] = (
                        clean_value(item.get("aqi")) if isinstance(item, dict) else clean_value(item)
                    )
                else:
                    values[prop] = (
                        clean_value(item.get("value")) if isinstance(item, dict) else clean_value(item)
                    )
            violations = (
                []
                if date and time
                else [Violation("measured_at", "missing_required", "AQILast has no date/time")]
            )
            yield SourceRow(n, None, values, raw=_slim(station), violations=violations)

    def history_rows(self, payload: dict[str, Any], contract: Contract) -> Iterator[SourceRow]:
        measures = _measure_names(contract)
        n = 0
        for station in payload["stations"]:
            sid, name, area = _identity(station)
            province = province_from_area(area)
            for item in station.get("data") or ():
                n += 1
                if not isinstance(item, dict):
                    yield SourceRow(
                        n,
                        None,
                        {},
                        raw=item,
                        violations=[Violation(None, "wrong_type", "data item is not an object")],
                    )
                    continue
                values: dict[str, Any] = {
                    "station_id": sid,
                    "station_name_th": name,
                    "province_code": province,
                    "measured_at": item.get("DATETIMEDATA"),
                }
                for prop, key in measures:
                    values[prop] = clean_value(item.get(key))
                yield SourceRow(n, None, values, raw={"stationID": sid, **item})


def _slim(station: dict[str, Any]) -> dict[str, Any]:
    # The forecast block is large and irrelevant to a reject: keep the rest for the data owner.
    return {k: v for k, v in station.items() if k != "forecast"}
