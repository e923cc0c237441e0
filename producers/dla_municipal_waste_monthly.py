"""Publish dla.municipal_waste_monthly from the agency's table (CSV/TSV/XLSX/JSON): `python producers/dla_municipal_waste_monthly.py FILE`."""

import sys

from gdx.producer.script import main

if __name__ == "__main__":
    sys.exit(main("dla.municipal_waste_monthly", "auto"))
