"""Publish customs.border_trade_daily from the agency's table (CSV/TSV/XLSX/JSON): `python producers/customs_border_trade_daily.py FILE`."""

import sys

from gdx.producer.script import main

if __name__ == "__main__":
    sys.exit(main("customs.border_trade_daily", "auto"))
