"""Adapter registry and `--format auto` detection (by extension, then by peeking at content)."""

from __future__ import annotations

from pathlib import Path

import orjson

from gdx.adapters.air4thai import Air4ThaiAdapter
from gdx.adapters.base import Adapter
from gdx.adapters.firms import FirmsAdapter
from gdx.adapters.tabular import DelimitedAdapter, JsonArrayAdapter, NdjsonAdapter, XlsxAdapter

FORMATS = ("auto", "air4thai", "firms", "csv", "tsv", "xlsx", "json", "ndjson")
_FIRMS_MARKERS = ("acq_date", "acq_time")


class UnknownFormat(ValueError):
    """The file's format could not be determined or is not supported."""


def get_adapter(fmt: str) -> Adapter:
    """The adapter for an explicit format name (not 'auto')."""
    adapters: dict[str, Adapter] = {
        "air4thai": Air4ThaiAdapter(),
        "firms": FirmsAdapter(),
        "csv": DelimitedAdapter(",", "csv"),
        "tsv": DelimitedAdapter("\t", "tsv"),
        "xlsx": XlsxAdapter(),
        "json": JsonArrayAdapter(),
        "ndjson": NdjsonAdapter(),
    }
    try:
        return adapters[fmt]
    except KeyError:
        raise UnknownFormat(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None


def _head(path: Path, n: int = 64 * 1024) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def detect_format(path: Path | str) -> str:
    """Guess the source format of `path`; raises `UnknownFormat` when it cannot."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        return "xlsx"
    if ext in (".ndjson", ".jsonl"):
        return "ndjson"
    head = _head(path)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        # one object per line → NDJSON; one document → Air4Thai's {"stations": ...} or a wrapper
        first = stripped.split(b"\n", 1)[0].strip()
        try:
            doc = orjson.loads(first)
            if isinstance(doc, dict) and "stations" not in doc and b"\n{" in stripped:
                return "ndjson"
        except orjson.JSONDecodeError:
            pass
        return "air4thai" if b'"stations"' in head else "json"
    if stripped.startswith(b"["):
        return "json"
    if ext in (".xls",):
        raise UnknownFormat(f"{path}: legacy .xls is not supported; save it as .xlsx or CSV")
    lines = stripped.split(b"\n")[:5]  # a title line may sit above the header
    if any(all(m.encode() in line.lower() for m in _FIRMS_MARKERS) for line in lines):
        return "firms"
    tabs, commas = sum(line.count(b"\t") for line in lines), sum(line.count(b",") for line in lines)
    if ext in (".tsv", ".tab") or tabs > commas:
        return "tsv"
    if ext in (".csv", ".txt") or commas:
        return "csv"
    raise UnknownFormat(f"{path}: cannot tell the format; pass --format")


def resolve(fmt: str, path: Path | str) -> Adapter:
    """The adapter for `fmt`, detecting it when `fmt` is 'auto'."""
    return get_adapter(detect_format(path) if fmt == "auto" else fmt)
