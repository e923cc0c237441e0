"""Synthetic Air4Thai hourly history (`{"stations": [{"stationID", "data": [...]}]}`).

Realism: the 24 reference stations (Chiang Rai, the pilot province, has 5 of them); PM2.5 with
a haze season peaking in March in the north (Feb–Apr) and a milder cool-season peak in
Bangkok/central, a morning diurnal peak and log-normal noise; PM10 ≈ 1.3–1.9 × PM2.5; ozone
peaking in the afternoon; some stations without SO2/CO analysers (null), ~1.5 % random gaps;
AQI from the Thai PM2.5 breakpoints. Vectorised with numpy: 1M rows take a few seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson

from gdx.adapters.air4thai import province_from_area
from gdx.adapters.air4thai_stations import STATIONS
from gdx.sample.common import BadRow, Truth, plan_bad
from gdx.thai import normalize_province

START = datetime(2024, 1, 1)
NORTH = {"TH-57", "TH-50", "TH-52", "TH-58", "TH-55", "TH-51", "TH-54", "TH-56", "TH-63"}
# Monthly PM2.5 baseline (µg/m³), January first.
NORTH_BASE = np.array([38, 62, 92, 70, 26, 12, 10, 10, 11, 15, 22, 30], dtype=float)
OTHER_BASE = np.array([42, 36, 28, 22, 14, 11, 10, 10, 12, 18, 30, 40], dtype=float)
AQI_PM25_X = np.array([0, 15, 25, 37.5, 75, 500])
AQI_PM25_Y = np.array([0, 25, 50, 100, 200, 500])
POLLUTANTS = ("PM25", "PM10", "O3", "CO", "NO2", "SO2", "AQI")
BAD_KINDS = [
    "wrong_type",
    "missing_required",
    "impossible_date",
    "out_of_range",
    "unknown_province",
    "pattern_mismatch",
]


def _columns(rows: int, seed: int) -> dict[str, Any]:
    """Station index, hour index and every pollutant as arrays (NaN = missing)."""
    rng = np.random.default_rng(seed)
    ids = list(STATIONS)
    n_st = len(ids)
    per = math.ceil(rows / n_st) if rows else 0
    station = np.repeat(np.arange(n_st), per)[:rows]
    hour = np.tile(np.arange(per), n_st)[:rows]
    months = (
        np.array([(START + timedelta(hours=int(h))).month - 1 for h in range(per)], dtype=int)[hour]
        if rows
        else hour
    )
    hod = hour % 24
    codes = [normalize_province(province_from_area(STATIONS[i][1])) for i in ids]
    north = np.array([c in NORTH for c in codes])[station]
    base = np.where(north, NORTH_BASE[months], OTHER_BASE[months])
    base *= np.where(np.array([c == "TH-57" for c in codes])[station], 1.15, 1.0)
    diurnal = 1 + 0.25 * np.cos(2 * np.pi * (hod - 7) / 24)
    pm25 = np.round(base * diurnal * rng.lognormal(0, 0.35, rows), 1)
    pm10 = np.round(pm25 * rng.uniform(1.3, 1.9, rows), 1)
    o3 = np.round(12 + 30 * np.clip(np.sin(np.pi * (hod - 8) / 12), 0, None) * rng.uniform(0.6, 1.4, rows), 1)
    co = np.round(0.25 + pm25 / 160 * rng.uniform(0.7, 1.3, rows), 2)
    no2 = np.round(rng.gamma(3, 4, rows), 1)
    so2 = np.round(rng.gamma(2, 1, rows), 1)
    cols = {"PM25": pm25, "PM10": pm10, "O3": o3, "CO": co, "NO2": no2, "SO2": so2}
    # analysers some stations lack, then random gaps
    lacks = {"SO2": rng.random(n_st) < 0.5, "CO": rng.random(n_st) < 0.3, "NO2": rng.random(n_st) < 0.2}
    for name, arr in cols.items():
        gaps = rng.random(rows) < 0.015
        if name in lacks:
            gaps |= lacks[name][station]
        arr[gaps] = np.nan
    aqi = np.interp(np.nan_to_num(pm25, nan=0.0), AQI_PM25_X, AQI_PM25_Y).round()
    aqi[np.isnan(pm25)] = np.nan
    cols["AQI"] = aqi
    stamps = [(START + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M:%S") for h in range(per)]
    return {"ids": ids, "station": station, "hour": hour, "stamps": stamps, **cols}


def _lists(cols: dict[str, Any]) -> dict[str, list[Any]]:
    out = {}
    for name in POLLUTANTS:
        arr = cols[name]
        values = arr.tolist()
        mask = np.isnan(arr).tolist()
        if name == "AQI":
            out[name] = [None if m else int(v) for v, m in zip(values, mask, strict=True)]
        else:
            out[name] = [None if m else v for v, m in zip(values, mask, strict=True)]
    return out


def generate_history(rows: int, bad_ratio: float, seed: int) -> tuple[bytes, Truth]:
    """The Air4Thai history JSON bytes and its ground truth."""
    cols = _columns(rows, seed)
    vals = _lists(cols)
    station = cols["station"].tolist()
    hour = cols["hour"].tolist()
    stamps, ids = cols["stamps"], cols["ids"]
    rng = random.Random(seed)
    bad = plan_bad(rng, rows, bad_ratio, BAD_KINDS)
    blocks: dict[int, list[tuple[int, dict[str, Any], str | None]]] = {i: [] for i in range(len(ids))}
    moved: dict[str, list[tuple[int, dict[str, Any], str | None]]] = {
        "unknown_province": [],
        "pattern_mismatch": [],
    }
    pm25, pm10, o3, co, no2, so2, aqi = (vals[k] for k in POLLUTANTS)
    for i in range(rows):
        item = {
            "DATETIMEDATA": stamps[hour[i]],
            "PM25": pm25[i], "PM10": pm10[i], "O3": o3[i], "CO": co[i], "NO2": no2[i], "SO2": so2[i], "AQI": aqi[i],
        }  # fmt: skip
        kind = bad.get(i)
        prop = None
        if kind == "wrong_type":
            item["PM25"], prop = rng.choice(["abc", "12 µg", "สูง"]), "pm25"
        elif kind == "missing_required":
            item["DATETIMEDATA"], prop = None, "measured_at"
        elif kind == "impossible_date":
            item["DATETIMEDATA"], prop = (
                rng.choice(["2024-02-30 13:00:00", "2023-02-29 01:00:00", "2024-04-31 07:00:00"]),
                "measured_at",
            )
        elif kind == "out_of_range":
            item["PM25"], prop = round(rng.uniform(1001, 5000), 1), "pm25"
        elif kind in moved:
            moved[kind].append((i, item, kind))
            continue
        blocks[station[i]].append((i, item, prop))
    truth = Truth("pcd.air_quality_hourly", "air4thai", "utf-8", seed)
    stations_out: list[dict[str, Any]] = []
    n = 0
    for s, items in blocks.items():
        sid = ids[s]
        name, area = STATIONS[sid]
        data = []
        for i, item, prop in items:
            n += 1
            data.append(item)
            if prop is not None:
                truth.bad.append(BadRow(n, None, bad[i], prop))
        if data:
            # Air4Thai pads names with trailing spaces: keep that quirk in the sample.
            stations_out.append({"stationID": sid, "nameTH": name + "  ", "areaTH": area, "data": data})
    for kind, items in moved.items():
        if not items:
            continue
        if kind == "unknown_province":
            meta = {"stationID": "99t", "nameTH": "สถานีทดสอบ ", "areaTH": "ต.ไม่ทราบ อ.ไม่ทราบ, จ.นอกประเทศ"}
            prop = "province_code"
        else:
            meta = {"stationID": "CR-01", "nameTH": "สถานีชั่วคราว ", "areaTH": "ต.เวียง อ.เมือง, จ.เชียงราย"}
            prop = "station_id"
        data = []
        for _, item, _ in items:
            n += 1
            data.append(item)
            truth.bad.append(BadRow(n, None, kind, prop))
        stations_out.append({**meta, "data": data})
    truth.records = n
    truth.valid = n - len(truth.bad)
    payload = {"result": "OK", "stations": stations_out}
    return orjson.dumps(payload), truth


def valid_records(rows: int, seed: int) -> Iterator[dict[str, Any]]:
    """Normalised wire records identical to what the producer makes of `generate_history(rows, 0, seed)`."""
    cols = _columns(rows, seed)
    vals = _lists(cols)
    station, hour = cols["station"].tolist(), cols["hour"].tolist()
    ids = cols["ids"]
    meta = []
    for sid in ids:
        name, area = STATIONS[sid]
        raw = province_from_area(area)
        meta.append((sid, name.strip(), normalize_province(raw), raw))
    stamps = [(START + timedelta(hours=h)).isoformat() + "+07:00" for h in range(max(hour, default=-1) + 1)]
    pm25, pm10, o3, co, no2, so2, aqi = (vals[k] for k in POLLUTANTS)
    for i in range(rows):
        sid, name, code, raw = meta[station[i]]
        yield {
            "station_id": sid, "station_name_th": name, "province_code": code, "province_raw": raw,
            "measured_at": stamps[hour[i]],
            "pm25": pm25[i], "pm10": pm10[i], "o3": o3[i], "co": co[i], "no2": no2[i], "so2": so2[i], "aqi": aqi[i],
        }  # fmt: skip
