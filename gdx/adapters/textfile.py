"""Reading agency text files: encoding detection and line-accurate CSV/TSV rows.

Thai agency files come as UTF-8 (often with a BOM, from Excel) or TIS-620/cp874 (from older
Windows systems). Detection: a file that decodes as UTF-8 is UTF-8; otherwise, if most of its
non-ASCII lines are valid UTF-8 it is UTF-8 with a few broken bytes, else cp874. Lines that do
not decode in the chosen encoding are decoded with replacement characters and flagged, so the
records on them are rejected ("bad_encoding") instead of poisoning the whole file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

BOM = b"\xef\xbb\xbf"


def detect_encoding(data: bytes) -> str:
    """'utf-8-sig', 'utf-8' or 'cp874' for the bytes of a text file."""
    if data.startswith(BOM):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    non_ascii = bad = 0
    for line in data.split(b"\n"):
        if line.isascii():
            continue
        non_ascii += 1
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad += 1
    # In a cp874 file practically every Thai line is invalid UTF-8; in a damaged UTF-8 file few are.
    return "utf-8" if bad * 2 < non_ascii else "cp874"


@dataclass(slots=True)
class TextRow:
    line: int
    """Line where the row starts (1-based)."""
    cells: list[str]
    encoding_error: bool


@dataclass(slots=True)
class DecodedText:
    encoding: str
    lines: list[str]
    bad_lines: set[int]
    """1-based numbers of lines that did not decode cleanly."""


def decode_lines(data: bytes, encoding: str | None = None) -> DecodedText:
    encoding = encoding or detect_encoding(data)
    if data.startswith(BOM):
        data = data[len(BOM) :]
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        text = data.decode(codec)
        return DecodedText(encoding, text.splitlines(keepends=True), set())
    except UnicodeDecodeError:
        pass
    lines: list[str] = []
    bad: set[int] = set()
    for i, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode(codec)
        except UnicodeDecodeError:
            line = raw.decode(codec, errors="replace")
            bad.add(i)
        lines.append(line + "\n")
    if lines and lines[-1] == "\n":  # the file ended with a newline
        lines.pop()
    return DecodedText(encoding, lines, bad)


def read_delimited(path: Path | str, delimiter: str | None = None) -> tuple[str, Iterator[TextRow]]:
    """(encoding, rows) of a CSV/TSV file; the delimiter is sniffed when not given."""
    decoded = decode_lines(Path(path).read_bytes())
    if delimiter is None:
        head = "".join(decoded.lines[:5])
        delimiter = "\t" if head.count("\t") > head.count(",") else ","

    def rows() -> Iterator[TextRow]:
        reader = csv.reader(decoded.lines, delimiter=delimiter)
        start = 1
        bad = decoded.bad_lines
        for cells in reader:
            end = reader.line_num
            broken = bool(bad) and any(n in bad for n in range(start, end + 1))
            if cells and any(c.strip() for c in cells):
                yield TextRow(start, cells, broken)
            start = end + 1

    return decoded.encoding, rows()
