"""Publish an agency table (CSV/TSV/XLSX/JSON/NDJSON): `python producers/tabular.py CONTRACT_ID FILE`."""

import sys

from gdx.producer.script import main

if __name__ == "__main__":
    sys.exit(main(None, "auto"))
