"""Publish moi.informal_debt_cases from the agency's table (CSV/TSV/XLSX/JSON): `python producers/moi_informal_debt_cases.py FILE`."""

import sys

from gdx.producer.script import main

if __name__ == "__main__":
    sys.exit(main("moi.informal_debt_cases", "auto"))
