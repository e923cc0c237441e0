"""Publish dga.eservice_transactions_daily from the agency's table (CSV/TSV/XLSX/JSON): `python producers/dga_eservice_transactions_daily.py FILE`."""

import sys

from gdx.producer.script import main

if __name__ == "__main__":
    sys.exit(main("dga.eservice_transactions_daily", "auto"))
