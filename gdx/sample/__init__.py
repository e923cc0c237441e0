"""Synthetic agency files with ground truth, for demos, tests and benchmarks.

`generate(contract_id, rows, bad_ratio, seed, out)` writes a file in the agency's own format —
air quality → Air4Thai history JSON, hotspots → NASA FIRMS CSV, the others → CSV with Thai
headers, BE dates, thousands separators (some in TIS-620) — plus `<out>.truth.json` listing each
planted bad record (record number, line, rule code, property). `valid_records(contract_id, n,
seed)` yields already-normalised valid records for benchmarks and ingestion tests.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gdx.sample.common import BadRow, Truth, read_truth, truth_path, write_truth

__all__ = [
    "SUFFIX",
    "BadRow",
    "Truth",
    "default_name",
    "generate",
    "read_truth",
    "truth_path",
    "valid_records",
]

SUFFIX = {"pcd.air_quality_hourly": ".json", "gistda.fire_hotspots": ".csv"}


def default_name(contract_id: str) -> str:
    return contract_id.replace(".", "__") + SUFFIX.get(contract_id, ".csv")


def _contract(contract_id: str, contracts_root: Path | str | None) -> Any:
    from gdx.contracts.model import get_contract

    return get_contract(contract_id, contracts_root)


def generate(
    contract_id: str,
    rows: int,
    bad_ratio: float = 0.0,
    seed: int = 0,
    out: Path | str | None = None,
    *,
    contracts_root: Path | str | None = None,
    encoding: str | None = None,
    instrument: str = "VIIRS",
) -> Path:
    """Write a synthetic source file (and its `.truth.json`); returns the file's path.

    Deterministic: the same arguments give byte-identical files. `encoding` overrides the
    dataset's default for CSV datasets ("utf-8-sig" or "cp874"); `instrument` picks the FIRMS
    product (VIIRS or MODIS) for hotspots.
    """
    if rows < 0:
        raise ValueError("rows must be >= 0")
    out = Path(out) if out is not None else Path(default_name(contract_id))
    if contract_id == "pcd.air_quality_hourly":
        from gdx.sample.air import generate_history

        data, truth = generate_history(rows, bad_ratio, seed)
    elif contract_id == "gistda.fire_hotspots":
        from gdx.sample.hotspots import generate_firms

        data, truth = generate_firms(rows, bad_ratio, seed, instrument)
    else:
        from gdx.sample.records import GENERATORS
        from gdx.sample.tabular import render_csv

        if contract_id not in GENERATORS:
            known = ", ".join(sorted(["pcd.air_quality_hourly", "gistda.fire_hotspots", *GENERATORS]))
            raise KeyError(f"no sample generator for {contract_id!r}; known: {known}")
        contract = _contract(contract_id, contracts_root)
        records = list(GENERATORS[contract_id](random.Random(seed), rows, contract.pilot_provinces))
        data, truth = render_csv(contract, records, bad_ratio, seed, encoding)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    write_truth(out, truth)
    return out


def valid_records(
    contract_id: str, rows: int, seed: int = 0, *, contracts_root: Path | str | None = None
) -> Iterator[dict[str, Any]]:
    """Already-normalised valid records (wire values) of a contract, deterministic per seed.

    For air quality they equal what the producer makes of `generate(..., bad_ratio=0, seed)`.
    """
    if contract_id == "pcd.air_quality_hourly":
        from gdx.sample.air import valid_records as air

        return air(rows, seed)
    if contract_id == "gistda.fire_hotspots":
        return _hotspot_records(rows, seed, contracts_root)
    from gdx.sample.records import GENERATORS

    if contract_id not in GENERATORS:
        raise KeyError(f"no sample generator for {contract_id!r}")
    contract = _contract(contract_id, contracts_root)
    return GENERATORS[contract_id](random.Random(seed), rows, contract.pilot_provinces)


def _hotspot_records(rows: int, seed: int, contracts_root: Path | str | None) -> Iterator[dict[str, Any]]:
    # Hotspots need the geocoder and the FIRMS time rules: run the real adapter on a sample file.
    import tempfile

    from gdx.adapters.firms import FirmsAdapter
    from gdx.adapters.normalize import Normaliser
    from gdx.sample.hotspots import generate_firms

    contract = _contract("gistda.fire_hotspots", contracts_root)
    data, _ = generate_firms(rows, 0.0, seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "firms.csv"
        path.write_bytes(data)
        rows_ = list(FirmsAdapter().read(path, contract, {}))
    normalise = Normaliser(contract).normalise
    for row in rows_:
        record, _violations = normalise(row.values)
        yield record
