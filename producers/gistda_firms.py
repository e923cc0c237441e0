"""Publish a NASA FIRMS / GISTDA hotspot CSV: `python producers/gistda_firms.py FILE`."""

import sys

from gdx.producer.script import main

if __name__ == "__main__":
    sys.exit(main("gistda.fire_hotspots", "firms"))
