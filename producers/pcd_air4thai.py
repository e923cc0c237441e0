"""Publish an Air4Thai payload (getNewAQI_JSON or hourly history JSON): `python producers/pcd_air4thai.py FILE`."""

import sys

from gdx.producer.script import main

if __name__ == "__main__":
    sys.exit(main("pcd.air_quality_hourly", "air4thai"))
